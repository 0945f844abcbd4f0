// Writes the binary seeds of the fuzz targets (tests/fuzz/corpus/<target>/): a few small
// valid inputs each, in the input formats their comments describe. The config seeds are
// TOML written by hand. Run when a format changes, then commit what changed:
//     build-fuzz/bin/courier-fuzz-seeds tests/fuzz/corpus

#include "node_protocol.hpp"
#include "registry/name_table_file.hpp"
#include "registry/registry_protocol.hpp"
#include "serialization/test_messages.hpp"
#include "tcp/tcp_handshake.hpp"

#include <courier/framework/system_messages.hpp>
#include <courier/little_endian.hpp>
#include <courier/serialization/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace registry = courier::registry;
using Bytes = std::vector<std::byte>;

std::filesystem::path root;

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
    const auto dir = root / target;
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

void append(Bytes& to, std::string_view text) {
    for (char c : text) to.push_back(static_cast<std::byte>(c));
}
void append(Bytes& to, const Bytes& bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}
void append_byte(Bytes& to, unsigned value) {
    to.push_back(static_cast<std::byte>(value));
}

template <class T>
Bytes frame_of(const T& message, std::uint8_t flags = 0, std::uint64_t correlation = 0,
               std::string_view sender = "node-a", std::string_view recipient = "courierd") {
    courier::EnvelopeHeader header;
    header.flags = flags;
    header.correlation = correlation;
    header.sender = sender;
    header.recipient = recipient;
    return courier::encode_message(header, message);
}

// ---- envelope_fuzz: one frame ------------------------------------------------------------

void envelope_seeds() {
    const std::string t = "envelope_fuzz";
    write(t, "hello", frame_of(courier::Hello{"node-a"}, 0, 0, "", "$node"));
    write(t, "credit", frame_of(courier::Credit{1024, 1 << 20}, 0, 0, "", "$node"));
    courier::LinkList links;
    links.node = "node-a";
    links.links.push_back(courier::LinkInfo{"node-b", "unix", "default", "unix:/run/b", true});
    links.dead_letter_targets.push_back({"gone", courier::ErrorCode::unknown_name, 3});
    courier::MailboxStats mailbox;
    mailbox.name = "ledger";
    mailbox.depth = 2;
    links.mailboxes.push_back(mailbox);
    write(t, "link_list", frame_of(links, courier::envelope_flags::reply, 9, "$node", "courier"));
    write(t, "dead_letter",
          frame_of(courier::DeadLetter{"ledger", 42, courier::ErrorCode::unknown_name, "gone"}, 0,
                   0, "", "producer"));
    write(t, "lookup",
          frame_of(registry::Lookup{"ledger", 250}, courier::envelope_flags::request, 7));
    registry::Location where{true, "ledger", "node-b", 4242, {"unix:/run/b"}, 17, false};
    write(t, "location", frame_of(where, courier::envelope_flags::reply, 7, "courierd", "node-a"));
    registry::Snapshot snapshot{99, {{"node-b", 4242, 12345, {"unix:/run/b"}, {{"ledger", 17}}}}};
    write(t, "snapshot", frame_of(snapshot, 0, 0, "", "courierd"));
    // courier::Bytes, small (copied out) and at the part threshold (viewed in place).
    write(t, "blob_small",
          frame_of(courier_test::Blob{1, courier::Bytes(std::string_view("bytes")), 2}, 0, 0, "",
                   "sink"));
    write(t, "blob_large",
          frame_of(
              courier_test::Blob{
                  1, courier::Bytes(std::string(courier::Bytes::part_threshold, 'b')), 2},
              0, 0, "", "sink"));
}

// ---- fragment_fuzz: a settings byte, then chunks or frames --------------------------------

/// A raw-mode record: [control][n][n bytes].
void chunk(Bytes& to, unsigned control, const Bytes& bytes) {
    append_byte(to, control);
    append_byte(to, static_cast<unsigned>(bytes.size()));
    append(to, bytes);
}

Bytes chunk_bytes(unsigned flags, std::string_view text, std::uint64_t total = 0) {
    Bytes bytes{static_cast<std::byte>(flags)};
    if (total != 0) {
        bytes.resize(1 + 8);
        courier::store_le<std::uint64_t>(bytes.data() + 1, total);
    }
    append(bytes, text);
    return bytes;
}

/// A round-trip record: [control][n lo][n hi][n bytes].
void frame(Bytes& to, unsigned control, std::string_view text) {
    append_byte(to, control);
    append_byte(to, static_cast<unsigned>(text.size() & 0xffU));
    append_byte(to, static_cast<unsigned>(text.size() >> 8));
    append(to, text);
}

