// Messages holding file descriptors between two processes: over unix the receiver gets a
// working descriptor; over a transport without fd passing the sender gets a DeadLetter,
// the link stays up, and no descriptor is left open anywhere.

#include "process_support.hpp"
#include "support/fd_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

namespace fdwire {
/// Asks the receiver to write `text` into `fd`, the write end of the sender's pipe.
struct WriteInto {
    std::string text;
    courier::Fd fd;
    template <class A>
    void serialize(A& a) {
        a(text, fd);
    }
};
struct Written {
    bool ok = false;
    template <class A>
    void serialize(A& a) {
        a(ok);
    }
};
struct Ping {
    template <class A>
    void serialize(A&) {}
};
/// Asks the receiver for a descriptor: it answers with a WriteInto holding one of its own.
struct Ask {
    template <class A>
    void serialize(A&) {}
};
}  // namespace fdwire

COURIER_MESSAGE(fdwire::WriteInto, "test.process.fd.WriteInto");
COURIER_MESSAGE(fdwire::Written, "test.process.fd.Written");
COURIER_MESSAGE(fdwire::Ping, "test.process.fd.Ping");
COURIER_MESSAGE(fdwire::Ask, "test.process.fd.Ask");

namespace {

using namespace courier;
using namespace courier::test;
using courier_test::make_pipe;
using courier_test::open_fd_count;
using courier_test::read_to_eof;

/// A child process whose node hosts "writer": it writes what it is asked into the
/// descriptor it is given (which closes when the message goes), answers Ping, and
/// answers Ask with the read end of a fresh pipe whose write end it has closed.
Child spawn_writer(NodeOptions options) {
    return Child::fork([=](ChildChannel& channel) {
        Node node(options);
        node.spawn("writer", [](Actor& self) {
            self.handle<fdwire::WriteInto>([&self](fdwire::WriteInto& order) {
                auto n = ::write(order.fd.get(), order.text.data(), order.text.size());
                self.reply(fdwire::Written{n == static_cast<ssize_t>(order.text.size())});
            });
            self.handle<fdwire::Ping>([&self](fdwire::Ping&) { self.reply(fdwire::Ping{}); });
            self.handle<fdwire::Ask>([&self](fdwire::Ask&) {
                auto [read_end, write_end] = make_pipe();
                ::close(write_end);
                self.reply(fdwire::WriteInto{"read end", Fd(read_end)});
            });
        });
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

const LinkInfo* link_to(const std::vector<LinkInfo>& links, const std::string& node) {
    for (const auto& link : links)
        if (link.peer_node == node) return &link;
    return nullptr;
}

}  // namespace

TEST_CASE("a message carries the write end of a pipe to another process over unix",
          "[process][fd]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_writer(configured(dir, "writer-node", ""));
        REQUIRE(child.expect('r'));
        const auto before = open_fd_count();
        {
            // The rule makes this link take the first preferred transport that passes fds.
            Node node(
                configured(dir, "asker-node",
                           "[[links.rule]]\nfrom = \"asker-node\"\nto = \"*\"\nfds = true\n"));
            auto [read_end, write_end] = make_pipe();
            auto written = node.request<fdwire::Written>(
                "writer", fdwire::WriteInto{"written by the other process", Fd(write_end)}, 5s);
            REQUIRE(written);
            CHECK(written->ok);
            // EOF: the sender's write end closed once sent, the receiver's after its handler.
            CHECK(read_to_eof(read_end) == "written by the other process");
            ::close(read_end);

            // And back: a reply holding a descriptor of the other process.
            auto answer = node.request<fdwire::WriteInto>("writer", fdwire::Ask{}, 5s);
            REQUIRE(answer);
            REQUIRE(answer->fd);
            CHECK(read_to_eof(answer->fd.get()) == "");

            auto links = node.links();
            const auto* link = link_to(links, "writer-node");
            REQUIRE(link);
            CHECK(link->transport == "unix");
            CHECK(link->reason == "rule \"asker-node -> *\"");
        }
        CHECK(open_fd_count() == before);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("over a transport without fd passing the sender gets a DeadLetter and nothing leaks",
          "[process][fd]") {
    const std::string transport = GENERATE(as<std::string>{}, "fifo", "sysv");
    const std::string toml = "[links]\npreference = [\"" + transport + "\"]\n";
    TempRuntimeDir dir;
    {
        auto child = spawn_writer(configured(dir, "writer-node", toml));
        REQUIRE(child.expect('r'));
        const auto before = open_fd_count();
        {
            Node node(configured(dir, "asker-node", toml));
            struct Seen {
                std::mutex mutex;
                std::condition_variable changed;
                std::optional<DeadLetter> dead;
            } seen;
            auto [read_end, write_end] = make_pipe();
            node.spawn("sender", [&seen, fd = write_end](Actor& self) {
                self.handle<DeadLetter>([&seen](DeadLetter& dead) {
                    std::lock_guard lock(seen.mutex);
                    seen.dead = dead;
                    seen.changed.notify_all();
                });
                self.send("writer", fdwire::WriteInto{"never written", Fd(fd)});
            });
            {
                std::unique_lock lock(seen.mutex);
                REQUIRE(seen.changed.wait_for(lock, 5s, [&] { return seen.dead.has_value(); }));
            }
            CHECK(seen.dead->recipient == "writer");
            CHECK(seen.dead->type == type_id_of<fdwire::WriteInto>());
            CHECK(seen.dead->code == ErrorCode::unsupported);
            INFO(seen.dead->reason);
            CHECK(seen.dead->reason ==
                  "test.process.fd.WriteInto holds 1 file descriptor, which the " + transport +
                      " link to node 'writer-node' cannot carry; links that carry descriptors "
                      "need a transport with fd passing (unix): declare them with fds = true in "
                      "a [[links.rule]]");
            // Closed, never written: the letter took its descriptor with it.
            CHECK(read_to_eof(read_end) == "");
            ::close(read_end);

            // A request gets the same error, and the link still carries everything else.
            auto [read2, write2] = make_pipe();
            auto refused =
                node.request<fdwire::Written>("writer", fdwire::WriteInto{"never", Fd(write2)}, 5s);
            REQUIRE_FALSE(refused);
            CHECK(refused.error().code == ErrorCode::unsupported);
            CHECK_THAT(refused.error().message, Catch::Contains(transport + " link"));
            CHECK(read_to_eof(read2) == "");
            ::close(read2);
            CHECK(node.request<fdwire::Ping>("writer", fdwire::Ping{}, 5s));
            // A reply holding a descriptor is refused on the other side, and the requester
            // hears why at once instead of timing out.
            auto answer = node.request<fdwire::WriteInto>("writer", fdwire::Ask{}, 5s);
            REQUIRE_FALSE(answer);
            CHECK(answer.error().code == ErrorCode::unsupported);
            CHECK_THAT(answer.error().message,
                       Catch::StartsWith("test.process.fd.WriteInto holds 1 file descriptor"));
            auto links = node.links();
            const auto* link = link_to(links, "writer-node");
            REQUIRE(link);
            CHECK(link->transport == transport);
            CHECK(node.stats().dead_letters == 2);
        }
        CHECK(open_fd_count() == before);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}
