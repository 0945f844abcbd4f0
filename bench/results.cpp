#include "results.hpp"

#include "statistics.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace courier::bench {

const char* to_string(Impl impl) noexcept {
    return impl == Impl::courier ? "courier" : "raw";
}

namespace {

Medians medians_of(const std::vector<const RunRecord*>& runs) {
    Medians m;
    m.runs = static_cast<int>(runs.size());
    std::vector<double> msgs, mb, p50, p99, p999, alloc_s, alloc_r;
    std::string first_error;
    for (const auto* run : runs) {
        if (!run->ok) {
            if (first_error.empty()) first_error = run->error;
            continue;
        }
        ++m.ok_runs;
        msgs.push_back(run->msgs_per_s);
        mb.push_back(run->mb_per_s);
        p50.push_back(run->p50_ns);
        p99.push_back(run->p99_ns);
        p999.push_back(run->p999_ns);
        if (run->allocs_sender) alloc_s.push_back(*run->allocs_sender);
        if (run->allocs_receiver) alloc_r.push_back(*run->allocs_receiver);
    }
    m.status = first_error.empty() ? "ok" : "FAILED: " + first_error;
    m.msgs_per_s = median(msgs);
    m.mb_per_s = median(mb);
    m.p50_ns = median(p50);
    m.p99_ns = median(p99);
    m.p999_ns = median(p999);
    if (!alloc_s.empty()) m.allocs_sender = median(alloc_s);
    if (!alloc_r.empty()) m.allocs_receiver = median(alloc_r);
    return m;
}

}  // namespace

std::vector<Summary> summarize(const std::vector<Measurement>& plan,
                               const std::vector<RunRecord>& records) {
    std::vector<Summary> out;
    for (const auto& m : plan) {
        if (m.kind == Kind::slow_receiver) continue;
        Summary s{m.kind, m.transport, m.size, m.count, {}, {}, std::nullopt};
        std::vector<const RunRecord*> courier, raw;
        for (const auto& r : records) {
            if (r.kind != m.kind || r.transport != m.transport || r.size != m.size) continue;
            (r.impl == Impl::courier ? courier : raw).push_back(&r);
        }
        s.courier = medians_of(courier);
        s.raw = medians_of(raw);
        if (!m.courier_unavailable.empty()) s.courier.status = "n/a: " + m.courier_unavailable;
        if (!m.raw_unavailable.empty()) s.raw.status = "n/a: " + m.raw_unavailable;
        if (s.courier.measured() && s.raw.measured()) {
            if (m.kind == Kind::throughput && s.raw.msgs_per_s > 0)
                s.ratio = s.courier.msgs_per_s / s.raw.msgs_per_s;
            if (m.kind == Kind::latency && s.raw.p50_ns > 0)
                s.ratio = s.courier.p50_ns / s.raw.p50_ns;
        }
        out.push_back(std::move(s));
    }
    return out;
}

Machine describe_machine() {
    Machine m;
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.starts_with("model name")) {
            auto colon = line.find(':');
            if (colon != std::string::npos) m.cpu_model = line.substr(colon + 2);
            break;
        }
    }
    m.cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    utsname names{};
    if (::uname(&names) == 0) {
        m.kernel = std::string(names.sysname) + " " + names.release;
        m.hostname = names.nodename;
    }
    return m;
}

}  // namespace courier::bench
