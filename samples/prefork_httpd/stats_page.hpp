#pragma once
/// @file
/// The /stats page: the master's counts per worker, as a plain-text table.

#include "messages.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace httpd {

/// `stats` as text, saying which worker (name, pid) served the page.
std::string stats_page(const Stats& stats, std::string_view worker, std::int64_t pid);

}  // namespace httpd
