#pragma once
/// @file
/// How many CPUs this process may use: the CPUs its affinity allows (`taskset`, a
/// container's cpuset) and the quota of its cgroup (`docker --cpus`, systemd's
/// CPUQuota=), whichever is less. A node sizes its threads and its spinning to it: a
/// thread that spins while it waits takes a CPU, and when the process has only one, it
/// takes it from the very thread it waits for (docs/performance.md, "A node's CPUs").

#include <filesystem>
#include <optional>
#include <string_view>

namespace courier {

struct CpuBudget {
    /// CPUs in the process's affinity mask (sched_getaffinity).
    unsigned affinity = 1;
    /// The cgroup's quota in CPUs (quota / period), the least along the process's cgroup
    /// path; nullopt when there is none. cgroup v2 `cpu.max`, or cgroup v1
    /// `cpu.cfs_quota_us` / `cpu.cfs_period_us` on hosts whose cpu controller is v1.
    std::optional<double> quota;

    /// The CPUs the process may use at once: the affinity, lowered by the quota.
    double cpus() const noexcept;
    /// cpus() rounded down, at least 1: how many threads can run at the same time.
    unsigned whole_cpus() const noexcept;
};

/// This process's budget now (it reads /proc and the cgroup files: call it once, at
/// start). Files that cannot be read count as no quota.
CpuBudget cpu_budget();

/// The cgroup quota in CPUs for a process whose /proc/self/mountinfo and /proc/self/cgroup
/// read as given; the cgroup files are read under the mount points the mountinfo names.
/// The least quota from the process's cgroup up to the hierarchy's root wins, since a
/// parent's quota bounds its children. For tests, and for cpu_budget().
std::optional<double> cgroup_cpu_quota(std::string_view mountinfo, std::string_view proc_cgroup);

/// One cgroup directory's quota: v2 `cpu.max` ("max 100000", "50000 100000"), else v1
/// `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`.
std::optional<double> cgroup_dir_quota(const std::filesystem::path& dir);

}  // namespace courier
