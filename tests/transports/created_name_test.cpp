// The guard of a kernel object name this process created (src/created_name.hpp): it
// removes the name once, when it goes, unless released; for a file, only while it is
// still the file this process made.

#include "src/created_name.hpp"

#include "transport_fixtures.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <utility>

using namespace courier;
using namespace courier::test;
using detail::CreatedName;
using detail::NameKind;

namespace {

/// A named object of `kind` made under `name`, with its descriptor closed at once: only
/// the name keeps it.
void create(NameKind kind, const std::string& name) {
    switch (kind) {
        case NameKind::file:
            REQUIRE(::mkfifo(name.c_str(), 0600) == 0);
            return;
        case NameKind::message_queue: {
            const mqd_t queue = ::mq_open(name.c_str(), O_RDONLY | O_CREAT | O_EXCL, 0600, nullptr);
            REQUIRE(queue != static_cast<mqd_t>(-1));
            ::mq_close(queue);
            return;
        }
        case NameKind::shared_memory: {
            const int fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
            REQUIRE(fd >= 0);
            ::close(fd);
            return;
        }
    }
}

/// Whether a name of `kind` exists (opening it does not fail with ENOENT).
bool exists(NameKind kind, const std::string& name) {
    switch (kind) {
        case NameKind::file: {
            struct stat status {};
            return ::lstat(name.c_str(), &status) == 0;
        }
        case NameKind::message_queue: {
            const mqd_t queue = ::mq_open(name.c_str(), O_RDONLY);
            if (queue == static_cast<mqd_t>(-1)) return errno != ENOENT;
            ::mq_close(queue);
            return true;
        }
        case NameKind::shared_memory: {
            const int fd = ::shm_open(("/" + name).c_str(), O_RDONLY, 0);
            if (fd < 0) return errno != ENOENT;
            ::close(fd);
            return true;
        }
    }
    return false;
}

/// "/courier-test-<pid>-<n>", a message queue name.
std::string queue_name() {
    std::string name = "/";
    name += unique_name("courier-test");
    return name;
}

struct Kind {
    const char* what;
    NameKind kind;
};

}  // namespace

TEST_CASE("a created name is removed once, when its guard goes, unless released",
          "[transport][created_name]") {
    TempDir dir;
    for (const Kind& each :
         {Kind{"file", NameKind::file}, Kind{"message queue", NameKind::message_queue},
          Kind{"shared memory", NameKind::shared_memory}}) {
        const NameKind kind = each.kind;
        const std::string name = kind == NameKind::file
                                     ? (dir.path() / unique_name("fifo")).string()
                                 : kind == NameKind::message_queue ? queue_name()
                                                                   : unique_name("courier-test");
        SECTION(each.what) {
            create(kind, name);
            SECTION("removed when the guard goes") {
                {
                    CreatedName guard(kind, name);
                    CHECK(guard.name() == name);
                    CHECK(exists(kind, name));
                }
                CHECK_FALSE(exists(kind, name));
            }
            SECTION("removed now by remove(), and not again") {
                CreatedName guard(kind, name);
                guard.remove();
                CHECK_FALSE(exists(kind, name));
                CHECK(guard.name().empty());
                // Someone else makes an object of that name: the guard leaves it alone.
                create(kind, name);
                guard.remove();
                CHECK(exists(kind, name));
                CHECK(detail::remove_name(kind, name).ok());
            }
            SECTION("kept when released") {
                {
                    CreatedName guard(kind, name);
                    CHECK(guard.release() == name);
                    CHECK(guard.name().empty());
                }
                CHECK(exists(kind, name));
                CHECK(detail::remove_name(kind, name).ok());
                CHECK_FALSE(exists(kind, name));
            }
            SECTION("moved: only the last holder removes it") {
                CreatedName second;
                {
                    CreatedName first(kind, name);
                    second = std::move(first);
                }
                CHECK(exists(kind, name));
                CHECK(second.name() == name);
                CreatedName third(std::move(second));
                second = CreatedName();  // assigning to a moved-from guard removes nothing
                CHECK(exists(kind, name));
                third = CreatedName();  // assigning over a held name removes it
                CHECK_FALSE(exists(kind, name));
            }
        }
    }
}

TEST_CASE("a created file that was replaced is not removed: the successor keeps its own",
          "[transport][created_name]") {
    TempDir dir;
    const std::string path = (dir.path() / "fifo").string();
    const std::string moved = (dir.path() / "moved").string();
    create(NameKind::file, path);
    {
        CreatedName guard(NameKind::file, path);
        // Moved away, not removed: a freed inode number could be the successor's.
        REQUIRE(::rename(path.c_str(), moved.c_str()) == 0);
        create(NameKind::file, path);  // another file of the same name
    }
    CHECK(exists(NameKind::file, path));
    CHECK(exists(NameKind::file, moved));
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::unlink(moved.c_str()) == 0);
}

TEST_CASE("removing a name that is not there reports ENOENT", "[transport][created_name]") {
    TempDir dir;
    CHECK(detail::remove_name(NameKind::file, (dir.path() / "none").string()).error == ENOENT);
    CHECK(detail::remove_name(NameKind::message_queue, queue_name()).error == ENOENT);
    CHECK(detail::remove_name(NameKind::shared_memory, unique_name("courier-test")).error ==
          ENOENT);
}
