#include "registry/awaited_answer.hpp"

#include <courier/posix_call.hpp>
#include <courier/serialization/envelope.hpp>

#include <poll.h>

#include <algorithm>
#include <exception>
#include <vector>

namespace courier::registry {

AwaitedAnswer await_answer(Link& link, std::uint64_t correlation,
                           std::chrono::steady_clock::time_point deadline) {
    using namespace std::chrono;
    std::vector<Frame> frames;
    for (;;) {
        const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        pollfd p{link.poll_fd(), POLLIN, 0};
        auto ready =
            COURIER_SYSCALL(::poll, &p, nfds_t{1}, static_cast<int>(std::max<long long>(left, 0)));
        if (!ready.ok()) return {AwaitedAnswer::State::closed, {}, system_error_from(ready).what()};
        if (ready.value == 0) return {AwaitedAnswer::State::timed_out, {}, {}};
        frames.clear();
        ReceiveStatus status;
        try {
            status = link.receive(frames);
        } catch (const std::exception& e) {
            return {AwaitedAnswer::State::closed, {}, e.what()};
        }
        for (auto& frame : frames) {
            auto envelope = decode_envelope(frame.data());
            if (envelope && envelope->header.correlation == correlation)
                return {AwaitedAnswer::State::answered, std::move(frame), {}};
        }
        if (status.state != ReceiveStatus::State::open)
            return {AwaitedAnswer::State::closed,
                    {},
                    status.reason.empty() ? "the connection closed" : status.reason};
    }
}

}  // namespace courier::registry
