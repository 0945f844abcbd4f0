// The request-head parser of samples/prefork_httpd: what it takes, what it refuses with
// which status, and where it says the head ends. End to end, over real sockets:
// tests/samples/run_sample.sh (prefork_httpd).

#include "http_request.hpp"

#include <catch2/catch.hpp>

#include <string>

using httpd::parse_request;
using Outcome = httpd::Parsed::Outcome;

TEST_CASE("A GET with a Host header parses, and the head ends after its blank line",
          "[prefork_httpd][http]") {
    const std::string head = "GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    const auto parsed = parse_request(head + "GET /next");
    REQUIRE(parsed.outcome == Outcome::request);
    CHECK(parsed.head_size == head.size());
    CHECK(parsed.request.method == "GET");
    CHECK(parsed.request.target == "/index.html?x=1");
    CHECK(parsed.request.minor == 1);
    CHECK(parsed.request.keep_alive);
    CHECK(parsed.request.body_length == 0);
}

TEST_CASE("A head cut short asks for more bytes", "[prefork_httpd][http]") {
    CHECK(parse_request("").outcome == Outcome::incomplete);
    CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\n").outcome == Outcome::incomplete);
    CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r").outcome == Outcome::incomplete);
}

TEST_CASE("Bare LFs end lines, and empty lines before a request are skipped",
          "[prefork_httpd][http]") {
    const std::string bytes = "\r\n\nGET / HTTP/1.1\nHost: a\n\n";
    const auto parsed = parse_request(bytes);
    REQUIRE(parsed.outcome == Outcome::request);
    CHECK(parsed.head_size == bytes.size());
}

TEST_CASE("Keep-alive follows the version and the Connection header", "[prefork_httpd][http]") {
    CHECK_FALSE(
        parse_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").request.keep_alive);
    CHECK_FALSE(parse_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n")
                    .request.keep_alive);
    CHECK_FALSE(parse_request("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
    CHECK(parse_request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
}

TEST_CASE("Malformed heads are refused with 400", "[prefork_httpd][http]") {
    const char* malformed[] = {
        "GARBAGE\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",          // two spaces
        "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",     // a fourth part
        "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n",  // not origin-form
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",           // not a token
        "GET / HTTP/x.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",  // 1.1 without Host
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",  // space before the colon
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
        "b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (const char* head : malformed) {
        INFO(head);
        const auto parsed = parse_request(head);
        CHECK(parsed.outcome == Outcome::refused);
        CHECK(parsed.status == 400);
    }
    CHECK(parse_request(std::string("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 28)).status == 400);
}

TEST_CASE("Other versions get 505, chunked bodies 501", "[prefork_httpd][http]") {
    CHECK(parse_request("GET / HTTP/2.0\r\nHost: a\r\n\r\n").status == 505);
    CHECK(parse_request("GET / HTTP/1.9\r\nHost: a\r\n\r\n").request.minor == 1);
    CHECK(
        parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").status ==
        501);
}

TEST_CASE("A Content-Length says how many body bytes follow the head", "[prefork_httpd][http]") {
    const auto parsed = parse_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
    REQUIRE(parsed.outcome == Outcome::request);
    CHECK(parsed.request.body_length == 12);
}

TEST_CASE("A head past 8 KiB is refused with 413, ended or not", "[prefork_httpd][http]") {
    const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'x');
    CHECK(parse_request(big).status == 413);               // no end in sight
    CHECK(parse_request(big + "\r\n\r\n").status == 413);  // ended, too late
    const std::string fits =
        "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(8000, 'x') + "\r\n\r\n";
    CHECK(parse_request(fits).outcome == Outcome::request);
}
