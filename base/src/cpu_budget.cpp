#include <courier/cpu_budget.hpp>

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace courier {

namespace {

std::vector<std::string_view> split(std::string_view text, char by) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = text.find(by);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

bool has(std::string_view list, std::string_view item) {
    return std::ranges::count(split(list, ','), item) != 0;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<long long> number(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<double> ratio(std::optional<long long> quota, std::optional<long long> period) {
    if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
    return static_cast<double>(*quota) / static_cast<double>(*period);
}

/// A cgroup hierarchy mounted on this host: where, and which cgroup its root is.
struct Mount {
    std::filesystem::path point;
    std::string root;
};

/// The hierarchy that carries the cpu controller, v2 (`v2`) or v1, from mountinfo.
std::optional<Mount> cpu_mount(std::string_view mountinfo, bool v2) {
    for (auto line : split(mountinfo, '\n')) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
        const auto dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        const auto left = split(line.substr(0, dash), ' ');
        const auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.size() < 3) continue;
        const bool match =
            v2 ? right[0] == "cgroup2" : right[0] == "cgroup" && has(right[2], "cpu");
        if (match) return Mount{std::string(left[4]), std::string(left[3])};
    }
    return std::nullopt;
}

/// The least quota from the mount point down to `path`'s directory under it.
std::optional<double> least_quota(const Mount& mount, std::string_view path) {
    // Without a cgroup namespace, the mount's root is the process's cgroup or one above it
    // (a container's); the rest of the path lies under the mount point.
    if (mount.root != "/" && path.starts_with(mount.root)) path.remove_prefix(mount.root.size());
    auto dir = mount.point;
    auto least = cgroup_dir_quota(dir);
    for (const auto& part : std::filesystem::path(path).relative_path()) {
        if (part.empty()) continue;
        dir /= part;
        if (auto quota = cgroup_dir_quota(dir); quota && (!least || *quota < *least)) least = quota;
    }
    return least;
}

}  // namespace

double CpuBudget::cpus() const noexcept {
    const double mask = affinity == 0 ? 1.0 : static_cast<double>(affinity);
    return quota ? std::min(mask, *quota) : mask;
}

unsigned CpuBudget::whole_cpus() const noexcept {
    return std::max(1u, static_cast<unsigned>(std::floor(cpus())));
}

std::optional<double> cgroup_dir_quota(const std::filesystem::path& dir) {
    std::error_code error;
    if (std::filesystem::exists(dir / "cpu.max", error)) {
        const std::string text = read_file(dir / "cpu.max");  // the views below lie in it
        const auto fields = split(text, ' ');
        if (fields.size() < 2 || fields[0] == "max") return std::nullopt;
        return ratio(number(fields[0]), number(fields[1]));
    }
    return ratio(number(read_file(dir / "cpu.cfs_quota_us")),
                 number(read_file(dir / "cpu.cfs_period_us")));
}

std::optional<double> cgroup_cpu_quota(std::string_view mountinfo, std::string_view proc_cgroup) {
    std::optional<double> least;
    for (auto line : split(proc_cgroup, '\n')) {
        // hierarchy-id:controllers:path; v2 is "0::path".
        const auto fields = split(line, ':');
        if (fields.size() < 3) continue;
        const bool v2 = fields[0] == "0" && fields[1].empty();
        if (!v2 && !has(fields[1], "cpu")) continue;
        const auto mount = cpu_mount(mountinfo, v2);
        if (!mount) continue;
        if (auto quota = least_quota(*mount, line.substr(fields[0].size() + fields[1].size() + 2));
            quota && (!least || *quota < *least))
            least = quota;
    }
    return least;
}

CpuBudget cpu_budget() {
    CpuBudget budget;
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (::sched_getaffinity(0, sizeof mask, &mask) == 0)
        budget.affinity = static_cast<unsigned>(CPU_COUNT(&mask));
    budget.quota =
        cgroup_cpu_quota(read_file("/proc/self/mountinfo"), read_file("/proc/self/cgroup"));
    return budget;
}

}  // namespace courier
