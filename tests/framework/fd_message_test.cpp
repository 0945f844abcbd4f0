// Messages holding descriptors inside one process: moved with the message, owned by the
// receiver, closed when a letter is dropped; received frames keep theirs until decoded.
#include "node_access.hpp"
#include "support/fd_support.hpp"

#include <courier/courier.hpp>

#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using courier::Fd;
using courier_test::make_pipe;
using courier_test::open_fd_count;
using courier_test::read_to_eof;

namespace fdtest {
/// Hands over the write end of a pipe; the receiver writes `text` into it.
struct WriteInto {
    std::string text;
    Fd fd;
    template <class A>
    void serialize(A& a) {
        a(text, fd);
    }
};
struct Written {
    int fd = -1;  ///< the descriptor number the handler got
    template <class A>
    void serialize(A& a) {
        a(fd);
    }
};
struct Hold {
    template <class A>
    void serialize(A&) {}
};
}  // namespace fdtest

COURIER_MESSAGE(fdtest::WriteInto, "test.fd.WriteInto");
COURIER_MESSAGE(fdtest::Written, "test.fd.Written");
COURIER_MESSAGE(fdtest::Hold, "test.fd.Hold");

namespace {

courier::NodeOptions alone(std::string name) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    return options;
}

void spawn_writer(courier::Node& node) {
    node.spawn("writer", [](courier::Actor& self) {
        self.handle<fdtest::WriteInto>([&self](fdtest::WriteInto& order) {
            auto n = ::write(order.fd.get(), order.text.data(), order.text.size());
            self.reply(fdtest::Written{n == static_cast<ssize_t>(order.text.size()) ? order.fd.get()
                                                                                    : -1});
        });  // the message, and its descriptor, go when the handler returns
    });
}

/// A letter as it would arrive over a link: the frame of `message` and copies of the
/// descriptors it names (what SCM_RIGHTS gives the receiver), plus `extra` more.
courier::detail::Letter wire_letter(const std::string& to, const fdtest::WriteInto& message,
                                    std::vector<Fd> extra = {}) {
    courier::EnvelopeHeader header;
    header.recipient = to;
    std::vector<int> sent;
    auto frame = courier::encode_message(header, message, sent);
    std::vector<Fd> received;
    for (int fd : sent) received.emplace_back(::dup(fd));
    for (auto& fd : extra) received.push_back(std::move(fd));
    courier::Frame arrived;
    arrived.bytes = std::move(frame);
    arrived.fds = std::move(received);
    auto view = courier::decode_envelope(arrived.data());
    REQUIRE(view);
    courier::detail::Letter letter;
    letter.type = courier::type_id_of<fdtest::WriteInto>();
    letter.recipient = to;
    letter.body.emplace<courier::detail::WireBody>(std::move(arrived), view->payload);
    return letter;
}

/// Hands `letter` to the node as the reactor would a letter from a link.
void post(courier::Node& node, courier::detail::Letter letter) {
    courier::detail::NodeAccess::core(node).router().post(std::move(letter));
}

}  // namespace

TEST_CASE("an in-process send moves the descriptor itself to the receiver, which owns it",
          "[framework][fd]") {
    const auto before = open_fd_count();
    {
        courier::Node node(alone("fd-local"));
        spawn_writer(node);
        auto [read_end, write_end] = make_pipe();
        auto written = node.request<fdtest::Written>(
            "writer", fdtest::WriteInto{"through the pipe", Fd(write_end)}, 5s);
        REQUIRE(written);
        CHECK(written->fd == write_end);  // the same descriptor: moved, not duplicated
        // The handler's message closed the write end when it went: the pipe ends.
        CHECK(read_to_eof(read_end) == "through the pipe");
        ::close(read_end);
    }
    CHECK(open_fd_count() == before);
}

TEST_CASE("a letter to an unknown name closes its descriptors", "[framework][fd][dead-letter]") {
    const auto before = open_fd_count();
    {
        courier::Node node(alone("fd-unknown"));
        auto [read_end, write_end] = make_pipe();
        auto written =
            node.request<fdtest::Written>("nobody", fdtest::WriteInto{"x", Fd(write_end)}, 5s);
        REQUIRE_FALSE(written);
        CHECK(written.error().code == courier::ErrorCode::unknown_name);
        CHECK(read_to_eof(read_end) == "");
        ::close(read_end);
    }
    CHECK(open_fd_count() == before);
}

TEST_CASE("letters left in a stopped actor's mailbox close their descriptors",
          "[framework][fd][dead-letter]") {
    const auto before = open_fd_count();
    {
        courier::Node node(alone("fd-stopped"));
        std::promise<void> release;
        auto released = release.get_future().share();
        node.spawn("stopper", [released](courier::Actor& self) {
            self.handle<fdtest::Hold>([&self, released](fdtest::Hold&) {
                released.wait();  // so the next letter is queued behind this one
                self.stop();
            });
            self.handle<fdtest::WriteInto>([](fdtest::WriteInto&) {});
        });
        auto [read_end, write_end] = make_pipe();
        node.send("stopper", fdtest::Hold{});
        node.send("stopper", fdtest::WriteInto{"never", Fd(write_end)});
        release.set_value();
        CHECK(read_to_eof(read_end) == "");
        ::close(read_end);
    }
    CHECK(open_fd_count() == before);
}

TEST_CASE("a received letter keeps its descriptors until its handler decodes them",
          "[framework][fd]") {
    const auto before = open_fd_count();
    {
        courier::Node node(alone("fd-wire"));
        spawn_writer(node);
        auto [read_end, write_end] = make_pipe();
        auto [spare_read, spare_write] = make_pipe();
        ::close(spare_read);
        {
            // One descriptor more than the payload names: it is closed with the letter.
            std::vector<Fd> extra;
            extra.emplace_back(spare_write);
            fdtest::WriteInto message{"over the wire", Fd(write_end)};
            post(node, wire_letter("writer", message, std::move(extra)));
        }  // the sender's own write end goes here; the letter holds a copy
        CHECK(read_to_eof(read_end) == "over the wire");
        ::close(read_end);

        // Dropped before any handler: closed unread.
        const auto dead_before = node.stats().dead_letters;  // (the anonymous reply above)
        auto [read2, write2] = make_pipe();
        {
            fdtest::WriteInto message{"lost", Fd(write2)};
            post(node, wire_letter("nobody", message));
        }
        CHECK(read_to_eof(read2) == "");
        ::close(read2);
        CHECK(node.stats().dead_letters == dead_before + 1);
    }
    CHECK(open_fd_count() == before);
}
