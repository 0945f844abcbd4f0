#pragma once
/// @file
/// Routing: where the letters for a name go from this node. route() is the one decision
/// (a mailbox of this node, else the link to the node that has the name, else why not);
/// an actor's cell only remembers its answers (ActorCell's route cache), and the sends
/// below act on them.

#include "link_sender.hpp"
#include "mailbox.hpp"
#include "peer_link.hpp"

#include <courier/expected.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace courier::detail {

class NodeCore;

/// Where a name lives, seen from this node.
struct Route {
    std::shared_ptr<Mailbox> box;    ///< a mailbox of this node (an actor's cell or a waiter)
    std::shared_ptr<PeerLink> peer;  ///< else the link to the node that has the name
    std::uint64_t generation = 0;    ///< Peers::generation() before it was found
};

class Router {
  public:
    explicit Router(NodeCore& node) noexcept : node_(node) {}

    /// The one routing decision: a valid name, then a mailbox of this node, then the node
    /// that has it (asking the registry and linking to that node if need be). An error
    /// (unknown_name) says why the name cannot be reached.
    [[nodiscard]] Expected<Route, Error> route(const std::string& name);

    /// Routes a letter: an answer back over the link its request came on, anything else
    /// by route(). `draft`, when given, is its body still on the sender's stack
    /// (`letter.body` is null): encoded straight into the frame if the letter leaves the
    /// process, detached into the letter only if it stays.
    void post(Letter&& letter, Draft* draft = nullptr);
    /// Acts on a route found for `letter`: delivers it, sends it, or makes it a dead letter.
    void send(const Expected<Route, Error>& route, Letter&& letter, Draft* draft);
    /// As above, for a message addressed by `header` whose body is `draft`: to a mailbox of
    /// this node the letter is built in place, to another node it is encoded from the
    /// header (no letter at all).
    void send(const Expected<Route, Error>& route, const EnvelopeHeader& header, Draft& draft);

    /// Routes a letter from a thread outside the actors (Node::send, Node::request): to a
    /// full mailbox of this node (Overflow::block) it waits for room up to `timeout`;
    /// the error says why the letter was not delivered here. From an actor's turn it is
    /// post(), never waiting.
    Expected<void, Error> post_outside(Letter&& letter, std::chrono::milliseconds timeout);

  private:
    NodeCore& node_;
};

}  // namespace courier::detail
