// Deferred replies (Actor::reply_later): a handler keeps the answer it owes and sends it
// in a later turn; a handle dropped, or an actor stopped, answers Error{stopped} at once.
#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace later {
struct Ask {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Answer {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// Another letter for the keeper, handled while it holds the answer.
struct Note {
    template <class A>
    void serialize(A&) {}
};
/// Tells the keeper to let its handle go without answering.
struct Forget {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(Ask, "test.later.Ask");
COURIER_MESSAGE(Answer, "test.later.Answer");
COURIER_MESSAGE(Note, "test.later.Note");
COURIER_MESSAGE(Forget, "test.later.Forget");
}  // namespace later

namespace {

courier::NodeOptions alone(std::string name) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    return options;
}

/// One value, put by an actor and waited for by the test, with a deadline.
template <class T>
class Slot {
  public:
    void put(T value) {
        std::lock_guard lock(mutex_);
        value_ = std::move(value);
        ready_.notify_all();
    }
    std::optional<T> take(std::chrono::milliseconds within = 5s) {
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, within, [&] { return value_.has_value(); });
        return std::move(value_);
    }

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<T> value_;
};

using Result = courier::Expected<later::Answer, courier::Error>;

/// What a keeper tells the test: how many handles it took, and how its answers went.
class Probe {
  public:
    void took() { bump(taken_); }
    /// An answer was sent; `behaved`: the handle owed it before, and nothing after.
    void answered(bool behaved) {
        if (!behaved) misbehaved_ = true;
        bump(answered_);
    }
    /// Wait (with a deadline) until `count` handles were taken, or answers sent.
    bool wait_taken(int count, std::chrono::milliseconds within = 5s) {
        return wait(taken_, count, within);
    }
    bool wait_answered(int count, std::chrono::milliseconds within = 5s) {
        return wait(answered_, count, within);
    }
    bool misbehaved() {
        std::lock_guard lock(mutex_);
        return misbehaved_;
    }

  private:
    void bump(int& counter) {
        std::lock_guard lock(mutex_);
        ++counter;
        changed_.notify_all();
    }
    bool wait(const int& counter, int count, std::chrono::milliseconds within) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, within, [&] { return counter >= count; });
    }
    std::mutex mutex_;
    std::condition_variable changed_;
    int taken_ = 0;
    int answered_ = 0;
    bool misbehaved_ = false;
};

/// Keeps the answer to an Ask; answers it, with n + the Notes handled since, on the third
/// Note; lets it go on Forget.
std::function<void(courier::Actor&)> keeper(Probe& probe) {
    return [&probe](courier::Actor& self) {
        struct State {
            courier::ReplyHandle owed;
            int n = 0;
            int notes = 0;
        };
        auto state = std::make_shared<State>();
        self.handle([&self, &probe, state](later::Ask& ask) {
            state->owed = self.reply_later();
            state->n = ask.n;
            state->notes = 0;
            probe.took();
        });
        self.handle([&probe, state](later::Note&) {
            if (++state->notes != 3) return;
            const bool owed_before = static_cast<bool>(state->owed);
            const bool sent = state->owed.send(later::Answer{state->n + state->notes});
            // Owes nothing any more: empty, and a second send sends nothing.
            const bool empty_after = !state->owed && !state->owed.send(later::Answer{-1});
            probe.answered(owed_before && sent && empty_after);
        });
        self.handle([state](later::Forget&) { state->owed = courier::ReplyHandle(); });
    };
}

}  // namespace

TEST_CASE("a deferred reply reaches the requester after the actor handled other letters",
          "[framework][deferred]") {
    Probe probe;
    courier::Node node(alone("deferred-local"));
    node.spawn("keeper", keeper(probe));
    Slot<Result> result;
    node.spawn("asker", [&](courier::Actor& self) {
        self.request<later::Answer>("keeper", later::Ask{40}, 5s,
                                    [&](Result r) { result.put(std::move(r)); });
        for (int i = 0; i < 3; ++i) self.send("keeper", later::Note{});
    });
    auto answer = result.take();
    REQUIRE(answer);
    REQUIRE(answer->has_value());
    CHECK((*answer)->n == 43);  // answered on the third Note, not before

    // From outside any actor too (Node::request's waiter): asked, then three Notes.
    std::thread notes([&] {
        if (!probe.wait_taken(2)) return;  // after the Ask: else the Notes answer nothing
        for (int i = 0; i < 3; ++i) node.send("keeper", later::Note{});
    });
    auto outside = node.request<later::Answer>("keeper", later::Ask{100}, 5s);
    notes.join();
    REQUIRE(outside.has_value());
    CHECK(outside->n == 103);
    REQUIRE(probe.wait_answered(2));
    CHECK_FALSE(probe.misbehaved());
}

TEST_CASE("a reply handle dropped without answering fails the request at once with stopped",
          "[framework][deferred]") {
    Probe probe;
    courier::Node node(alone("deferred-dropped"));
    node.spawn("keeper", keeper(probe));
    node.spawn("forgetful", [](courier::Actor& self) {
        self.handle([&self](later::Ask&) { auto dropped = self.reply_later(); });
    });

    const auto start = std::chrono::steady_clock::now();
    // Dropped by the handler that took it.
    auto in_handler = node.request<later::Answer>("forgetful", later::Ask{1}, 30s);
    REQUIRE_FALSE(in_handler.has_value());
    CHECK(in_handler.error().code == courier::ErrorCode::stopped);
    CHECK_THAT(in_handler.error().message,
               Catch::Contains("forgetful") && Catch::Contains("dropped"));

    // Kept, then dropped in a later turn.
    Slot<Result> result;
    node.spawn("asker", [&](courier::Actor& self) {
        self.request<later::Answer>("keeper", later::Ask{1}, 30s,
                                    [&](Result r) { result.put(std::move(r)); });
        self.send("keeper", later::Forget{});
    });
    auto later_turn = result.take();
    REQUIRE(later_turn);
    REQUIRE_FALSE(later_turn->has_value());
    CHECK(later_turn->error().code == courier::ErrorCode::stopped);
    CHECK(std::chrono::steady_clock::now() - start < 10s);  // not by the 30 s timeouts
}

