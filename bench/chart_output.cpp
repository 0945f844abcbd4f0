// The PNG chart: throughput by payload size, one panel per transport, courier beside raw,
// drawn by gnuplot (Debian: gnuplot-nox) when it is installed.
#include "results.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace courier::bench {

namespace {

std::string find_gnuplot() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        auto candidate = std::filesystem::path(dir) / "gnuplot";
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

int run(const std::string& program, const std::string& script) {
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        ::dup2(2, 1);
        ::execl(program.c_str(), program.c_str(), script.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quoted(std::string text) {
    for (auto& c : text)
        if (c == '"' || c == '\\') c = '\'';
    return "\"" + text + "\"";
}

}  // namespace

std::string write_chart(const Results& results, const std::string& path) {
    const std::string gnuplot = find_gnuplot();
    if (gnuplot.empty()) return "gnuplot is not installed (Debian: gnuplot-nox): no PNG written";

    // Transports with at least one throughput figure, in table order.
    std::vector<std::string> transports;
    for (const auto& s : results.summaries)
        if (s.kind == Kind::throughput && (s.courier.measured() || s.raw.measured()) &&
            std::find(transports.begin(), transports.end(), s.transport) == transports.end())
            transports.push_back(s.transport);
    if (transports.empty()) return "no throughput figures to draw: no PNG written";

    std::ostringstream script;
    std::vector<std::string> plots(transports.size());
    for (std::size_t t = 0; t < transports.size(); ++t) {
        for (auto impl : {Impl::courier, Impl::raw}) {
            const std::string block = "$d" + std::to_string(t) + to_string(impl);
            std::ostringstream points;
            for (const auto& s : results.summaries) {
                const Medians& m = impl == Impl::courier ? s.courier : s.raw;
                if (s.kind == Kind::throughput && s.transport == transports[t] && m.measured())
                    points << s.size << " " << m.mb_per_s << "\n";
            }
            if (points.str().empty()) continue;  // gnuplot refuses an empty plot
            script << block << " << EOD\n" << points.str() << "EOD\n";
            plots[t] += (plots[t].empty() ? "" : ", ") + block + " using 1:2 with linespoints " +
                        (impl == Impl::courier ? "lw 2 pt 7 lc rgb '#1f77b4' title 'courier'"
                                               : "lw 2 dt 2 pt 6 lc rgb '#7f7f7f' title 'raw'");
        }
    }
    const std::size_t columns = std::min<std::size_t>(4, transports.size());
    const std::size_t rows = (transports.size() + columns - 1) / columns;
    const auto& machine = results.machine;
    script << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
           << "  set terminal pngcairo size " << 360 * columns << "," << 300 * rows + 60
           << " font ',9'\n} else {\n  set terminal png size " << 360 * columns << ","
           << 300 * rows + 60 << "\n}\n"
           << "set output " << quoted(path) << "\n"
           << "set multiplot layout " << rows << "," << columns << " title "
           << quoted("courier-bench: throughput by payload size (MB/s, log scales; " +
                     machine.cpu_model + ", " + std::to_string(machine.cpus) + " CPUs, " +
                     machine.kernel + ")")
           << "\n"
           << "set logscale xy 2\nset logscale y 10\nset grid\nset key top left\n"
           << "set format y '%g'\n"
           << "set xtics ('64 B' 64, '4 KiB' 4096, '64 KiB' 65536, '1 MiB' 1048576)\n"
           << "set xrange [32:2097152]\nset ylabel 'MB/s'\n";
    for (std::size_t t = 0; t < transports.size(); ++t) {
        script << "set title " << quoted(transports[t]) << "\nplot " << plots[t] << "\n";
    }
    script << "unset multiplot\n";

    std::string script_path = (std::filesystem::temp_directory_path() / "courier-bench.XXXXXX");
    const int fd = ::mkstemp(script_path.data());
    if (fd < 0) return "cannot write a gnuplot script";
    ::close(fd);
    {
        std::ofstream out(script_path);
        out << script.str();
    }
    const int status = run(gnuplot, script_path);
    std::filesystem::remove(script_path);
    if (status != 0)
        return "gnuplot failed (status " + std::to_string(status) + "): no PNG written";
    return {};
}

}  // namespace courier::bench
