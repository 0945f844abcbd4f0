#pragma once
/// @file
/// An actor: a named object with a mailbox and typed handlers, run on one thread at a time.
///
/// Subclass it and register handlers in the constructor or in `on_start`, or give
/// `Node::spawn` a setup function. A handler that throws is logged and counted, a request
/// it was handling is answered with a Failure, and then the actor's FailurePolicy decides:
/// by default it restarts (on_stop, then a new object under the same name, its mailbox
/// kept), at most 5 times in 10 s; resume, stop and escalate (to the actor that spawned it,
/// Actor::spawn_child) are the others. docs/failures.md, "An actor's handler throws".

#include <courier/expected.hpp>
#include <courier/framework/detail/actor_factory.hpp>
#include <courier/framework/detail/handler_traits.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/detail/reply.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/failure_policy.hpp>
#include <courier/framework/group.hpp>
#include <courier/framework/mailbox_limit.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace courier {

class Actor;
class Node;
namespace detail {
class NodeCore;
struct ActorCell;
/// A request an actor waits on: what to do with its answer, and the timer that ends it
/// (cancelled when the answer comes).
struct PendingRequest {
    std::function<void(Letter&)> complete;
    std::chrono::steady_clock::time_point timer_when;
    std::uint64_t timer_sequence = 0;
    std::chrono::steady_clock::time_point sent;  ///< for the request-duration metric
};

/// A request whose answer a ReplyHandle owes, shared by the handle's copies. The last copy
/// to go answers Error{stopped} if nobody answered (actor.cpp).
struct DeferredReply {
    DeferredReply() = default;
    DeferredReply(const DeferredReply&) = delete;
    DeferredReply& operator=(const DeferredReply&) = delete;
    ~DeferredReply();
    Actor* actor = nullptr;  ///< who owes the answer; null once answered, or the actor stopped
    Letter request;          ///< the request's envelope (no body), to address the answer
};
}  // namespace detail

/// The answer an actor owes to a request, kept to be sent later (Actor::reply_later):
/// after other letters, or from the callback of a request of its own. Its copies share
/// the one answer: the first send answers, the others then owe nothing.
///
/// Use it only in the turns of the actor that took it (its handlers and callbacks,
/// on_stop), like every other member of Actor; to answer from another thread, send that
/// actor a message. When the last copy goes without answering, the requester gets
/// Error{stopped} (a Failure) at once; so it does when the actor stops still owing it.
class ReplyHandle {
  public:
    ReplyHandle() noexcept = default;

    /// True while it still owes an answer: not sent yet, and its actor not stopped.
    explicit operator bool() const noexcept { return reply_ && reply_->actor; }

    /// Answers the request with `message`, to its sender, over the link it came on; as
    /// reply() would have in the handler that took the handle. False (nothing sent) when
    /// it owes nothing.
    template <Message M>
    bool send(M message);

  private:
    friend class Actor;
    explicit ReplyHandle(std::shared_ptr<detail::DeferredReply> reply) noexcept
        : reply_(std::move(reply)) {}
    bool answer(TypeId type, detail::Draft& draft);

    std::shared_ptr<detail::DeferredReply> reply_;
};

/// A monitor an actor holds (Actor::monitor): its Down carries the same id.
struct Monitor {
    std::uint64_t id = 0;
    std::string name;  ///< the monitored name
};

class Actor {
  public:
    Actor() = default;
    virtual ~Actor();
    Actor(const Actor&) = delete;
    Actor& operator=(const Actor&) = delete;

    /// The name it was spawned with, unique on the host.
    const std::string& name() const noexcept { return name_; }
    Node& node() const noexcept { return *node_; }

    /// Calls `handler(M&)` for every message of type M. One handler per type.
    template <Message M, class F>
    void handle(F&& handler);

    /// As handle<M>, M being the type of the handler's one parameter (`M&`, `const M&`,
    /// `M&&` or `M`): a lambda or a function pointer.
    template <class F>
    requires detail::MessageHandler<F>
    void handle(F&& handler) { handle<detail::handled_message_t<F>>(std::forward<F>(handler)); }

    /// Sends `message` to the actor named `to`, wherever it lives. Fire and forget: an
    /// undeliverable message comes back as a DeadLetter.
    template <Message M>
    void send(std::string_view to, M message, std::uint8_t priority = 0);

