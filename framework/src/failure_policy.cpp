#include <courier/framework/failure_policy.hpp>

#include <array>
#include <utility>

namespace courier {

namespace {
constexpr std::array<std::pair<FailurePolicy, std::string_view>, 4> words{{
    {FailurePolicy::resume, "resume"},
    {FailurePolicy::restart, "restart"},
    {FailurePolicy::stop, "stop"},
    {FailurePolicy::escalate, "escalate"},
}};
}  // namespace

std::string_view to_string(FailurePolicy policy) noexcept {
    for (const auto& [each, word] : words)
        if (each == policy) return word;
    return "unknown";
}

std::optional<FailurePolicy> failure_policy_named(std::string_view word) noexcept {
    for (const auto& [each, name] : words)
        if (name == word) return each;
    return std::nullopt;
}

}  // namespace courier
