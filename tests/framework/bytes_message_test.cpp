// A large courier::Bytes sent to an actor of the same process is moved, never copied nor
// serialized: the handler sees the sender's memory. One that came over a link lets the
// link's buffer go as soon as it is handled.

#include "node_access.hpp"
#include "support/stepped_node.hpp"

#include <courier/courier.hpp>
#include <courier/spare_blocks.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace bytestest {
struct Blob {
    std::uint64_t n = 0;
    courier::Bytes data;
    template <class A>
    void serialize(A& a) {
        a(n, data);
    }
};
/// What the handler saw: where the bytes were, and whether they were intact.
struct Seen {
    const std::byte* where = nullptr;
    std::size_t size = 0;
    bool intact = false;
};
}  // namespace bytestest

COURIER_MESSAGE(bytestest::Blob, "test.bytes.Blob");

namespace {

std::vector<std::byte> pattern(std::size_t size) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = std::byte((i * 31 + 5) & 0xffU);
    return bytes;
}

}  // namespace

TEST_CASE("a 1 MiB Bytes sent to an actor of the same node arrives where the sender had it",
          "[framework][bytes]") {
    courier::NodeOptions options;
    options.name = "bytes-node";
    options.use_registry = false;
    courier::Node node(options);
    std::promise<bytestest::Seen> seen;
    constexpr std::size_t size = std::size_t{1} << 20;
    node.spawn("sink", [&seen](courier::Actor& self) {
        self.handle<bytestest::Blob>([&seen](bytestest::Blob&& blob) {
            seen.set_value(
                {blob.data.data(), blob.data.size(), blob.data == courier::Bytes(pattern(size))});
        });
    });
    // Relayed by an actor too, so that an actor's send is shown as well as Node::send's.
    node.spawn("relay", [](courier::Actor& self) {
        self.handle<bytestest::Blob>(
            [&self](bytestest::Blob& blob) { self.send("sink", std::move(blob)); });
    });
    REQUIRE(node.wait_for("sink", 5s));
    REQUIRE(node.wait_for("relay", 5s));

    auto bytes = pattern(size);
    const std::byte* where = bytes.data();
    REQUIRE(node.send("relay", bytestest::Blob{1, courier::Bytes(std::move(bytes))}));
    auto future = seen.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    const auto got = future.get();
    CHECK(got.where == where);  // moved all the way: never copied, never serialized
    CHECK(got.size == size);
    CHECK(got.intact);
}

namespace {

/// Takes every spare block out of the process's stock (what other tests left), so that
/// the blocks a test gives back are kept and counted; the blocks are freed on return.
void empty_the_spare_blocks() {
    using namespace courier::detail;
    std::vector<SpareBlock> taken;
    // A spare of capacity c is taken by a request of the largest power of two up to c.
    for (int round = 0; round < 64 && spare_block_bytes() > 0; ++round)
        for (std::size_t size = largest_spare_block; size >= 1 && spare_block_bytes() > 0;
             size /= 2)
            taken.push_back(take_block(size));
}

/// A letter as a stream link delivers a large frame: read into a spare block.
courier::detail::Letter large_wire_letter(const std::string& to, const bytestest::Blob& blob) {
    courier::EnvelopeHeader header;
    header.recipient = to;
    std::vector<int> no_fds;
    const auto encoded = courier::encode_message(header, blob, no_fds);
    courier::Frame arrived;
    arrived.shared = courier::SharedBytes::uninitialized(encoded.size());
    std::ranges::copy(encoded, arrived.shared.writable().begin());
    arrived.view = arrived.shared.bytes();
    auto view = courier::decode_envelope(arrived.data());
    REQUIRE(view);
    courier::detail::Letter letter;
    letter.type = courier::type_id_of<bytestest::Blob>();
    letter.recipient = to;
    letter.bytes = static_cast<std::uint32_t>(encoded.size());
    letter.body.emplace<courier::detail::WireBody>(std::move(arrived), view->payload);
    return letter;
}

}  // namespace

TEST_CASE("a large letter from a link lets its buffer go when the next is taken, within the turn",
          "[framework][bytes]") {
    // Handled letters are destroyed with their mailbox segment (32 letters) or when the
    // mailbox runs dry; a large one must not hold its MiB that long: letters of a MiB
    // each would pin more than the spare blocks the link reads the next ones into.
    courier::testing::SteppedNode node("bytes-release");
    std::vector<std::size_t> spares_seen;  // spare block bytes, in each handler
    node->spawn("sink", [&spares_seen](courier::Actor& self) {
        self.handle<bytestest::Blob>([&spares_seen](bytestest::Blob& blob) {
            CHECK(blob.data.shares_buffer());  // the frame's block, not a copy
            spares_seen.push_back(courier::detail::spare_block_bytes());
        });
    });
    node.run();
    empty_the_spare_blocks();
    constexpr std::size_t size = std::size_t{1} << 20;
    for (std::uint64_t n = 0; n < 3; ++n)
        courier::detail::NodeAccess::core(node.node())
            .router()
            .post(large_wire_letter("sink", bytestest::Blob{n, courier::Bytes(pattern(size))}));
    REQUIRE(node.step());  // one turn takes all three
    REQUIRE(spares_seen.size() == 3);
    // Each handler finds the blocks of the letters handled before it back in the stock.
    CHECK(spares_seen[1] >= spares_seen[0] + size);
    CHECK(spares_seen[2] >= spares_seen[1] + size);
}
