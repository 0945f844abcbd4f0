#pragma once
/// @file
/// "Did you mean": the candidate a misspelt word is closest to, for config errors.
/// Private to courier_framework.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace courier::detail {

/// Levenshtein distance: the edits (insert, delete, replace) that turn `a` into `b`.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// `; did you mean "x"?` when one candidate is close (a typo, not a different word).
template <class Range>
std::string suggestion(std::string_view word, const Range& candidates) {
    std::string_view best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : candidates) {
        std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    std::size_t limit = std::max<std::size_t>(1, std::min(word.size(), best.size()) / 3);
    if (best.empty() || best_distance > limit) return {};
    return "; did you mean \"" + std::string(best) + "\"?";
}

}  // namespace courier::detail
