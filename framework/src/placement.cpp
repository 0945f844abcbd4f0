// Node::place and Node::stop_placed (courier/framework/placement.hpp): the node asks its
// courierd where the other host's courierd listens, dials it there with its own
// transport settings (the cookie's handshake), asks once and closes
// (registry/placement_protocol.hpp).

#include "node_core.hpp"

#include "registry/awaited_answer.hpp"
#include "registry/placement_protocol.hpp"
#include "registry/registry_error.hpp"

#include <courier/framework/node.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <exception>
#include <string>
#include <utility>

namespace courier {

namespace {

using Clock = std::chrono::steady_clock;

/// Sends `request` to the courierd of `host` and returns its answer of type `Answer`.
template <class Answer, class Request>
Expected<Answer, Error> ask_host(detail::NodeCore& node, const std::string& host,
                                 const Request& request, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    RegistryClient* registry = node.registry();
    if (registry == nullptr)
        return Unexpected{Error{
            ErrorCode::link_failed,
            "node '" + node.name() + "' has no registry to find host '" + host + "' through"}};
    registry::HostAddress address;
    try {
        address = registry->lookup_host(host);
    } catch (const RegistryError& e) {
        return Unexpected{Error{ErrorCode::link_failed, e.what()}};
    }
    if (!address.found) return Unexpected{Error{ErrorCode::unknown_name, address.error}};
    const std::string where = "the courierd of host '" + host + "' at " + address.endpoint;
    std::unique_ptr<Link> link;
    try {
        const auto endpoint = Endpoint::parse(address.endpoint);
        link = TransportRegistry::builtin().connect(
            endpoint, node.config().settings(endpoint.scheme).options());
        EnvelopeHeader header;
        header.flags = envelope_flags::request;
        header.correlation = 1;  // the one request on this link
        header.sender = node.name();
        header.recipient = registry::daemon_name;
        link->send(encode_message(header, request));
    } catch (const std::exception& e) {
        return Unexpected{Error{ErrorCode::link_failed, "cannot reach " + where + ": " + e.what()}};
    }
    auto answer = registry::await_answer(*link, 1, deadline);
    if (answer.state == registry::AwaitedAnswer::State::timed_out)
        return Unexpected{Error{ErrorCode::timeout, where + " did not answer within " +
                                                        std::to_string(timeout.count()) + " ms"}};
    if (answer.state == registry::AwaitedAnswer::State::closed)
        return Unexpected{Error{ErrorCode::link_failed,
                                where + " closed the link before answering: " + answer.reason}};
    auto envelope = decode_envelope(answer.frame->data());
    if (!envelope || envelope->header.type != type_id_of<Answer>())
        return Unexpected{Error{ErrorCode::bad_message, where + " answered with another message"}};
    auto value = decode_payload<Answer>(envelope->payload);
    if (!value)
        return Unexpected{
            Error{ErrorCode::bad_message,
                  where + " sent an answer that does not decode: " + value.error().message}};
    return std::move(*value);
}

}  // namespace

Expected<PlacedProcess, Error> Node::place(const Placement& placement) {
    const registry::PlaceProgram request{placement.program, placement.args, name()};
    auto placed = ask_host<registry::Placed>(*core_, placement.host, request, placement.timeout);
    if (!placed) return Unexpected{std::move(placed.error())};
    if (!placed->ok)
        return Unexpected{Error{
            is_error_code(placed->code) ? static_cast<ErrorCode>(placed->code) : ErrorCode::refused,
            std::move(placed->error)}};
    return PlacedProcess{placement.host, placed->pid};
}

Expected<void, Error> Node::stop_placed(const PlacedProcess& process, StopSignal how,
                                        std::chrono::milliseconds timeout) {
    const registry::StopPlaced request{process.pid, name(), how == StopSignal::kill};
    auto stopped = ask_host<registry::Status>(*core_, process.host, request, timeout);
    if (!stopped) return Unexpected{std::move(stopped.error())};
    if (!stopped->ok) return Unexpected{Error{ErrorCode::refused, std::move(stopped->error)}};
    return {};
}

}  // namespace courier
