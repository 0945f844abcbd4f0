#pragma once
/// @file
/// The names the registry said it does not know, so that a send to a dead or unknown name
/// is a dead letter in microseconds instead of a registry round trip each time.
///
/// An entry is only kept while courierd promised a NameUp for it (Location::notify_up):
/// when the name is registered, by any process, the notice arrives on the registry
/// connection and the entry goes (name_up). A notice can overtake the caller that asked:
/// courierd answers the Lookup, the name is registered, and the NameUp that follows is
/// handled on the registry's reader thread before the caller gets to add(). So the caller
/// reads epoch() before asking, and add() keeps nothing if any notice came since.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>

namespace courier::detail {

class UnknownNames {
  public:
    /// At most this many names; courierd keeps at least as many promises per connection
    /// (registry::NameTable::max_awaiting_up).
    static constexpr std::size_t default_capacity = 1024;

    explicit UnknownNames(std::size_t capacity = default_capacity) : capacity_(capacity) {}

    /// True if the registry did not know `name` and has not said since that it came up.
    bool contains(const std::string& name) const;
    /// To read before asking the registry about a name, for add().
    std::uint64_t epoch() const;
    /// The registry does not know `name` and will say when it comes up. Kept only if no
    /// notice arrived since `epoch_before` (which may have been about this name). A full
    /// set drops another name first (its NameUp, if it comes, finds nothing to drop).
    void add(const std::string& name, std::uint64_t epoch_before);
    /// NameUp: `name` is registered now.
    void name_up(const std::string& name);
    /// Forgets every name: the registry connection is gone, and its promises with it.
    void clear();

  private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_set<std::string> names_;
    std::uint64_t epoch_ = 0;  ///< counts notices and clears
};

}  // namespace courier::detail
