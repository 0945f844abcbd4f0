#include <courier/process_info.hpp>
#include <courier/transports/owner.hpp>

#include <unistd.h>

#include <charconv>

namespace courier {

namespace {

/// Parses all of `text` as an unsigned number.
template <class T>
std::optional<T> number(std::string_view text) {
    T value{};
    if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<Owner> Owner::of(pid_t pid) {
    const auto start = process_start_time(pid);
    if (!start) return std::nullopt;
    return Owner{pid, *start};
}

Owner Owner::self() {
    // Cached per pid: a forked child is another owner.
    thread_local Owner cached;
    if (cached.pid != ::getpid()) cached = of(::getpid()).value_or(Owner{::getpid(), 0});
    return cached;
}

std::string Owner::tag() const {
    return std::to_string(pid) + "@" + std::to_string(start);
}

std::optional<Owner> Owner::parse(std::string_view tag) {
    const auto at = tag.find('@');
    if (at == std::string_view::npos) return std::nullopt;
    const auto pid = number<pid_t>(tag.substr(0, at));
    const auto start = number<std::uint64_t>(tag.substr(at + 1));
    if (!pid || *pid <= 0 || !start) return std::nullopt;
    return Owner{*pid, *start};
}

bool process_running(pid_t pid) {
    return Owner::of(pid).has_value();
}

std::string owned_name(const std::string& base, const Owner& owner, unsigned n) {
    return base + "." + owner.tag() + "." + std::to_string(n);
}

std::optional<OwnedName> parse_owned_name(std::string_view name) {
    for (const std::string_view direction : {".up", ".down"}) {
        if (name.ends_with(direction)) {
            name.remove_suffix(direction.size());
            break;
        }
    }
    const auto counter_dot = name.rfind('.');
    if (counter_dot == std::string_view::npos || !number<unsigned>(name.substr(counter_dot + 1))) {
        return std::nullopt;
    }
    name = name.substr(0, counter_dot);
    const auto tag_dot = name.rfind('.');
    if (tag_dot == std::string_view::npos || tag_dot == 0) return std::nullopt;
    auto owner = Owner::parse(name.substr(tag_dot + 1));
    if (!owner) return std::nullopt;
    return OwnedName{std::string(name.substr(0, tag_dot)), *owner};
}

}  // namespace courier
