// Node, the public face: each call forwards to the node's inside (node_core.hpp).

#include <courier/framework/node.hpp>

#include "node_core.hpp"

namespace courier {

Node::Node(NodeOptions options)
    : core_(std::make_unique<detail::NodeCore>(*this, std::move(options))) {
    core_->start();
}

Node::Node(NodeOptions options, detail::SteppedByHand)
    : core_(std::make_unique<detail::NodeCore>(*this, std::move(options), /*by_hand=*/true)) {
    core_->start();
}

Node::Node(std::string name)
    : Node([&] {
          NodeOptions options;
          options.name = std::move(name);
          return options;
      }()) {}

Node::~Node() {
    core_->stop();
}

const std::string& Node::name() const noexcept {
    return core_->name();
}

void Node::spawn(std::string name, std::function<void(Actor&)> setup) {
    auto again = detail::FunctionActor::factory(std::move(setup));
    auto first = again();  // before `again` moves: arguments are evaluated in any order
    adopt(std::move(name), std::move(first), std::move(again));
}

void Node::adopt(std::string name, std::unique_ptr<Actor> actor, detail::ActorFactory again) {
    core_->adopt(std::move(name), std::move(actor), std::move(again));
}

void Node::stop(std::string_view actor) {
    core_->stop_actor(actor);
}
Expected<void, Error> Node::post(detail::Letter letter) {
    return core_->router().post_outside(std::move(letter), core_->options().send_timeout);
}
Expected<std::vector<GroupMember>, Error> Node::members(std::string_view group) {
    return core_->groups().members(group);
}

std::vector<std::string> Node::pick(const GroupTarget& to, Error& why) {
    std::string reason;
    auto members = core_->groups().pick(to, reason);
    // A group that cannot be known (the registry away) or has no member: no one to take it.
    if (members.empty()) why = Error{ErrorCode::unknown_name, std::move(reason)};
    return members;
}

std::vector<MailboxStats> Node::mailboxes() const {
    return core_->actors().mailbox_stats();
}
detail::Letter Node::await_reply(detail::Letter request, std::chrono::milliseconds timeout) {
    return core_->requests().await(std::move(request), timeout);
}
bool Node::wait_for(std::string_view name, std::chrono::milliseconds timeout) {
    return core_->wait_for(name, timeout);
}
void Node::shutdown() noexcept {
    core_->shutdown();
}
void Node::wait() {
    core_->wait();
}
NodeStats Node::stats() const noexcept {
    return core_->stats();
}
std::vector<LinkInfo> Node::links() const {
    return core_->peers().links();
}
std::vector<std::string> Node::endpoints() const {
    return core_->peers().endpoints();
}
std::string Node::metrics_endpoint() const {
    return core_->metrics_endpoint();
}
ChildProcess Node::spawn_process(ProcessOptions options) {
    return core_->peers().spawn_process(std::move(options));
}

}  // namespace courier