    /// Sends `message` to a member of the group `to.name`, chosen by `to.pick`, or to each
    /// of them (Pick::all): `send(group("workers"), job)`. A group with no members makes
    /// it a DeadLetter (unknown_name), as an unknown name does. Pick::all copies the
    /// message for all members but the last.
    template <Message M>
    void send(const GroupTarget& to, M message, std::uint8_t priority = 0);

    /// Answers the request (or message) being handled now, to its sender.
    template <Message M>
    void reply(M message);

    /// Keeps the answer to the request (or message) being handled now, to send later with
    /// ReplyHandle::send: the handler returns without answering, and the requester waits
    /// (up to its timeout). A request answered this way gets no other answer from the
    /// framework: not even a Failure if the handler then throws, as long as a copy of the
    /// handle lives. Throws std::logic_error outside a handler, or if called twice for one
    /// letter.
    ReplyHandle reply_later();

    /// Sends a request; `on_result(Expected<R, Error>)` runs in this actor with the reply,
    /// or with an error: timeout, unknown name, the handler's failure, or peer_down as soon
    /// as the link to the target's node breaks (its process died) with the request unanswered.
    template <Message R, Message M, class F>
    void request(std::string_view to, M message, std::chrono::milliseconds timeout, F&& on_result);

    /// As request() to a name, to one member of the group `to.name` chosen by `to.pick`
    /// (round_robin or random; Pick::all throws std::invalid_argument). A group with no
    /// members answers Error{unknown_name}. docs/groups.md shows a pool on top.
    template <Message R, Message M, class F>
    void request(const GroupTarget& to, M message, std::chrono::milliseconds timeout,
                 F&& on_result);

    /// Joins the group `group` (docs/groups.md): host-wide, through the registry. A member
    /// leaves when it calls leave(), when it stops, or when its process dies; watchers of
    /// the group hear of each. Joining twice is no error. Errors: unknown_name (an invalid
    /// group name), link_failed (the registry cannot be asked, or refuses).
    Expected<void, Error> join(std::string_view group);
    /// Leaves `group`; nothing when this actor is no member.
    Expected<void, Error> leave(std::string_view group);
    /// The members of `group` now, in the order they joined; empty: no such group. The
    /// first call for a group asks the registry; from then on this node follows the
    /// group's changes and answers without asking.
    Expected<std::vector<GroupMember>, Error> members(std::string_view group);
    /// From now on this actor gets a MemberJoined or MemberLeft for each change of
    /// `group`, until it stops or unwatches; answers the members now, so that no change
    /// falls between the answer and the first message.
    Expected<std::vector<GroupMember>, Error> watch_group(std::string_view group);
    void unwatch_group(std::string_view group);

    /// Asks for one Down message when the actor named `name` goes: it stops, its process
    /// exits, or the link to its node breaks; at once (DownReason::unreachable) when no
    /// such actor lives now. Each call is a monitor of its own, ended by its Down or by
    /// demonitor(). A node with a registry watches through it (and learns the name's pid
    /// and incarnation); without one, only an actor of this node or one behind an open
    /// link (a spawned child, its parent) can be monitored.
    Monitor monitor(std::string_view name);
    /// Ends `monitor` without a Down; nothing if it ended already.
    void demonitor(const Monitor& monitor);
    /// Asks for one Up message when an actor named `name` is registered on the host (at
    /// once if one is now), without blocking until then: the asynchronous Node::wait_for.
    /// Needs a node with a registry; without one, only this node's own actors are seen.
    void await_up(std::string_view name);

    /// Stops this actor after the current handler returns.
    void stop() noexcept { stopping_ = true; }

    /// What this actor does when a handler of its own (or a request's callback) throws:
    /// set it in the constructor or in on_start (a restarted actor's new object sets it
    /// again). Unset: NodeOptions::actor_failure, FailurePolicy::restart by default.
    void failure_policy(FailurePolicy policy) noexcept { policy_ = policy; }
    /// How often it may restart before it escalates; unset: NodeOptions::actor_restart_limit.
    void restart_limit(RestartLimit limit) noexcept { restart_limit_ = limit; }
    /// How much its mailbox holds and what a letter that finds it full does: set it in the
    /// constructor or in on_start (it holds from then on, also for a restarted actor's new
    /// object unless that sets another). Unset: NodeOptions::mailbox_limit.
    void mailbox_limit(const MailboxLimit& limit);

