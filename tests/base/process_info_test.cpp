// Processes by pid and start time: a live process is alive, a zombie and a reaped one
// are not, and a start time that is not the process's makes it another process.

#include <courier/process_info.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

TEST_CASE("a process is alive by its pid and start time until it exits, zombie or reaped",
          "[base][process]") {
    const auto self = courier::process_start_time(::getpid());
    REQUIRE(self);
    CHECK(courier::process_alive(::getpid()));
    CHECK(courier::process_alive(::getpid(), *self));
    CHECK_FALSE(courier::process_alive(::getpid(), *self + 1));  // a reused pid, say

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    // Exited, not reaped: a zombie, which is not alive. Polled: nothing tells us when.
    bool zombie = false;
    for (int i = 0; i < 500 && !zombie; ++i) {
        zombie = !courier::process_start_time(child).has_value();
        if (!zombie) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(zombie);
    CHECK_FALSE(courier::process_alive(child));
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK_FALSE(courier::process_alive(child));
    CHECK_FALSE(courier::process_alive(0));
    CHECK_FALSE(courier::process_alive(-1));
}
