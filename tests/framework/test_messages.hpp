#pragma once
/// @file
/// The small messages the framework's node tests send each other.

#include <courier/courier.hpp>

namespace test {
/// A question carrying a number; answered with a Pong.
struct Ping {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Pong {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// Makes the handler that takes it throw.
struct Boom {
    template <class A>
    void serialize(A&) {}
};
/// A signal with no content ("go on").
struct Go {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(Ping, "test.Ping");
COURIER_MESSAGE(Pong, "test.Pong");
COURIER_MESSAGE(Boom, "test.Boom");
COURIER_MESSAGE(Go, "test.Go");
}  // namespace test
