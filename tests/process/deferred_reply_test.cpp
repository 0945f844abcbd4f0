// Deferred replies (Actor::reply_later) across processes: the answer goes back over the
// link the request came on, with its correlation; a dropped handle fails the request at
// once on the other side too.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace deferred {
struct Ask {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Answer {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Note {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(Ask, "test.process.deferred.Ask");
COURIER_MESSAGE(Answer, "test.process.deferred.Answer");
COURIER_MESSAGE(Note, "test.process.deferred.Note");
}  // namespace deferred

namespace {

using namespace courier;
using namespace courier::test;

/// A child process whose node hosts "keeper" (keeps the answer to an Ask, sends n + 1 on
/// the next Note) and "forgetful" (drops it). Writes 'r' once both are registered, and
/// stays until the parent writes 'q' or goes away.
Child spawn_keepers(const TempRuntimeDir& dir) {
    return Child::fork([&dir](ChildChannel& channel) {
        Node node(node_options(dir, "keeper-node"));
        node.spawn("keeper", [](Actor& self) {
            struct State {
                ReplyHandle owed;
                std::int64_t n = 0;
            };
            auto state = std::make_shared<State>();
            self.handle([&self, state](deferred::Ask& ask) {
                state->owed = self.reply_later();
                state->n = ask.n;
            });
            self.handle(
                [state](deferred::Note&) { state->owed.send(deferred::Answer{state->n + 1}); });
        });
        node.spawn("forgetful", [](Actor& self) {
            self.handle([&self](deferred::Ask&) {
                auto kept = std::make_shared<ReplyHandle>(self.reply_later());
                // Dropped in a later turn: when the Note comes.
                self.handle([kept](deferred::Note&) mutable { kept.reset(); });
            });
        });
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

}  // namespace

TEST_CASE("a deferred reply crosses back over the link the request came on",
          "[process][deferred]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_keepers(dir);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "asker-node"));
        // One bag per actor: the two answer in their own turns, in either order.
        Mailbag<Expected<deferred::Answer, Error>> kept, forgotten;
        node.spawn("asker", [&](Actor& self) {
            // The Ask and the Note go over one link, in order: the Note comes second.
            self.request<deferred::Answer>(
                "keeper", deferred::Ask{41}, 10s,
                [&](Expected<deferred::Answer, Error> r) { kept.put(std::move(r)); });
            self.send("keeper", deferred::Note{});
            self.request<deferred::Answer>(
                "forgetful", deferred::Ask{1}, 30s,
                [&](Expected<deferred::Answer, Error> r) { forgotten.put(std::move(r)); });
            self.send("forgetful", deferred::Note{});
        });
        const auto start = std::chrono::steady_clock::now();
        auto answered = kept.take();
        REQUIRE(answered);
        REQUIRE(answered->has_value());
        CHECK((*answered)->n == 42);
        auto dropped = forgotten.take();
        REQUIRE(dropped);
        REQUIRE_FALSE(dropped->has_value());
        CHECK(dropped->error().code == ErrorCode::stopped);
        CHECK(std::chrono::steady_clock::now() - start < 10s);  // not by the 30 s timeout
        CHECK(node.stats().sent_remote >= 4);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}
