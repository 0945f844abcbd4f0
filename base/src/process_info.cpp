#include <courier/process_info.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace courier {

std::optional<std::uint64_t> process_start_time(std::int64_t pid) {
    if (pid <= 0) return std::nullopt;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return std::nullopt;
    // "pid (comm) S ppid ...": comm may hold spaces and ')', so fields count from the last
    // ')'. The state is field 3, the start time field 22.
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(paren + 1));
    std::string field;
    for (int number = 3; fields >> field; ++number) {
        if (number == 3 && (field == "Z" || field == "X")) return std::nullopt;
        if (number == 22) return std::stoull(field);
    }
    return std::nullopt;
}

bool process_alive(std::int64_t pid, std::uint64_t start_time) {
    const auto started = process_start_time(pid);
    return started && (start_time == 0 || *started == start_time);
}

}  // namespace courier
