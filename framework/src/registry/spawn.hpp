#pragma once
/// @file
/// Finding and starting courierd for RegistryClient's autostart. Private.

#include "registry/registry_error.hpp"

#include <courier/fd.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace courier::registry {

/// The courierd to start: `configured` if set, else $COURIER_COURIERD, else the first
/// executable `courierd` next to this executable, in the bindir that goes with the libdir
/// libcourier_framework was loaded from (when it is a shared library), in the install
/// bindir courier was configured with, on PATH. Throws RegistryError. (find_courierd.cpp)
std::filesystem::path find_courierd(const std::filesystem::path& configured);

/// Starts `courierd` detached from us (double fork, new session, stdio on /dev/null, no
/// other descriptors inherited) for `runtime_dir`. Returns once it has been exec'd;
/// throws RegistryError if it cannot be. Whether it then serves or gives way to another
/// courierd is for the caller to find out by connecting.
inline void start_courierd(const std::filesystem::path& courierd,
                           const std::filesystem::path& runtime_dir,
                           std::chrono::milliseconds idle_exit) {
    // Everything the children need is prepared here: after fork in a threaded process
    // only async-signal-safe calls are allowed.
    // We detach it ourselves, so it need not detach again (each detach leaves a process
    // for init to reap); its stderr is /dev/null, so it logs to syslog, or to courierd.log
    // where no syslog listens.
    std::vector<std::string> args{courierd.string(), "--runtime-dir", runtime_dir.string(),
                                  "--foreground", "--syslog"};
    if (idle_exit.count() >= 0) {
        args.emplace_back("--idle-exit");
        args.push_back(std::to_string(idle_exit.count()));
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const char* exe = args.front().c_str();
    // Our environment but NOTIFY_SOCKET: if we run under systemd, its notifications are our
    // service's, and a courierd of ours saying READY=1 or STOPPING=1 would speak for it.
    std::vector<char*> envp;
    for (char** entry = environ; *entry; ++entry)
        if (std::string_view(*entry).substr(0, 14) != "NOTIFY_SOCKET=") envp.push_back(*entry);
    envp.push_back(nullptr);

    // The grandchild reports a failed exec through this pipe; a successful exec closes it.
    int ends[2];
    auto piped = COURIER_SYSCALL(::pipe2, ends, O_CLOEXEC);
    if (!piped.ok())
        throw RegistryError(std::string("cannot start courierd: ") +
                            system_error_from(piped).what());
    Fd report(ends[0]);
    Fd report_write(ends[1]);

    auto forked = COURIER_SYSCALL(::fork);
    if (!forked.ok())
        throw RegistryError(std::string("cannot start courierd: ") +
                            system_error_from(forked).what());
    if (forked.value == 0) {
        // The child and grandchild: only async-signal-safe calls, and no destructor runs
        // (each path ends in execv or _exit).
        ::setsid();
        pid_t grandchild = ::fork();
        if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
        int keep = report_write.get();
        if (keep != 3) {
            ::dup3(keep, 3, O_CLOEXEC);
            keep = 3;
        }
        if (::syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
            for (int fd = 4; fd < 4096; ++fd) ::close(fd);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(exe, argv.data(), envp.data());
        int error = errno;
        [[maybe_unused]] auto w = ::write(keep, &error, sizeof error);
        ::_exit(127);
    }
    const auto child = static_cast<pid_t>(forked.value);
    report_write.reset();  // else our own copy would keep the pipe open after a good exec
    int status = 0;
    (void)COURIER_SYSCALL(::waitpid, child, &status, 0);
    int error = 0;
    pollfd p{report.get(), POLLIN, 0};
    long got = 0;
    if (auto ready = COURIER_SYSCALL(::poll, &p, nfds_t{1}, 5000); ready.ok() && ready.value > 0)
        got = COURIER_SYSCALL(::read, report.get(), &error, sizeof error).value;
    if (got == static_cast<long>(sizeof error))
        throw RegistryError("cannot start courierd " + courierd.string() + ": " +
                            std::strerror(error));
}

}  // namespace courier::registry
