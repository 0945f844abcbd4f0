#pragma once
/// @file
/// What the federation tests share (docs/multihost.md): a "host" (a runtime directory, a
/// config naming the host and its peers, its courierd, run in a network namespace or
/// not), the cookie the hosts share, and network namespaces joined by a veth pair.

#include "process_support.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::test {

/// A tcp port of 127.0.0.1 that nothing listens on now.
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

/// One host of the federation: a runtime directory, a config, and its courierd, which
/// runs in network namespace `netns` when one is given.
struct Host {
    std::string name;
    std::string address;  ///< where its courierd and nodes listen
    int port = 0;
    std::string netns;
    TempRuntimeDir dir;
    std::filesystem::path config;
    std::optional<Program> courierd;

    Host(std::string host_name, std::string listen_address, int listen_port,
         std::string namespace_name = {})
        : name(std::move(host_name)),
          address(std::move(listen_address)),
          port(listen_port),
          netns(std::move(namespace_name)) {}

    std::string endpoint() const { return "tcp://" + address + ":" + std::to_string(port); }

    /// `extra`: TOML after the [registry] keys (its tables, other tables).
    void configure(const std::vector<const Host*>& peers, const std::string& extra = {}) {
        config = dir.path() / "federation.toml";
        std::ofstream out(config);
        out << "[registry]\nhost = \"" << name << "\"\nlisten = \"" << endpoint()
            << "\"\nheartbeat_ms = 100\nhost_down_ms = 600\npeers = [";
        for (const auto* peer : peers) out << "\"" << peer->endpoint() << "\", ";
        out << "]\n" << extra;
    }

    /// etcd mode: the host finds the others in the etcd at `etcd` ("http://host:port"),
    /// and listens for no host unless `extra` (TOML after the [registry] keys) says so.
    /// Its lease lasts 2 s.
    void configure_etcd(const std::string& etcd, const std::string& extra = {}) {
        config = dir.path() / "federation.toml";
        std::ofstream out(config);
        out << "[registry]\nhost = \"" << name << "\"\nmode = \"etcd\"\netcd = [\"" << etcd
            << "\"]\nhost_down_ms = 2000\n"
            << extra;
    }

    /// Starts its courierd (with `env` added) and waits until it serves.
    void start(const std::vector<std::string>& env = {}) {
        std::vector<std::string> argv;
        if (!netns.empty()) argv = {"/usr/sbin/ip", "netns", "exec", netns};  // execs courierd
        for (const auto& arg :
             {(bin_dir() / "courierd").string(), std::string("--runtime-dir"), dir.path().string(),
              std::string("--foreground"), std::string("--idle-exit"), std::string("0"),
              std::string("--config"), config.string()})
            argv.push_back(arg);
        courierd.emplace(Program::start(argv, env));
        REQUIRE(eventually([&] { return std::filesystem::exists(dir.path() / "registry.sock"); }));
    }

    /// Stops its courierd cleanly (it removes its socket and lock).
    void stop() {
        if (!courierd) return;
        courierd->kill(SIGCONT);  // a stopped one must run to exit
        courierd->kill(SIGTERM);
        CHECK(courierd->wait_exit());
        courierd.reset();
        std::filesystem::remove(config);
    }

    /// A node of this host that listens on tcp, so other hosts' nodes can link to it.
    NodeOptions node(std::string node_name) const {
        return configured(dir, std::move(node_name),
                          "[transport.tcp]\nlisten = \"" + address + ":0\"\n");
    }
};

/// The cookie both hosts share, as hosts of one federation do (docs/security.md): a file
/// beside the hosts' directories, which must end empty.
struct SharedCookie {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("courier-federation-cookie-" + std::to_string(::getpid()));
    SharedCookie() {
        std::ofstream(path) << std::string(40, 'f') << '\n';
        REQUIRE(::chmod(path.c_str(), 0600) == 0);
        ::setenv("COURIER_COOKIE", path.c_str(), 1);
    }
    ~SharedCookie() {
        ::unsetenv("COURIER_COOKIE");
        std::filesystem::remove(path);
    }
    SharedCookie(const SharedCookie&) = delete;
    SharedCookie& operator=(const SharedCookie&) = delete;
};

/// Two hosts, alpha and beta, federated over loopback: each lists the other, and both
/// courierds serve (beta's with `beta_env` added to its environment).
struct LoopbackPair {
    SharedCookie cookie;
    Host a{"alpha", "127.0.0.1", free_port()};
    Host b{"beta", "127.0.0.1", free_port()};

    /// `beta_config`: TOML added to beta's config (Host::configure's `extra`).
    explicit LoopbackPair(const std::vector<std::string>& beta_env = {},
                          const std::string& beta_config = {}) {
        a.configure({&b});
        b.configure({&a}, beta_config);
        a.start();
        b.start(beta_env);
    }
    /// Stops both courierds; true when both left their directories empty.
    bool finish() {
        a.stop();
        b.stop();
        return a.dir.wait_until_empty() && b.dir.wait_until_empty();
    }
};

}  // namespace courier::test
