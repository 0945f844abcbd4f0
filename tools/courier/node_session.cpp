#include "node_session.hpp"

#include <courier/framework/detail/reply.hpp>
#include <courier/framework/runtime_dir.hpp>
#include <courier/transports/transport.hpp>

#include <poll.h>
#include <unistd.h>

namespace courier::cli {

std::filesystem::path registry_dir(const std::string& runtime_dir) {
    return runtime_dir.empty() ? default_runtime_dir() : std::filesystem::path(runtime_dir);
}

Expected<NodeSession, std::string> NodeSession::open(const std::vector<std::string>& endpoints) {
    std::string errors;
    for (const auto& uri : endpoints) {
        try {
            auto link = TransportRegistry::builtin().connect(Endpoint::parse(uri));
            // A Hello without a name: a tool that asks questions, not a node. The node
            // keeps the link (past handshake_timeout_us) and names it after no node.
            EnvelopeHeader header;
            header.recipient = node_service_name;
            link->send(encode_message(header, Hello{}));
            return NodeSession(std::move(link), uri);
        } catch (const std::exception& e) {
            errors += (errors.empty() ? "" : "; ") + uri + ": " + e.what();
        }
    }
    return Unexpected{errors.empty() ? std::string("it listens on nothing") : errors};
}

NodeSession::NodeSession(std::unique_ptr<Link> link, std::string endpoint)
    : link_(std::move(link)),
      endpoint_(std::move(endpoint)),
      sender_("courier-cli-" + std::to_string(::getpid())) {}

Expected<NodeSession::Answer, std::string> NodeSession::exchange(std::vector<std::byte> frame,
                                                                 TypeId answer_type,
                                                                 std::chrono::milliseconds within) {
    const std::uint64_t correlation = correlation_;
    try {
        link_->send(frame);
    } catch (const std::exception& e) {
        return Unexpected{endpoint_ + ": " + e.what()};
    }
    const auto deadline = std::chrono::steady_clock::now() + within;
    std::vector<Frame> frames;
    for (;;) {
        frames.clear();
        auto status = link_->receive(frames);
        for (auto& received : frames) {
            auto view = decode_envelope(received.data());
            // Credit grants, and answers to questions given up on, are not this answer.
            if (!view || !(view->header.flags & envelope_flags::reply) ||
                view->header.correlation != correlation)
                continue;
            const auto offset =
                static_cast<std::size_t>(view->payload.data() - received.data().data());
            if (view->header.type == answer_type) return Answer{std::move(received), offset};
            if (view->header.type == type_id_of<Failure>()) {
                auto failure = decode_payload<Failure>(view->payload);
                return Unexpected{failure ? std::string(to_string(failure->code)) + ": " +
                                                failure->message
                                          : std::string("a failure it could not say")};
            }
            return Unexpected{"it answered " + detail::type_name(view->header.type)};
        }
        if (status.state != ReceiveStatus::State::open)
            return Unexpected{endpoint_ + ": the node closed the link"};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return Unexpected{endpoint_ + ": no answer within " + std::to_string(within.count()) +
                              " ms"};
        pollfd p{link_->poll_fd(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
    }
}

Expected<LinkList, std::string> inspect(RegistryClient& registry, const std::string& node) {
    auto answer = registry.inspect_node(node);
    if (!answer.ok) return Unexpected{std::move(answer.error)};
    return std::move(answer.list);
}

std::optional<std::vector<NodeReport>> inspect_all(const std::string& runtime_dir,
                                                   const char* command, std::ostream& notes) {
    return ask_registry(
        runtime_dir, command,
        [](RegistryClient& registry) {
            std::vector<NodeReport> reports;
            for (auto& node : registry.list_nodes().nodes) {
                auto said = inspect(registry, node.node);
                reports.push_back({std::move(node), std::move(said)});
            }
            return reports;
        },
        notes);
}

}  // namespace courier::cli
