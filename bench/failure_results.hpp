#pragma once
/// @file
/// What courier-failure-times measured: for each failure and party, per transport, the
/// time from the failure to what that party saw in each round, and what it saw. Printed
/// as one Markdown table (median / max ms, one column per transport) and as CSV.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace courier::failure_times {

/// The failure whose Traffic row the table shows under its own rows.
inline constexpr const char* registry_dies = "courierd killed (SIGKILL)";

/// Row::expected of a party that should see nothing within the time it is watched (a
/// process that hangs, where nothing tells).
inline constexpr const char* nothing_expected = "nothing";

/// One round's observation by one party.
struct Sample {
    std::optional<double> ms;  ///< empty: the party saw nothing before the deadline
    std::string outcome;       ///< the error code, Down reason or NameDown reason seen
};

/// One line of the table: a failure, a party, and what that party should see.
struct Row {
    std::string failure;      ///< "process killed (SIGKILL)"
    std::string party;        ///< "pending `Node::request` fails"
    std::string expected;     ///< the outcome every sample should have; empty: any;
                              ///< nothing_expected: none (the cell then says "never")
    bool in_process = false;  ///< measured once, not per transport
    /// Samples by transport ("in-process" for an in_process row).
    std::map<std::string, std::vector<Sample>> samples;
    /// Per transport, where it differs from `expected` (a hung peer: only a transport
    /// with a heartbeat tells).
    std::map<std::string, std::string> expected_on;

    const std::string& expected_for(const std::string& transport) const {
        auto found = expected_on.find(transport);
        return found == expected_on.end() ? expected : found->second;
    }
};

/// The rows that count rather than time: the traffic on an open link while courierd was
/// away.
struct Traffic {
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;           ///< requests that failed or came back wrong
    std::uint64_t during_outage = 0;  ///< answered between a kill and both names resolving
};

class Results {
  public:
    /// The row of `failure` and `party`, made on first use (the table keeps that order).
    Row& row(const std::string& failure, const std::string& party, const std::string& expected,
             bool in_process = false);
    Traffic& traffic(const std::string& transport) { return traffic_[transport]; }

    /// The table; `transports` are its columns, in order.
    void markdown(std::ostream& out, const std::vector<std::string>& transports) const;
    /// failure,party,transport,expected,rounds,seen,median_ms,max_ms,outcomes
    void csv(std::ostream& out) const;
    /// Samples whose outcome was not the expected one, or that saw nothing: each is a
    /// finding worth a look, listed under the table.
    std::vector<std::string> surprises() const;

  private:
    std::deque<Row> rows_;  ///< a deque: row() hands out references that must stay valid
    std::map<std::string, Traffic> traffic_;
};

/// Text for one cell: "1.23 / 4.56" (median / max ms), with what was unexpected after it.
std::string cell(const std::vector<Sample>& samples, const std::string& expected);

}  // namespace courier::failure_times
