// A large courier::Bytes sent to an actor of the same process is moved, never copied nor
// serialized: the handler sees the sender's memory.

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
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
