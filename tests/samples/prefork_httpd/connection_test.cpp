// One connection of a prefork_httpd worker, stepped by hand over a socketpair (the event
// loop's part played by the test): keep-alive and pipelined requests in order, HEAD,
// a malformed request answered and closed gracefully, a huge head, /stats waiting for the
// master's counts.

#include "connection.hpp"
#include "temp_root.hpp"

#include <catch2/catch.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <string>

using httpd::Connection;
using httpd::testing::TempRoot;

namespace {

/// A connection and the client's end of its socket.
struct Pair {
    explicit Pair(const httpd::Site& site) : connection(1, make(site), site) {}
    courier::Fd make(const httpd::Site&) {
        int ends[2] = {-1, -1};
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
        client = courier::Fd(ends[1]);
        return courier::Fd(ends[0]);
    }
    void send(const std::string& bytes) {
        REQUIRE(::send(client.get(), bytes.data(), bytes.size(), 0) ==
                static_cast<ssize_t>(bytes.size()));
        connection.on_ready(EPOLLIN);
    }
    /// What the connection sent so far (nothing waits), and whether it shut its side.
    std::string received(bool* shut = nullptr) {
        std::string got;
        std::array<char, 65536> chunk;
        for (;;) {
            const auto n = ::recv(client.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
            if (n > 0) {
                got.append(chunk.data(), static_cast<std::size_t>(n));
                continue;
            }
            if (shut) *shut = n == 0;
            return got;
        }
    }

    courier::Fd client;
    Connection connection;
};

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t found = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
    return found;
}

}  // namespace

TEST_CASE("Pipelined requests are answered in order on one kept-alive connection",
          "[prefork_httpd][connection]") {
    TempRoot root;
    httpd::Site site{root.fd};
    Pair pair(site);
    pair.send(
        "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n");
    bool shut = false;
    const std::string got = pair.received(&shut);
    CHECK_FALSE(shut);
    CHECK_FALSE(pair.connection.finished());
    CHECK(pair.connection.requests() == 3);
    CHECK(count(got, "HTTP/1.1 200 OK\r\n") == 2);
    CHECK(count(got, "Content-Length: 5\r\n") == 2);
    CHECK(count(got, "hello") == 1);  // HEAD: the head only
    CHECK(got.find("HTTP/1.1 200") < got.find("HTTP/1.1 404 Not Found\r\n"));
    CHECK(got.find("Connection: close") == std::string::npos);
}

TEST_CASE(
    "A malformed request gets 400, then the connection shuts and lingers until the "
    "client closes",
    "[prefork_httpd][connection]") {
    TempRoot root;
    httpd::Site site{root.fd};
    Pair pair(site);
    pair.send("GARBAGE\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    bool shut = false;
    const std::string got = pair.received(&shut);
    CHECK(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(got.find("Connection: close\r\n") != std::string::npos);
    CHECK(got.find("hello") == std::string::npos);  // nothing after a malformed head
    CHECK(shut);
    CHECK_FALSE(pair.connection.finished());  // reading what the client still sends
    pair.client.reset();
    pair.connection.on_ready(EPOLLIN);
    CHECK(pair.connection.finished());
}

TEST_CASE("A 16 KiB header gets 413", "[prefork_httpd][connection]") {
    TempRoot root;
    httpd::Site site{root.fd};
    Pair pair(site);
    pair.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(16 * 1024, 'x') + "\r\n\r\n");
    CHECK(pair.received().rfind("HTTP/1.1 413 ", 0) == 0);
}

TEST_CASE("/stats waits for the master's counts, then answers them",
          "[prefork_httpd][connection]") {
    TempRoot root;
    httpd::Site site{root.fd};
    Pair pair(site);
    pair.send("GET /stats HTTP/1.1\r\nHost: a\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(pair.connection.wants_stats());
    CHECK_FALSE(pair.connection.wants_stats());  // asked once
    CHECK(pair.received().empty());
    pair.connection.on_stats(200, "the counts\n");
    const std::string got = pair.received();
    CHECK(got.find("the counts\n") != std::string::npos);
    CHECK(got.find("the counts\n") < got.find("hello"));  // then the request after it
}

TEST_CASE(
    "A client that closes after its request still gets the answer, then the "
    "connection is over",
    "[prefork_httpd][connection]") {
    TempRoot root;
    httpd::Site site{root.fd};
    Pair pair(site);
    pair.send("GET /a.txt HTTP/1.0\r\n\r\n");
    ::shutdown(pair.client.get(), SHUT_WR);
    pair.connection.on_ready(EPOLLIN);
    bool shut = false;
    CHECK(pair.received(&shut).find("hello") != std::string::npos);
    CHECK(pair.connection.finished());
}
