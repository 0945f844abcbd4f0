// Placement's asking side (placement_client.hpp), and Node::place and Node::stop_placed
// on it (courier/framework/placement.hpp).

#include "placement_client.hpp"

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

/// Sends the request `make_request(address)` makes (knowing the asker's own host) to the
/// courierd of `host` and returns its answer of type `Answer`.
template <class Answer, class MakeRequest>
Expected<Answer, Error> ask_host(RegistryClient& registry, const Config& config,
                                 const std::string& asker, const std::string& host,
                                 const MakeRequest& make_request,
                                 std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    registry::HostAddress address;
    try {
        address = registry.lookup_host(host);
    } catch (const RegistryError& e) {
        return Unexpected{Error{ErrorCode::link_failed, e.what()}};
    }
    if (!address.found) return Unexpected{Error{ErrorCode::unknown_name, address.error}};
    const std::string where = "the courierd of host '" + host + "' at " + address.endpoint;
    std::unique_ptr<Link> link;
    try {
        const auto endpoint = Endpoint::parse(address.endpoint);
        link = TransportRegistry::builtin().connect(endpoint,
                                                    config.settings(endpoint.scheme).options());
        EnvelopeHeader header;
        header.flags = envelope_flags::request;
        header.correlation = 1;  // the one request on this link
        header.sender = asker;
        header.recipient = registry::daemon_name;
        link->send(encode_message(header, make_request(address)));
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

namespace detail {

Expected<PlacedProcess, Error> place(RegistryClient& registry, const Config& config,
                                     const std::string& asker, const Placement& placement) {
    const auto request = [&](const registry::HostAddress& address) {
        registry::PlaceProgram r{placement.program, placement.args, asker, {}};
        if (!placement.bound_to.empty()) r.bound_to = placement.bound_to + "@" + address.own_host;
        return r;
    };
    auto placed = ask_host<registry::Placed>(registry, config, asker, placement.host, request,
                                             placement.timeout);
    if (!placed) return Unexpected{std::move(placed.error())};
    if (!placed->ok)
        return Unexpected{Error{
            is_error_code(placed->code) ? static_cast<ErrorCode>(placed->code) : ErrorCode::refused,
            std::move(placed->error)}};
    return PlacedProcess{placement.host, placed->pid};
}

Expected<void, Error> stop_placed(RegistryClient& registry, const Config& config,
                                  const std::string& asker, const PlacedProcess& process,
                                  StopSignal how, std::chrono::milliseconds timeout) {
    const auto request = [&](const registry::HostAddress&) {
        return registry::StopPlaced{process.pid, asker, how == StopSignal::kill};
    };
    auto stopped =
        ask_host<registry::Status>(registry, config, asker, process.host, request, timeout);
    if (!stopped) return Unexpected{std::move(stopped.error())};
    if (!stopped->ok) return Unexpected{Error{ErrorCode::refused, std::move(stopped->error)}};
    return {};
}

}  // namespace detail

namespace {
Error no_registry(const std::string& node) {
    return Error{ErrorCode::link_failed,
                 "node '" + node + "' has no registry to find another host's through"};
}
}  // namespace

Expected<PlacedProcess, Error> Node::place(const Placement& placement) {
    RegistryClient* registry = core_->registry();
    if (registry == nullptr) return Unexpected{no_registry(name())};
    return detail::place(*registry, core_->config(), name(), placement);
}

Expected<void, Error> Node::stop_placed(const PlacedProcess& process, StopSignal how,
                                        std::chrono::milliseconds timeout) {
    RegistryClient* registry = core_->registry();
    if (registry == nullptr) return Unexpected{no_registry(name())};
    return detail::stop_placed(*registry, core_->config(), name(), process, how, timeout);
}

}  // namespace courier
