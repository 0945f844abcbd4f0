// The files of samples/prefork_httpd: no target reaches past the root, by `..` (plain or
// percent-encoded) or by a symlink; a directory stands for its index.html.

#include "static_files.hpp"
#include "temp_root.hpp"

#include <catch2/catch.hpp>

using httpd::open_static;
using httpd::target_path;
using httpd::testing::TempRoot;

TEST_CASE("A target's path is decoded and its dot segments resolved within the root",
          "[prefork_httpd][files]") {
    CHECK(target_path("/") == "");
    CHECK(target_path("/a.txt?q=1") == "a.txt");
    CHECK(target_path("/sub/./x/../index.html") == "sub/index.html");
    CHECK(target_path("//a%2Etxt") == "a.txt");
    CHECK(target_path("/sub/..") == "");
}

TEST_CASE("A target that climbs above the root is refused, however it is spelled",
          "[prefork_httpd][files]") {
    for (const char* target :
         {"/..", "/../etc/passwd", "/sub/../../x", "/%2e%2e/x", "/%2E%2E%2fsecret.txt",
          "/..%2f..%2fetc", "/a%00b", "/a%zz", "/a%2"}) {
        INFO(target);
        CHECK_FALSE(target_path(target));
    }
}

TEST_CASE("Files under the root open, and what is outside or missing is 400 or 404",
          "[prefork_httpd][files]") {
    TempRoot root;
    REQUIRE(root.fd >= 0);
    auto found = open_static(root.fd, "/a.txt");
    CHECK(found.status == 200);
    CHECK(found.size == 5);
    CHECK(found.content_type == "text/plain; charset=utf-8");
    CHECK(open_static(root.fd, "/in.txt").status == 200);   // a symlink that stays inside
    CHECK(open_static(root.fd, "/out.txt").status == 404);  // one that leads out
    CHECK(open_static(root.fd, "/../secret.txt").status == 400);
    CHECK(open_static(root.fd, "/missing").status == 404);
    CHECK(open_static(root.fd, "/a.txt/x").status == 404);
    CHECK(open_static(root.fd, "/").status == 404);  // no index.html, and no listing
    auto index = open_static(root.fd, "/sub/");
    CHECK(index.status == 200);
    CHECK(index.content_type == "text/html; charset=utf-8");
}

TEST_CASE("Content types follow the extension, whatever its case", "[prefork_httpd][files]") {
    CHECK(httpd::content_type_of("x/Page.HTML") == "text/html; charset=utf-8");
    CHECK(httpd::content_type_of("logo.png") == "image/png");
    CHECK(httpd::content_type_of("a.tar.gz") == "application/octet-stream");
    CHECK(httpd::content_type_of("dir.d/README") == "application/octet-stream");
}
