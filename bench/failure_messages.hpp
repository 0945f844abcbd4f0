#pragma once
/// @file
/// The messages of courier-failure-times: between the measuring process's nodes and the
/// peer it kills, and to its own watcher actors.

#include <courier/courier.hpp>

#include <cstdint>
#include <string>

namespace courier::failure_times {

/// A request the peer's actors keep unanswered (reply_later), so that it is pending when
/// the failure happens.
struct Ask {
    std::uint64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// What an Ask would be answered with; it never is.
struct Answer {
    std::uint64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// To the peer's stopper: stop yourself now.
struct Quit {
    template <class A>
    void serialize(A&) {}
};
/// To a watcher: monitor `name`; answered Armed once the monitor is set up.
struct Watch {
    std::string name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};
struct Armed {
    std::uint64_t monitor = 0;
    template <class A>
    void serialize(A& a) {
        a(monitor);
    }
};
/// The traffic on an open link while the registry is away: answered with the same n.
struct Echo {
    std::uint64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// To the thrower: wait until the measuring thread has queued what follows.
struct Hold {
    template <class A>
    void serialize(A&) {}
};
/// To the thrower: throw.
struct Boom {
    template <class A>
    void serialize(A&) {}
};
/// To the thrower: the letter its restarted object handles first.
struct Next {
    template <class A>
    void serialize(A&) {}
};

}  // namespace courier::failure_times

COURIER_MESSAGE(courier::failure_times::Ask, "failure_times.Ask");
COURIER_MESSAGE(courier::failure_times::Answer, "failure_times.Answer");
COURIER_MESSAGE(courier::failure_times::Quit, "failure_times.Quit");
COURIER_MESSAGE(courier::failure_times::Watch, "failure_times.Watch");
COURIER_MESSAGE(courier::failure_times::Armed, "failure_times.Armed");
COURIER_MESSAGE(courier::failure_times::Echo, "failure_times.Echo");
COURIER_MESSAGE(courier::failure_times::Hold, "failure_times.Hold");
COURIER_MESSAGE(courier::failure_times::Boom, "failure_times.Boom");
COURIER_MESSAGE(courier::failure_times::Next, "failure_times.Next");