    /// Spawns an actor of type A in this node, as Node::spawn does, with this actor as its
    /// parent: when the child fails past what its FailurePolicy handles (escalate, or past
    /// its RestartLimit), this actor gets a ChildFailed. The child lives on its own: it
    /// does not stop when its parent stops or restarts (a ChildFailed for a parent that is
    /// gone is a dead letter). Throws SetupError as Node::spawn does.
    template <std::derived_from<Actor> A, class... Args>
    void spawn_child(std::string name, Args&&... args) {
        auto again = detail::factory_of<A, Args...>(args...);  // before A may take them
        adopt_child(std::move(name), std::make_unique<A>(std::forward<Args>(args)...),
                    std::move(again));
    }
    /// As spawn_child<A>, the child's handlers registered by `setup(child)`.
    void spawn_child(std::string name, std::function<void(Actor&)> setup);

    /// The sender of the letter being handled (empty if anonymous).
    const std::string& sender() const noexcept;

  protected:
    /// Runs in the actor's context before any message (on each new object a restart
    /// builds, too). One that throws stops the actor, whatever its FailurePolicy.
    virtual void on_start() {}
    /// Runs in the actor's context after the last message, and before a restart replaces
    /// the object.
    virtual void on_stop() {}

  private:
    friend class Node;
    friend class ReplyHandle;
    friend struct detail::DeferredReply;
    friend class detail::NodeCore;
    friend struct detail::ActorCell;

    /// Routes a letter this actor sends; `draft` is its body when `letter.body` is null.
    void post(detail::Letter&& letter, detail::Draft* draft = nullptr);
    /// Routes a message this actor sends, addressed by `header`, its body `draft`.
    void post(const EnvelopeHeader& header, detail::Draft& draft);
    /// Makes `letter` a request, arms its timer, and keeps `complete` for its answer.
    void start_request(detail::Letter& letter, std::chrono::milliseconds timeout,
                       std::function<void(detail::Letter&)> complete);
    /// Cancels the timers of the requests still waiting (the actor stopped).
    void cancel_pending() noexcept;
    /// Runs the handler for one letter (or completes a pending request).
    void dispatch(detail::Letter& letter);
    /// Answers every request a ReplyHandle still owes with Error{stopped}: the actor stops.
    void abandon_deferred() noexcept;
    /// The last handle of `reply` went without answering it.
    void dropped(detail::DeferredReply& reply) noexcept;
    /// The members a letter to `to` goes to; empty (and `why` says) when none.
    std::vector<std::string> pick(const GroupTarget& to, std::string& why);
    /// A letter to a group no member of which can take it: a dead letter (unknown_name).
    void no_members(const detail::Letter& letter, const std::string& why);
    /// Answers `request` with Failure{code, reason} (when it is a request).
    void fail(const detail::Letter& request, ErrorCode code, const std::string& reason);
    /// A handler or callback threw (`what`, in words): unless its policy is resume, the
    /// turn ends here and its cell restarts or stops it (ActorCell::run).
    void failed(std::string what);
    /// Its policy and restart limit: its own, else its node's.
    FailurePolicy policy() const noexcept;
    RestartLimit limit() const noexcept;
    void adopt_child(std::string name, std::unique_ptr<Actor> actor, detail::ActorFactory again);

