// Large messages between processes: a courier::Bytes of every size that matters (empty,
// small, just below and at the part threshold, 1 MiB, and more than an shm chunk many
// times over) goes to a spawned child and comes back byte for byte, over each transport.
// The child (spawned_node.cpp) sends each one back straight from the frame it arrived in.

#include "spawn_messages.hpp"
#include "spawned_node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;

std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = std::byte((i * 7 + seed * 13 + i / 251) & 0xffU);
    return bytes;
}

}  // namespace

TEST_CASE("a Bytes of any size goes to another process and back byte for byte, on every transport",
          "[process][bytes]") {
    const std::string transport = GENERATE("unix", "shm", "pipe", "fifo", "tcp");
    INFO(transport);
    const std::vector<std::size_t> sizes{0,
                                         100,
                                         Bytes::part_threshold - 1,
                                         Bytes::part_threshold,
                                         std::size_t{1} << 20,
                                         (std::size_t{3} << 20) + 17};
    TempRuntimeDir dir;
    {
        Node parent(parent_options(dir, "[links]\npreference = [\"" + transport + "\"]\n"));
        Mailbag<spawn_wire::Report> reports;  // the child's echo actor is up
        parent.spawn("inbox", [&reports](Actor& self) {
            self.handle<spawn_wire::Report>(
                [&reports](spawn_wire::Report& report) { reports.put(report); });
        });
        ChildProcess child = parent.spawn_process(kid(dir, transport));
        REQUIRE(child);
        REQUIRE(reports.take());
        std::uint64_t n = 0;
        for (const auto size : sizes) {
            INFO("size " << size);
            const auto sent = pattern(size, ++n);
            auto back =
                parent.request<spawn_wire::Blob>("echo", spawn_wire::Blob{n, Bytes(sent)}, 20s);
            REQUIRE(back.has_value());
            CHECK(back->n == n);
            REQUIRE(back->data.size() == size);
            CHECK((back->data == Bytes(sent)));
            // From the threshold on it views the frame it came in rather than a copy.
            CHECK(back->data.shares_buffer() == (size >= Bytes::part_threshold));
        }
        auto links = parent.links();
        REQUIRE(links.size() == 1);
        CHECK(links[0].transport == transport);
        parent.send("echo", spawn_wire::Quit{0});
        CHECK(child.wait().code == 0);
    }
    CHECK(dir.wait_until_empty());
}
