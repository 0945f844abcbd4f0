// Fuzzes the envelope decoder (serialization/src/envelope.cpp) and the payload decoder
// (decode_payload, Cereal through PayloadInputArchive) with the message types that cross
// a process boundary: the node's own (node_protocol.hpp), the framework's letters, the
// registry protocol, courierd's snapshot file, and a test type of every field shape.
//
// Input: one frame, as a link delivers it. What must hold, whatever the bytes:
// - decoding returns an error value or a view inside the frame, never crashes or reads
//   outside it, and never allocates beyond the frame's size (ASan's malloc limit);
// - an envelope that decodes re-encodes to the same bytes (the encoding is canonical);
// - a payload that decodes re-encodes to bytes that decode again, and then to the same
//   bytes (what we decode we can send on).
// The payload is decoded as the type the envelope names; an id of no type here picks one
// by its low byte, so every decoder is fuzzed before the fuzzer learns the 64-bit ids.

#include "node_protocol.hpp"
#include "registry/name_table_file.hpp"
#include "registry/registry_protocol.hpp"
#include "serialization/test_messages.hpp"

#include <courier/framework/pool.hpp>
#include <courier/framework/supervisor.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/serialization/codec.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

namespace {

using Bytes = std::span<const std::byte>;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "envelope_fuzz: %s\n", what);
    std::abort();
}

/// Decodes `payload` as T and checks the round trip.
template <class T>
void decode_as(Bytes payload) {
    auto value = courier::decode_payload<T>(payload);
    if (!value) return;
    std::vector<std::byte> again;
    courier::encode_payload(*value, again);
    auto copy = courier::decode_payload<T>(again);
    if (!copy) broken("a payload re-encoded from a decoded value does not decode");
    std::vector<std::byte> third;
    courier::encode_payload(*copy, third);
    if (third != again) broken("a payload does not re-encode to the same bytes");
}

/// Handover carries descriptors: decoded with a table of two, which its Fd fields take.
void decode_handover(Bytes payload) {
    std::array<courier::Fd, 2> fds{courier::Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
                                   courier::Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC))};
    (void)courier::decode_payload<courier_test::Handover>(payload, fds);
}

/// Keeps nothing but stands for a received frame's body: large Bytes then view the payload.
struct Keeper final : courier::PayloadKeeper {
    std::shared_ptr<const void> keep() override { return std::make_shared<int>(0); }
};

/// Blob, decoded as a copy and as a handler decodes a received frame: a large Bytes then
/// views the payload, and must lie inside it.
void decode_blob(Bytes payload) {
    decode_as<courier_test::Blob>(payload);
    Keeper keeper;
    auto value = courier::decode_payload<courier_test::Blob>(payload, {}, &keeper);
    if (!value) return;
    const auto* data = value->data.data();
    if (value->data.shares_buffer() &&
        (data < payload.data() || data + value->data.size() > payload.data() + payload.size()))
        broken("a Bytes that shares its payload lies outside it");
}

struct Decoder {
    courier::TypeId type;
    void (*decode)(Bytes);
};

template <class T>
Decoder decoder_of() {
    return {courier::type_id_of<T>(), &decode_as<T>};
}

const std::vector<Decoder>& decoders() {
    static const std::vector<Decoder> all = {
        decoder_of<courier::Hello>(),
        decoder_of<courier::Heartbeat>(),
        decoder_of<courier::Credit>(),
        decoder_of<courier::LinkList>(),
        decoder_of<courier::DeadLetter>(),
        decoder_of<courier::Failure>(),
        decoder_of<courier::Down>(),
        decoder_of<courier::Up>(),
        decoder_of<courier::ChildFailed>(),
        decoder_of<courier::WhichChildren>(),
        decoder_of<courier::ChildInfo>(),
        decoder_of<courier::Children>(),
        decoder_of<courier::MemberJoined>(),
        decoder_of<courier::MemberLeft>(),
        decoder_of<courier::Demand>(),
        decoder_of<courier::PoolQuery>(),
        decoder_of<courier::PoolStats>(),
        decoder_of<courier::registry::RegisterNode>(),
        decoder_of<courier::registry::RegisterName>(),
        decoder_of<courier::registry::UnregisterName>(),
        decoder_of<courier::registry::Lookup>(),
        decoder_of<courier::registry::Watch>(),
        decoder_of<courier::registry::ListNodes>(),
        decoder_of<courier::registry::Status>(),
        decoder_of<courier::registry::Location>(),
        decoder_of<courier::registry::NodeList>(),
        decoder_of<courier::registry::NameDown>(),
        decoder_of<courier::registry::NameUp>(),
        decoder_of<courier::registry::JoinGroup>(),
        decoder_of<courier::registry::LeaveGroup>(),
        decoder_of<courier::registry::ListGroup>(),
        decoder_of<courier::registry::WatchGroup>(),
        decoder_of<courier::registry::UnwatchGroup>(),
        decoder_of<courier::registry::ListGroups>(),
        decoder_of<courier::registry::GroupList>(),
        decoder_of<courier::registry::GroupDirectory>(),
        decoder_of<courier::registry::GroupChange>(),
        decoder_of<courier::registry::Snapshot>(),
        decoder_of<courier_test::Order>(),
        decoder_of<courier_test::Ping>(),
        {courier::type_id_of<courier_test::Blob>(), &decode_blob},
        {courier::type_id_of<courier_test::Handover>(), &decode_handover},
    };
    return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::byte> frame(reinterpret_cast<const std::byte*>(data),
                                       reinterpret_cast<const std::byte*>(data) + size);
    const auto view = courier::decode_envelope(frame);
    if (!view) return 0;

    const auto* begin = frame.data();
    const auto* end = frame.data() + frame.size();
    if (view->payload.data() < begin || view->payload.data() + view->payload.size() > end)
        broken("the payload view is outside the frame");
    if (!courier::is_valid_name(view->header.recipient)) broken("an invalid recipient passed");
    if (!view->header.sender.empty() && !courier::is_valid_name(view->header.sender))
        broken("an invalid sender passed");
    std::vector<std::byte> again;
    courier::encode_envelope_header(view->header, view->payload.size(), again);
    again.insert(again.end(), view->payload.begin(), view->payload.end());
    if (again != frame) broken("a decoded envelope does not re-encode to the same bytes");

    // With the registry of this process, only the types entered in it pass.
    const auto known = courier::decode_envelope(frame, &courier::MessageRegistry::global());
    if (known && !courier::MessageRegistry::global().contains(known->header.type))
        broken("an unregistered type passed the registry");

    const auto& all = decoders();
    const Decoder* chosen = &all[view->header.type % all.size()];
    for (const auto& decoder : all)
        if (decoder.type == view->header.type) chosen = &decoder;
    chosen->decode(view->payload);
    return 0;
}
