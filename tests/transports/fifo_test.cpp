// What fifo: promises beyond the conformance suite: its FIFO files exist only while a
// link is being set up, and a listener clears what a dead one left
// (docs/transports/fifo.md). A killed peer is in the conformance suite.

#include "transport_fixtures.hpp"

#include <courier/transports/owner.hpp>
#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <system_error>
#include <thread>

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;
using State = ReceiveStatus::State;

namespace {

const TransportRegistry& registry() {
    return TransportRegistry::builtin();
}

/// Names left in the directory: the fifo: transport must leave none.
std::vector<std::string> files_in(const TempDir& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

}  // namespace

TEST_CASE("a fifo link leaves no file behind, open or closed", "[transport][fifo]") {
    TempDir dir;
    auto pair = connect_pair(fifo_endpoint(dir));
    CHECK(files_in(dir).empty());  // made, opened and unlinked during the setup

    pair.client->send(pattern(100, 1));
    pair.server->send(pattern(200, 2));
    CHECK(receive_frames(*pair.server, 1).frames.size() == 1);
    CHECK(receive_frames(*pair.client, 1).frames.size() == 1);
    CHECK(pair.client->capabilities().native_frame_limit == static_cast<std::size_t>(-1));
    CHECK_FALSE(pair.client->capabilities().fd_passing);
    CHECK_THAT(pair.server->peer(), Catch::StartsWith("fifo:" + dir.path().string()) &&
                                        Catch::Contains("pid " + std::to_string(::getpid())));

    pair.client.reset();
    CHECK(receive_until_end(*pair.server).status.state == State::closed);
    pair.server.reset();
    pair.listener.reset();
    CHECK(files_in(dir).empty());
}

TEST_CASE("a fifo listener removes FIFOs a dead listener left, and no others",
          "[transport][fifo]") {
    TempDir dir;
    const Endpoint endpoint = fifo_endpoint(dir);
    // The pid of a child that has exited and been reaped: nobody runs under it.
    const pid_t dead = ::fork();
    REQUIRE(dead >= 0);
    if (dead == 0) ::_exit(0);
    REQUIRE(::waitpid(dead, nullptr, 0) == dead);
    const std::string stale = owned_name(endpoint.address, Owner{dead, 1}, 7) + ".up";
    // Our pid, but not our start: a process before us that had our pid.
    const std::string reused = owned_name(endpoint.address, Owner{::getpid(), 1}, 8) + ".up";
    const std::string live = owned_name(endpoint.address, Owner::self(), 7) + ".down";
    const std::string other = endpoint.address + ".notes.up";
    REQUIRE(::kill(dead, 0) == -1);
    REQUIRE(::mkfifo(stale.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(reused.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(live.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(other.c_str(), 0600) == 0);
    auto listener = registry().listen(endpoint);
    CHECK_FALSE(fs::exists(stale));
    CHECK_FALSE(fs::exists(reused));
    CHECK(fs::exists(live));
    CHECK(fs::exists(other));
}

TEST_CASE("malformed or unusable fifo endpoints are refused", "[transport][fifo]") {
    TempDir dir;
    CHECK_THROWS_AS(registry().listen(Endpoint{"fifo", dir.path() / "missing" / "x"}),
                    std::system_error);
    CHECK_THROWS_AS(registry().listen(Endpoint{"fifo", dir.path().string() + "/"}),
                    std::invalid_argument);
    CHECK_THROWS_AS(registry().listen(Endpoint{"fifo", dir.path() / std::string(300, 'a')}),
                    std::invalid_argument);
    CHECK_THROWS_AS(registry().connect(fifo_endpoint(dir)), std::system_error);  // nobody there
}
