#pragma once
/// @file
/// Two hosts on one machine for `--scenario veth` (issue #21): two network namespaces
/// joined by a veth pair, side a at 10.233.0.1 and side b at 10.233.0.2, made with ip(8)
/// for the benchmark's run (root only) and deleted with the object. The measured processes
/// of each side run in its namespace, so every byte between them crosses the pair, as
/// between two machines on one link, without a network's own limits.

#include "options.hpp"

#include <courier/fd.hpp>

#include <filesystem>
#include <string>

namespace courier::bench {

class VethPair {
  public:
    /// Makes the namespaces and the pair, and a config for each side's nodes (their tcp
    /// listener on its address). Throws std::runtime_error, having removed what it made.
    VethPair();
    ~VethPair();
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;

    /// The namespace of side a or b, open (for setns).
    int netns(Side side) const noexcept { return (side == Side::b ? b_fd_ : a_fd_).get(); }
    /// The address of side a or b in its namespace ("10.233.0.1").
    static std::string address(Side side);
    /// For COURIER_CONFIG: the config of that side's nodes.
    std::filesystem::path config(Side side) const;
    /// What the pair is, for the report.
    static std::string describe();

  private:
    void remove() noexcept;
    std::string a_, b_;  ///< the namespaces' names
    Fd a_fd_, b_fd_;
    std::filesystem::path dir_;  ///< the configs
};

}  // namespace courier::bench
