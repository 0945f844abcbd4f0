// courierd as a program: where it logs when nobody watches its stderr (with no syslog
// listening, in a bounded courierd.log in the runtime directory instead of nowhere), and
// its version. COURIER_TEST_SYSLOG_SOCKET stands in for /dev/log, so that the test sees a
// host without syslog on any machine. Each courierd says READY=1 on a NotifySocket when it
// serves, so the clients never race its start.

#include "process_support.hpp"
#include "registry/registry_client.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/version.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("courierd started as nodes start it logs to courierd.log when no syslog listens",
          "[registry][log]") {
    TempRuntimeDir dir;
    const fs::path log = dir.path() / "courierd.log";
    {
        // The arguments RegistryClient's autostart passes (spawn.hpp), stderr aside.
        NotifySocket notify(dir.path() / "notify.sock");
        auto courierd = Program::start(
            {(bin_dir() / "courierd").string(), "--runtime-dir", dir.path().string(),
             "--foreground", "--syslog", "--idle-exit", "200"},
            {"COURIER_TEST_SYSLOG_SOCKET=" + (dir.path() / "no-syslog-here").string(),
             notify.environment()});
        REQUIRE(notify.next() == "READY=1");
        {
            auto options = dir.options();
            options.autostart = false;  // the courierd above, not one of the client's
            RegistryClient client(options);
            REQUIRE(client.register_node("logged-node", {}).ok);
        }
        const std::string registered =
            "node 'logged-node' (pid " + std::to_string(::getpid()) + ") registered";
        CHECK(eventually([&] { return read_file(log).find(registered) != std::string::npos; }));
        const auto status = courierd.wait_exit();  // on idle, 200 ms after the node left
        REQUIRE(status);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 0);
        // What it was, why it logs there, and how it ended: all in the file.
        const std::string text = read_file(log);
        CHECK(text.find("no syslog listens on " + (dir.path() / "no-syslog-here").string()) !=
              std::string::npos);
        CHECK(text.find("exiting: idle for 200 ms") != std::string::npos);
    }
    // The log outlives courierd (that is its point); the test removes it.
    CHECK(fs::remove(log));
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("courierd --log-file logs to that file even in the foreground", "[registry][log]") {
    TempRuntimeDir dir;
    const fs::path log = dir.path() / "chosen.log";
    {
        NotifySocket notify(dir.path() / "notify.sock");
        auto courierd =
            Program::start({(bin_dir() / "courierd").string(), "--runtime-dir", dir.path().string(),
                            "--foreground", "--idle-exit", "200", "--log-file", log.string()},
                           {notify.environment()});
        REQUIRE(notify.next() == "READY=1");
        {
            auto options = dir.options();
            options.autostart = false;
            RegistryClient client(options);
            REQUIRE(client.register_node("file-logged-node", {}).ok);
        }
        const auto status = courierd.wait_exit();
        REQUIRE(status);
        CHECK(WEXITSTATUS(*status) == 0);
        const std::string text = read_file(log);
        CHECK(text.find("node 'file-logged-node'") != std::string::npos);
        CHECK(text.find("exiting: idle for 200 ms") != std::string::npos);
    }
    CHECK(fs::remove(log));
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("courierd writes to the journal's stream each line with its priority and no time",
          "[registry][log]") {
    TempRuntimeDir dir;
    // Stands in for the journal: what systemd names in JOURNAL_STREAM is the stderr it gave.
    const fs::path stream = dir.path() / "journal-stream";
    std::ofstream{stream};
    struct stat st {};
    REQUIRE(::stat(stream.c_str(), &st) == 0);
    const auto result =
        run_command({"/bin/sh", "-c",
                     "export JOURNAL_STREAM=\"$3\"; exec \"$0\" --foreground --runtime-dir \"$1\" "
                     "--idle-exit 100 2>>\"$2\"",
                     (bin_dir() / "courierd").string(), dir.path().string(), stream.string(),
                     std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)});
    CHECK(result.exit_code == 0);
    const std::string text = read_file(stream);
    CHECK(text.starts_with("<6>courierd "));  // info, and no time before it
    CHECK(text.find(" serving " + registry_socket_path(dir.path()).string()) != std::string::npos);
    CHECK(text.find("\n<6>courierd ") != std::string::npos);
    CHECK(text.find("exiting: idle for 100 ms\n") != std::string::npos);
    CHECK(fs::remove(stream));
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("courierd --version prints the version courier was built as", "[registry][version]") {
    const auto result = run_command({(bin_dir() / "courierd").string(), "--version"});
    CHECK(result.exit_code == 0);
    CHECK(result.out == std::string("courierd ") + COURIER_VERSION + "\n");
}
