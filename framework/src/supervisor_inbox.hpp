#pragma once
/// @file
/// How the threads that learn something about a Supervisor's children (the reactor: a
/// pidfd readable, a timer) tell the supervisor: a ChildEvent letter, posted through its
/// Inbox, which closes when it stops. Private to supervisor.cpp.

#include "reactor.hpp"

#include <courier/framework/node.hpp>
#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

namespace courier::supervision {

/// Something that happened to a child, told to its supervisor as a letter.
struct ChildEvent {
    enum Kind : std::uint8_t { exited = 1, name_up, start_due, start_timeout, recheck_name };
    std::uint8_t kind = 0;
    std::uint32_t slot = 0;
    std::uint64_t generation = 0;
    std::string name;
    std::int64_t pid = 0;
    template <class A>
    void serialize(A& a) {
        a(kind, slot, generation, name, pid);
    }
};

inline ChildEvent event_of(std::uint8_t kind, std::string name = {}) {
    ChildEvent event;
    event.kind = kind;
    event.name = std::move(name);
    return event;
}

COURIER_MESSAGE(ChildEvent, "courier.supervisor.ChildEvent");

/// Where other threads post a supervisor's events; closed when it stops, so that nothing
/// is sent to its name afterwards (a name that may belong to someone else by then).
struct Inbox {
    std::mutex mutex;
    Node* node = nullptr;
    std::string name;
    void post(ChildEvent event) {
        std::lock_guard lock(mutex);
        if (node != nullptr) node->send(name, std::move(event));
    }
    void close() {
        std::lock_guard lock(mutex);
        node = nullptr;
    }
};

/// A child's pidfd in the reactor. The reactor's callback and the supervisor both end the
/// watch under its lock, so the callback never removes a descriptor number the supervisor
/// has closed and reused for the next child.
struct ExitWatch {
    std::mutex mutex;
    detail::Reactor* reactor = nullptr;
    int fd = -1;
    bool end() {
        std::lock_guard lock(mutex);
        if (fd < 0) return false;
        reactor->remove(fd);
        fd = -1;
        return true;
    }
};

}  // namespace courier::supervision
