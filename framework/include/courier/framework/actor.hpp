#pragma once
/// @file
/// An actor: a named object with a mailbox and typed handlers, run on one thread at a time.
///
/// Subclass it and register handlers in the constructor or in `on_start`, or give
/// `Node::spawn` a setup function. A handler that throws is logged and counted, a request
/// it was handling is answered with a Failure, and the actor goes on with the next letter.

#include <courier/expected.hpp>
#include <courier/framework/detail/handler_traits.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/detail/reply.hpp>
#include <courier/framework/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace courier {

class Node;
namespace detail {
class NodeCore;
struct ActorCell;
}  // namespace detail

class Actor {
  public:
    Actor() = default;
    virtual ~Actor() = default;
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

    /// Answers the request (or message) being handled now, to its sender.
    template <Message M>
    void reply(M message);

    /// Sends a request; `on_result(Expected<R, Error>)` runs in this actor with the reply,
    /// or with an error: timeout, unknown name, the handler's failure.
    template <Message R, Message M, class F>
    void request(std::string_view to, M message, std::chrono::milliseconds timeout, F&& on_result);

    /// Asks for a Down message when the actor named `name` stops or its process exits.
    void watch(std::string_view name);

    /// Stops this actor after the current handler returns.
    void stop() noexcept { stopping_ = true; }

    /// The sender of the letter being handled (empty if anonymous).
    const std::string& sender() const noexcept;

  protected:
    /// Runs in the actor's context before any message.
    virtual void on_start() {}
    /// Runs in the actor's context after the last message.
    virtual void on_stop() {}

  private:
    friend class Node;
    friend class detail::NodeCore;
    friend struct detail::ActorCell;

    /// Routes a letter this actor sends; `draft` is its body when `letter.body` is null.
    void post(detail::Letter&& letter, detail::Draft* draft = nullptr);
    /// Routes a message this actor sends, addressed by `header`, its body `draft`.
    void post(const EnvelopeHeader& header, detail::Draft& draft);
    std::uint64_t start_request(detail::Letter& letter, std::chrono::milliseconds timeout);
    /// Runs the handler for one letter (or completes a pending request).
    void dispatch(detail::Letter& letter);

    std::string name_;
    Node* node_ = nullptr;
    detail::ActorCell* cell_ = nullptr;  ///< the cell that owns and runs this actor
    bool stopping_ = false;
    detail::Letter* current_ = nullptr;
    std::unordered_map<TypeId, std::function<void(detail::Letter&)>> handlers_;
    /// The handler of the last letter's type: a stream of one type skips the hash lookup.
    /// (Entries of handlers_ stay where they are, and none is ever erased.)
    std::pair<const TypeId, std::function<void(detail::Letter&)>>* last_handler_ = nullptr;
    std::unordered_map<std::uint64_t, std::function<void(detail::Letter&)>> pending_;
};

template <Message M, class F>
void Actor::handle(F&& handler) {
    handlers_[type_id_of<M>()] = [this,
                                  h = std::forward<F>(handler)](detail::Letter& letter) mutable {
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
    std::uint64_t correlation = start_request(letter, timeout);
    pending_[correlation] = [cb = std::forward<F>(on_result), target = std::string(to),
                             timeout](detail::Letter& answer) mutable {
        cb(detail::reply_to_result<R>(answer, target, timeout));
    };
    post(std::move(letter), &draft);
}

}  // namespace courier