    std::string name_;
    Node* node_ = nullptr;
    detail::ActorCell* cell_ = nullptr;  ///< the cell that owns and runs this actor
    bool stopping_ = false;
    /// Set with stopping_ when a handler threw and the policy is not resume: what failed.
    std::optional<std::string> failure_;
    std::optional<FailurePolicy> policy_;
    std::optional<RestartLimit> restart_limit_;
    std::optional<MailboxLimit> mailbox_limit_;
    detail::Letter* current_ = nullptr;
    std::unordered_map<TypeId, std::function<void(detail::Letter&)>> handlers_;
    /// The handler of the last letter's type: a stream of one type skips the hash lookup.
    /// (Entries of handlers_ stay where they are, and none is ever erased.)
    std::pair<const TypeId, std::function<void(detail::Letter&)>>* last_handler_ = nullptr;
    std::unordered_map<std::uint64_t, detail::PendingRequest> pending_;
    /// The requests ReplyHandles still owe an answer to (each takes itself out when it is
    /// answered or dropped), to answer Error{stopped} if the actor stops first.
    std::unordered_set<detail::DeferredReply*> deferred_;
    /// The request reply_later took for the letter being handled now, if any, and whether
    /// its handle was dropped before the handler returned (then dispatch answers, with the
    /// handler's exception if it threw).
    detail::DeferredReply* deferring_ = nullptr;
    bool dropped_while_handling_ = false;
};

template <Message M, class F>
void Actor::handle(F&& handler) {
    handlers_[type_id_of<M>()] = [h = std::forward<F>(handler)](detail::Letter& letter) mutable {
        auto message = detail::open_letter<M>(letter);
        if (!message) throw detail::UndecodableMessage(message.error().message);
        // Moved when the handler can take it so (`const M&`, `M&&`, `M`): a by-value
        // parameter then costs no copy, and a message of descriptors still compiles.
        if constexpr (std::is_invocable_v<F&, M&&>)
            h(std::move(*message));
        else
            h(*message);
    };
}

// The message stays in the parameter while the node routes its letter (detail::Draft):
// a letter that leaves the process is encoded from there, without a body on the heap.

template <Message M>
void Actor::send(std::string_view to, M message, std::uint8_t priority) {
    detail::DraftOf<M> draft(message);
    EnvelopeHeader header;
    header.priority = priority;
    header.type = type_id_of<M>();
    header.sender = name_;
    header.recipient = to;
    post(header, draft);
}

template <Message M>
void Actor::send(const GroupTarget& to, M message, std::uint8_t priority) {
    std::string why;
    const auto members = pick(to, why);
    if (members.empty()) return no_members(detail::letter_of<M>(name_, to.name), why);
    if constexpr (std::is_copy_constructible_v<M>) {
        for (std::size_t i = 0; i + 1 < members.size(); ++i) send(members[i], M(message), priority);
    } else if (members.size() > 1) {
        throw std::invalid_argument("a message that cannot be copied cannot go to every member");
    }
    send(members.back(), std::move(message), priority);
}

template <Message R, Message M, class F>
void Actor::request(const GroupTarget& to, M message, std::chrono::milliseconds timeout,
                    F&& on_result) {
    if (to.pick == Pick::all)
        throw std::invalid_argument("a request goes to one member: Pick::all is for send");
    std::string why;
    const auto members = pick(to, why);
    if (!members.empty())
        return request<R>(members.front(), std::move(message), timeout, std::forward<F>(on_result));
    // Answered as a request to an unknown name is: by a DeadLetter its callback gets.
    detail::Letter letter = detail::letter_of<M>(name_, to.name);
    start_request(letter, timeout,
                  [cb = std::forward<F>(on_result), target = to.name,
                   timeout](detail::Letter& answer) mutable {
                      cb(detail::reply_to_result<R>(answer, target, timeout));
                  });
    no_members(letter, why);
}

template <Message M>
void Actor::reply(M message) {
    detail::DraftOf<M> draft(message);
    detail::Letter letter =
        detail::letter_of<M>(name_, current_ ? std::string_view(current_->sender) : "");
    detail::address_reply(letter, current_);
    post(std::move(letter), &draft);
}

template <Message R, Message M, class F>
void Actor::request(std::string_view to, M message, std::chrono::milliseconds timeout,
                    F&& on_result) {
    detail::DraftOf<M> draft(message);
    detail::Letter letter = detail::letter_of<M>(name_, to);
    start_request(letter, timeout,
                  [cb = std::forward<F>(on_result), target = std::string(to),
                   timeout](detail::Letter& answer) mutable {
                      cb(detail::reply_to_result<R>(answer, target, timeout));
                  });
    post(std::move(letter), &draft);
}

template <Message M>
bool ReplyHandle::send(M message) {
    detail::DraftOf<M> draft(message);
    return answer(type_id_of<M>(), draft);
}

}  // namespace courier
