#pragma once
/// @file
/// How `courier` prints what it found: aligned columns, and lists in one cell.

#include <string>
#include <vector>

namespace courier::cli {

/// Prints `rows` (the first is the header) in columns two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows);

/// "a, b, c"; "-" when empty.
std::string joined(const std::vector<std::string>& items);

}  // namespace courier::cli
