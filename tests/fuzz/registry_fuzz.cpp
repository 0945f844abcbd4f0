// Fuzzes the registry protocol (framework/src/registry/): courierd's NameTable, which
// decodes and serves every request a client sends, fed frames from three connections at
// once, with their connections closing and its clock moving on; and the client's side,
// which decodes courierd's answers and notices (registry_client.cpp's dispatch and call).
//
// Input: records [op][n lo][n hi][n bytes]:
//   op & 7 in 0-2 and 6-7: connection 1 + (op >> 3) % 3 sends the bytes as a frame
//     (NameTable::handle; a refused frame closes the connection, as courierd does);
//   3: connection 1 + (op >> 3) % 3 closes (NameTable::forget); no bytes follow;
//   4: the clock moves on n milliseconds (waiting lookups time out); no bytes follow;
//   5: the bytes are a frame from courierd, decoded as the client does.
// What must hold: no crash, leak, sanitizer report or exception other than the protocol
// violations courierd expects; every frame courierd sends decodes as an envelope from
// courierd, a reply or a notice, whose payload decodes as the type it names, one of those
// its client knows; no node is left once every connection has closed.

#include "reactor.hpp"
#include "registry/name_table.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/serialization/codec.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <vector>

namespace {

namespace registry = courier::registry;
using Bytes = std::span<const std::byte>;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "registry_fuzz: %s\n", what);
    std::abort();
}

/// Decodes a frame from courierd as the client does; false if the client would drop it.
bool client_decodes(Bytes frame) {
    const auto envelope = courier::decode_envelope(frame);
    if (!envelope) return false;
    const courier::TypeId type = envelope->header.type;
    const Bytes payload = envelope->payload;
    if (type == courier::type_id_of<registry::Status>())
        return courier::decode_payload<registry::Status>(payload).has_value();
    if (type == courier::type_id_of<registry::Location>())
        return courier::decode_payload<registry::Location>(payload).has_value();
    if (type == courier::type_id_of<registry::NodeList>())
        return courier::decode_payload<registry::NodeList>(payload).has_value();
    if (type == courier::type_id_of<registry::NameDown>())
        return courier::decode_payload<registry::NameDown>(payload).has_value();
    if (type == courier::type_id_of<registry::NameUp>())
        return courier::decode_payload<registry::NameUp>(payload).has_value();
    if (type == courier::type_id_of<registry::GroupList>())
        return courier::decode_payload<registry::GroupList>(payload).has_value();
    if (type == courier::type_id_of<registry::GroupDirectory>())
        return courier::decode_payload<registry::GroupDirectory>(payload).has_value();
    if (type == courier::type_id_of<registry::GroupChange>())
        return courier::decode_payload<registry::GroupChange>(payload).has_value();
    if (type == courier::type_id_of<registry::Inspect>())
        return courier::decode_payload<registry::Inspect>(payload).has_value();
    if (type == courier::type_id_of<registry::Inspection>())
        return courier::decode_payload<registry::Inspection>(payload).has_value();
    return false;
}

/// Where the table's answers go: each is checked as its client would read it.
class CheckingOutbox final : public registry::Outbox {
  public:
    void send(registry::ConnectionId, Bytes frame) override {
        const auto envelope = courier::decode_envelope(frame);
        if (!envelope) broken("courierd sent a frame that is no envelope");
        if (envelope->header.sender != registry::daemon_name) broken("a frame not from courierd");
        const auto flags = envelope->header.flags;
        if (flags != courier::envelope_flags::reply && flags != 0)
            broken("courierd sent a frame that is neither a reply nor a notice");
        if (!client_decodes(frame)) broken("courierd sent a frame its client cannot decode");
    }
    std::int64_t peer_pid(registry::ConnectionId) const override { return 0; }
};

/// The reactor whose clock the table's timers run on, stepped by hand: one for the run,
/// since each starts a thread.
courier::detail::Reactor& timers() {
    static courier::detail::Reactor reactor(courier::detail::Reactor::Timers::by_hand);
    return reactor;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);  // courierd logs every node and name
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    CheckingOutbox outbox;
    registry::NameTable table(outbox, timers());
    std::size_t at = 0;
    while (at + 3 <= size) {
        const std::uint8_t op = data[at];
        const std::size_t n = data[at + 1] | std::size_t{data[at + 2]} << 8;
        at += 3;
        const registry::ConnectionId connection = 1 + (op >> 3) % 3;
        switch (op & 7U) {
            case 3:
                table.forget(connection, "closed");
                continue;
            case 4:
                timers().advance(std::chrono::milliseconds(n));
                continue;
            default:
                break;
        }
        const std::size_t length = std::min(n, size - at);
        const Bytes frame(reinterpret_cast<const std::byte*>(data + at), length);
        at += length;
        if ((op & 7U) == 5) {
            (void)client_decodes(frame);
            continue;
        }
        try {
            table.handle(connection, frame);
        } catch (const registry::ProtocolViolation&) {
            table.forget(connection, "protocol violation");
        } catch (const std::exception& e) {
            // courierd closes the connection too, but the table broke a rule of its own.
            std::fprintf(stderr, "registry_fuzz: NameTable::handle threw: %s\n", e.what());
            std::abort();
        }
    }
    for (registry::ConnectionId connection = 1; connection <= 3; ++connection)
        table.forget(connection, "closed");
    if (table.has_nodes()) broken("a node is left after every connection closed");
    return 0;
}
