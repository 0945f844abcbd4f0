#include <courier/framework/mailbox_limit.hpp>

#include <array>
#include <utility>

namespace courier {

namespace {
constexpr std::array<std::pair<Overflow, std::string_view>, 3> words{{
    {Overflow::block, "block"},
    {Overflow::fail, "fail"},
    {Overflow::drop_newest, "drop_newest"},
}};
}  // namespace

std::string_view to_string(Overflow overflow) noexcept {
    for (const auto& [each, word] : words)
        if (each == overflow) return word;
    return "unknown";
}

std::optional<Overflow> overflow_named(std::string_view word) noexcept {
    for (const auto& [each, name] : words)
        if (name == word) return each;
    return std::nullopt;
}

}  // namespace courier