TEST_CASE("a request whose handler kept its reply gets no Failure when the handler throws",
          "[framework][deferred]") {
    Probe probe;
    courier::Node node(alone("deferred-throws"));
    auto kept = std::make_shared<courier::ReplyHandle>();
    node.spawn("thrower", [kept, &probe](courier::Actor& self) {
        // Resumed: a restart would answer the kept handle's request stopped
        // (failure_policy_test.cpp).
        self.failure_policy(courier::FailurePolicy::resume);
        self.handle([&self, &probe, kept](later::Ask&) {
            *kept = self.reply_later();
            probe.took();
            throw std::runtime_error("after taking the handle");
        });
        self.handle([kept](later::Note&) { kept->send(later::Answer{7}); });
        // Takes a handle, lets it go and throws: the exception is the answer.
        self.handle([&self](later::Forget&) {
            auto dropped = self.reply_later();
            throw std::runtime_error("dropped and threw");
        });
    });
    std::thread note([&] {
        if (probe.wait_taken(1)) node.send("thrower", later::Note{});
    });
    auto answer = node.request<later::Answer>("thrower", later::Ask{}, 5s);
    note.join();
    REQUIRE(answer.has_value());  // the handle's answer, not handler_failed
    CHECK(answer->n == 7);

    auto failed = node.request<later::Answer>("thrower", later::Forget{}, 5s);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code == courier::ErrorCode::handler_failed);
    CHECK(failed.error().message == "dropped and threw");
    CHECK(node.stats().handler_failures == 2);
}

TEST_CASE("an actor that stops while it owes a deferred reply answers stopped at once",
          "[framework][deferred]") {
    Probe probe;
    courier::Node node(alone("deferred-stopped"));
    node.spawn("keeper", keeper(probe));
    Slot<Result> result;
    node.spawn("asker", [&](courier::Actor& self) {
        self.request<later::Answer>("keeper", later::Ask{1}, 30s,
                                    [&](Result r) { result.put(std::move(r)); });
    });
    REQUIRE(probe.wait_taken(1));  // the keeper holds the answer now
    node.stop("keeper");
    auto answer = result.take();
    REQUIRE(answer);
    REQUIRE_FALSE(answer->has_value());
    CHECK(answer->error().code == courier::ErrorCode::stopped);
}

TEST_CASE("reply_later outside a handler, or twice for one letter, throws logic_error",
          "[framework][deferred]") {
    courier::Node node(alone("deferred-misuse"));
    Slot<std::string> outside;
    node.spawn("misuser", [&](courier::Actor& self) {
        try {
            (void)self.reply_later();  // in the setup: no letter is being handled
            outside.put("no throw");
        } catch (const std::logic_error& e) {
            outside.put(e.what());
        }
        self.handle([&self](later::Ask& ask) {
            auto first = self.reply_later();
            bool refused = false;
            try {
                (void)self.reply_later();
            } catch (const std::logic_error&) {
                refused = true;
            }
            first.send(later::Answer{refused ? ask.n : -1});
        });
    });
    auto what = outside.take();
    REQUIRE(what);
    CHECK_THAT(*what, Catch::Contains("no letter"));
    auto answer = node.request<later::Answer>("misuser", later::Ask{5}, 5s);
    REQUIRE(answer.has_value());
    CHECK(answer->n == 5);
}

TEST_CASE("a handler answers from the callback of a request of its own, through a copy",
          "[framework][deferred]") {
    courier::Node node(alone("deferred-delegate"));
    node.spawn("back", [](courier::Actor& self) {
        self.handle([&self](later::Ask& ask) { self.reply(later::Answer{ask.n * 2}); });
    });
    node.spawn("front", [](courier::Actor& self) {
        self.handle([&self](later::Ask& ask) {
            // The callback holds a copy (std::function copies what it captures).
            self.request<later::Answer>("back", later::Ask{ask.n}, 5s,
                                        [owed = self.reply_later()](Result r) mutable {
                                            owed.send(later::Answer{r ? r->n + 1 : -1});
                                        });
        });
    });
    auto answer = node.request<later::Answer>("front", later::Ask{20}, 5s);
    REQUIRE(answer.has_value());
    CHECK(answer->n == 41);
}

TEST_CASE("copies of a reply handle share one answer: the first send answers, no other does",
          "[framework][deferred]") {
    courier::Node node(alone("deferred-copies"));
    Slot<bool> behaved;
    node.spawn("copier", [&behaved](courier::Actor& self) {
        self.handle([&self, &behaved](later::Ask& ask) {
            courier::ReplyHandle first = self.reply_later();
            courier::ReplyHandle second = first;
            const bool both_owed = first && second;
            const bool sent = second.send(later::Answer{ask.n});
            const bool none_owed = !first && !second && !first.send(later::Answer{-1});
            behaved.put(both_owed && sent && none_owed);
        });
    });
    auto answer = node.request<later::Answer>("copier", later::Ask{9}, 5s);
    REQUIRE(answer.has_value());
    CHECK(answer->n == 9);
    CHECK(behaved.take() == std::optional<bool>(true));
}