void fragment_seeds() {
    const std::string t = "fragment_fuzz";
    // Settings 0x06: native limit 16 bytes, largest frame 1000; a whole frame, then one of
    // three chunks, the last ending the batch.
    Bytes whole{std::byte{0x06}};
    chunk(whole, 0x00, chunk_bytes(0x03, "ping"));
    chunk(whole, 0x00, chunk_bytes(0x01, "abcdefg", 21));
    chunk(whole, 0x04, chunk_bytes(0x00, "hijklmnopqrst"));  // viewing a shared buffer
    chunk(whole, 0x20, chunk_bytes(0x02, "u"));
    write(t, "chunks", whole);

    // Two priorities interleaved, on a lending link (0x16), with a descriptor on a first chunk.
    Bytes lanes{std::byte{0x16}};
    chunk(lanes, 0x11, chunk_bytes(0x01, "AAAAAAA", 12));
    chunk(lanes, 0x08, chunk_bytes(0x01, "bbbbbbb", 10));
    chunk(lanes, 0x09, chunk_bytes(0x02, "AAAAA"));
    chunk(lanes, 0x28, chunk_bytes(0x02, "bbb"));
    write(t, "priorities", lanes);

    // A packed chunk of three frames, then the peer closes.
    Bytes packed{std::byte{0x07}};  // limit 255
    Bytes pack{std::byte{0x04}};
    for (std::string_view f : {"one", "", "three"}) {
        std::byte length[4];
        courier::store_le<std::uint32_t>(length, static_cast<std::uint32_t>(f.size()));
        pack.insert(pack.end(), length, length + 4);
        append(pack, f);
    }
    chunk(packed, 0x60, pack);
    write(t, "packed", packed);

    // Round trips (0x20): frames sent with `more` (packed), large ones (fragmented), flushes,
    // priorities and a descriptor.
    Bytes trip{std::byte{0x25}};  // limit 16, largest frame 100
    frame(trip, 0x04, "small");
    frame(trip, 0x04, "smaller");
    frame(trip, 0x01, "a frame of several chunks at priority one");
    frame(trip, 0x0c, "flushed");
    frame(trip, 0x10, "with a descriptor");
    write(t, "round_trip", trip);
    Bytes big{std::byte{0x2b}};  // limit 255, largest frame 1000
    frame(big, 0x00, std::string(900, 'x'));
    frame(big, 0x06, "after");
    write(t, "round_trip_large", big);
}

// ---- registry_fuzz: [op][n lo][n hi][n bytes] ---------------------------------------------

void op(Bytes& to, unsigned code, const Bytes& bytes) {
    append_byte(to, code);
    append_byte(to, static_cast<unsigned>(bytes.size() & 0xffU));
    append_byte(to, static_cast<unsigned>(bytes.size() >> 8));
    append(to, bytes);
}
void op(Bytes& to, unsigned code, std::size_t n) {  // forget, advance: no bytes
    append_byte(to, code);
    append_byte(to, static_cast<unsigned>(n & 0xffU));
    append_byte(to, static_cast<unsigned>(n >> 8));
}

template <class T>
Bytes request(const T& message, std::uint64_t correlation, std::string_view sender = "node-a") {
    return frame_of(message, courier::envelope_flags::request, correlation, sender);
}

