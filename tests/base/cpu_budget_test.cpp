// The CPU budget: the affinity a thread is given, the quota of a real cgroup the test
// makes (as root, on this host's cpu hierarchy, v1 or v2), and the files of both cgroup
// versions read along a cgroup's path.

#include <courier/cpu_budget.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

/// A scratch directory, removed with what it holds.
struct ScratchDir {
    fs::path path = fs::temp_directory_path() / ("courier-cpu-" + std::to_string(::getpid()));
    ScratchDir() { fs::create_directories(path); }
    ~ScratchDir() { fs::remove_all(path); }
};

/// This host's cgroup hierarchy with the cpu controller, if root may make a cgroup there:
/// its mount point and whether it is v2.
std::optional<std::pair<fs::path, bool>> writable_cpu_hierarchy() {
    if (::geteuid() != 0) return std::nullopt;
    std::istringstream mounts(read_text("/proc/self/mountinfo"));
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string id, parent, device, root, point, word;
        fields >> id >> parent >> device >> root >> point;
        while (fields >> word && word != "-") {
        }
        std::string type, source, options;
        fields >> type >> source >> options;
        if (type == "cgroup" && ("," + options + ",").find(",cpu,") != std::string::npos)
            return std::pair{fs::path(point), false};
        if (type == "cgroup2" &&
            read_text(fs::path(point) / "cgroup.controllers").find("cpu") != std::string::npos)
            return std::pair{fs::path(point), true};
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("cpu_budget counts the CPUs the thread's affinity allows", "[cpu_budget]") {
    cpu_set_t all;
    REQUIRE(::sched_getaffinity(0, sizeof all, &all) == 0);
    CHECK(courier::cpu_budget().affinity == static_cast<unsigned>(CPU_COUNT(&all)));

    // sched_setaffinity(0) sets the calling thread's mask: a thread of its own keeps the
    // rest of the test program on all its CPUs.
    courier::CpuBudget pinned;
    std::thread([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        for (std::size_t cpu = 0; cpu < std::size_t{CPU_SETSIZE}; ++cpu) {
            if (CPU_ISSET(cpu, &all)) {
                CPU_SET(cpu, &one);
                break;
            }
        }
        if (::sched_setaffinity(0, sizeof one, &one) == 0) pinned = courier::cpu_budget();
    }).join();
    CHECK(pinned.affinity == 1);
    CHECK(pinned.cpus() <= 1.0);
    CHECK(pinned.whole_cpus() == 1);
}

TEST_CASE("a budget is the affinity lowered by the quota, and whole CPUs are at least 1",
          "[cpu_budget]") {
    CHECK(courier::CpuBudget{4, std::nullopt}.cpus() == 4.0);
    CHECK(courier::CpuBudget{4, 1.5}.cpus() == 1.5);
    CHECK(courier::CpuBudget{4, 1.5}.whole_cpus() == 1);
    CHECK(courier::CpuBudget{2, 8.0}.cpus() == 2.0);
    CHECK(courier::CpuBudget{2, 0.25}.whole_cpus() == 1);
}

TEST_CASE("the least cgroup quota along the process's path wins, v2 and v1 files", "[cpu_budget]") {
    ScratchDir scratch;
    SECTION("cgroup v2: cpu.max, max meaning none") {
        const fs::path top = scratch.path / "v2";
        fs::create_directories(top / "app.slice" / "job");
        write_text(top / "cpu.max", "max 100000\n");
        write_text(top / "app.slice" / "cpu.max", "150000 100000\n");
        write_text(top / "app.slice" / "job" / "cpu.max", "max 100000\n");
        const std::string mountinfo =
            "40 30 0:37 / " + top.string() + " rw,relatime - cgroup2 cgroup2 rw\n";
        CHECK(courier::cgroup_cpu_quota(mountinfo, "0::/app.slice/job\n") == 1.5);
        CHECK(courier::cgroup_cpu_quota(mountinfo, "0::/\n") == std::nullopt);
        // A container without a cgroup namespace: the mount's root is its own cgroup.
        const std::string container =
            "40 30 0:37 /app.slice " + top.string() + "/app.slice rw - cgroup2 cgroup2 rw\n";
        CHECK(courier::cgroup_cpu_quota(container, "0::/app.slice/job\n") == 1.5);
    }
    SECTION("cgroup v1: cfs quota over period, -1 meaning none") {
        const fs::path top = scratch.path / "cpu";
        fs::create_directories(top / "batch");
        write_text(top / "cpu.cfs_quota_us", "-1\n");
        write_text(top / "cpu.cfs_period_us", "100000\n");
        write_text(top / "batch" / "cpu.cfs_quota_us", "50000\n");
        write_text(top / "batch" / "cpu.cfs_period_us", "100000\n");
        const std::string mountinfo =
            "31 30 0:28 / " + top.string() + " rw,relatime - cgroup cgroup rw,cpu,cpuacct\n";
        CHECK(courier::cgroup_cpu_quota(mountinfo, "3:cpuset:/\n1:cpu,cpuacct:/batch\n") == 0.5);
        CHECK(courier::cgroup_cpu_quota(mountinfo, "1:cpu,cpuacct:/\n") == std::nullopt);
        // The cpuset hierarchy is not the cpu one.
        CHECK(courier::cgroup_cpu_quota(mountinfo, "3:cpuset:/batch\n") == std::nullopt);
    }
    SECTION("files that cannot be read are no quota") {
        CHECK(courier::cgroup_cpu_quota("", "0::/\n") == std::nullopt);
        CHECK(courier::cgroup_dir_quota(scratch.path / "nothing") == std::nullopt);
    }
}

TEST_CASE("a process in a cgroup with a CPU quota sees it", "[cpu_budget]") {
    const auto hierarchy = writable_cpu_hierarchy();
    if (!hierarchy) {
        WARN("not root, or no cpu cgroup hierarchy to make a cgroup in: not tested here");
        return;
    }
    const auto& [mount, v2] = *hierarchy;
    const fs::path group = mount / ("courier-test-" + std::to_string(::getpid()));
    if (v2) write_text(mount / "cgroup.subtree_control", "+cpu");
    REQUIRE(fs::create_directory(group));
    if (v2) {
        write_text(group / "cpu.max", "50000 100000");
    } else {
        write_text(group / "cpu.cfs_period_us", "100000");
        write_text(group / "cpu.cfs_quota_us", "50000");
    }

    // The child waits until it is in the cgroup, then reports its budget in thousandths.
    int go[2], report[2];
    REQUIRE(::pipe(go) == 0);
    REQUIRE(::pipe(report) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        char byte;
        if (::read(go[0], &byte, 1) != 1) ::_exit(1);
        const auto quota = courier::cpu_budget().quota;
        const int thousandths = quota ? static_cast<int>(*quota * 1000 + 0.5) : -1;
        ::_exit(::write(report[1], &thousandths, sizeof thousandths) == sizeof thousandths ? 0 : 1);
    }
    ::close(go[0]);
    ::close(report[1]);
    write_text(group / "cgroup.procs", std::to_string(child));
    (void)::write(go[1], "x", 1);
    int thousandths = 0;
    const auto got = ::read(report[0], &thousandths, sizeof thousandths);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(go[1]);
    ::close(report[0]);
    fs::remove(group);  // empty once its only process ended
    REQUIRE(got == sizeof thousandths);
    CHECK(thousandths == 500);
    CHECK_FALSE(fs::exists(group));
}