void registry_seeds() {
    const std::string t = "registry_fuzz";
    constexpr unsigned c1 = 0x00, c2 = 0x08;  // handle, on connection 1 or 2
    Bytes names;
    op(names, c1, request(registry::RegisterNode{"node-a", 0, {"unix:/run/a"}}, 1));
    op(names, c1, request(registry::RegisterName{"ledger"}, 2));
    op(names, c2, request(registry::Lookup{"ledger", 0}, 1, "cli"));
    op(names, c2, request(registry::Watch{"ledger"}, 2, "cli"));
    op(names, c2, request(registry::Lookup{"later", 500}, 3, "cli"));
    op(names, c1, request(registry::RegisterName{"later"}, 3));
    op(names, c2, request(registry::ListNodes{}, 4, "cli"));
    op(names, c1, request(registry::UnregisterName{"ledger"}, 4));
    op(names, 0x03, 0);  // connection 1 closes
    write(t, "names", names);

    Bytes waits;
    op(waits, c2, request(registry::Lookup{"nobody", 0}, 1, "cli"));  // a NameUp promised
    op(waits, c2, request(registry::Lookup{"slow", 1000}, 2, "cli"));
    op(waits, 0x04, 1500);  // it times out
    op(waits, c1, request(registry::RegisterNode{"node-a", 0, {}}, 1));
    op(waits, c1, request(registry::RegisterName{"nobody"}, 2));
    op(waits, 0x0b, 0);  // connection 2 closes
    write(t, "waits", waits);

    Bytes groups;
    op(groups, c1, request(registry::RegisterNode{"node-a", 0, {}}, 1));
    op(groups, c1, request(registry::RegisterName{"worker"}, 2));
    op(groups, c2, request(registry::WatchGroup{"workers"}, 1, "cli"));
    op(groups, c1, request(registry::JoinGroup{"workers", "worker"}, 3));
    op(groups, c2, request(registry::ListGroup{"workers"}, 2, "cli"));
    op(groups, c2, request(registry::ListGroups{}, 3, "cli"));
    op(groups, c1, request(registry::LeaveGroup{"workers", "worker"}, 4));
    op(groups, c1, request(registry::JoinGroup{"workers", "worker"}, 5));
    op(groups, c2, request(registry::UnwatchGroup{"workers"}, 4, "cli"));
    op(groups, 0x03, 0);  // connection 1 closes: its member leaves
    write(t, "groups", groups);

    Bytes inspections;  // a tool's questions: answered, then one never answered
    op(inspections, c1, request(registry::RegisterNode{"node-a", 0, {}}, 1));
    op(inspections, c2, request(registry::InspectNode{"node-a"}, 1, "cli"));
    op(inspections, c1, request(registry::Inspected{1, courier::LinkList{}}, 2));
    op(inspections, c2, request(registry::InspectNode{"nobody"}, 2, "cli"));
    op(inspections, c2, request(registry::InspectNode{"node-a"}, 3, "cli"));
    op(inspections, 0x04, 2500);                                                   // it times out
    op(inspections, c1, request(registry::Inspected{2, courier::LinkList{}}, 3));  // too late
    write(t, "inspections", inspections);

    Bytes client;  // courierd's frames, as its client decodes them
    op(client, 0x05,
       frame_of(registry::Status{false, "no"}, courier::envelope_flags::reply, 1, "courierd",
                "node-a"));
    op(client, 0x05,
       frame_of(registry::NameDown{"ledger", registry::down_unregistered, "node-a", 4242, 17}, 0, 0,
                "courierd", "node-a"));
    op(client, 0x05,
       frame_of(registry::NameUp{"ledger", "node-a", 4242, 18}, 0, 0, "courierd", "node-a"));
    registry::NodeList list;
    list.nodes.push_back({"node-a", 4242, {"unix:/run/a"}, {"ledger"}});
    op(client, 0x05, frame_of(list, courier::envelope_flags::reply, 2, "courierd", "cli"));
    const registry::GroupMember member{"worker", "node-a", 4242};
    op(client, 0x05,
       frame_of(registry::GroupChange{"workers", member, true, ""}, 0, 0, "courierd", "node-a"));
    op(client, 0x05,
       frame_of(registry::GroupList{"workers", {member}, true, ""}, courier::envelope_flags::reply,
                3, "courierd", "node-a"));
    write(t, "client", client);
}

// ---- handshake_fuzz: [flags] then writes [n][n bytes] -------------------------------------

Bytes answer(unsigned fill) {
    Bytes bytes;
    for (unsigned char c : courier::detail::handshake::magic) append_byte(bytes, c);
    for (std::size_t i = 0; i < courier::detail::handshake::nonce_size; ++i)
        append_byte(bytes, static_cast<unsigned>(fill + i));
    bytes.resize(bytes.size() + courier::detail::handshake::proof_size);  // the fuzzer proves
    return bytes;
}

void piece(Bytes& to, const Bytes& bytes, std::size_t from, std::size_t n) {
    append_byte(to, static_cast<unsigned>(n));
    to.insert(to.end(), bytes.begin() + static_cast<std::ptrdiff_t>(from),
              bytes.begin() + static_cast<std::ptrdiff_t>(from + n));
}

void handshake_seeds() {
    const std::string t = "handshake_fuzz";
    Bytes right{std::byte{0x01}};  // the fuzzer puts the right proof in
    const Bytes a = answer(1);
    piece(right, a, 0, a.size());
    write(t, "accepted", right);

    Bytes pieces{std::byte{0x01}};  // the same in three writes, a frame's length after it
    Bytes more = answer(7);
    append(more, std::string_view("\x10\x00\x00\x00", 4));
    piece(pieces, more, 0, 5);
    piece(pieces, more, 5, 40);
    piece(pieces, more, 45, more.size() - 45);
    write(t, "accepted_in_pieces", pieces);

    Bytes wrong{std::byte{0x00}};  // a proof of zeros: refused, and told
    piece(wrong, a, 0, a.size());
    write(t, "wrong_proof", wrong);

    Bytes short_close{std::byte{0x02}};  // half an answer, then the connector closes
    piece(short_close, a, 0, 30);
    write(t, "closed_early", short_close);

    Bytes http{std::byte{0x00}};
    Bytes get;
    append(get, std::string_view("GET / HTTP/1.1\r\nHost: courier\r\n\r\n"));
    piece(http, get, 0, get.size());
    write(t, "stranger", http);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: courier-fuzz-seeds <tests/fuzz/corpus>\n";
        return 2;
    }
    root = argv[1];
    envelope_seeds();
    fragment_seeds();
    registry_seeds();
    handshake_seeds();
    std::cout << "seeds written under " << root.string() << "\n";
    return 0;
}
