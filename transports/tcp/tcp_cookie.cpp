#include "tcp/tcp_cookie.hpp"

#include <courier/fd.hpp>

#include <openssl/rand.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace courier::detail {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_cookie_size = 4096;
constexpr std::size_t new_cookie_bytes = 32;

std::string errno_text() {
    return std::strerror(errno);
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

/// The home directory: $HOME, else the password database's.
fs::path home() {
    if (const char* env = std::getenv("HOME"); env && *env) return env;
    if (const passwd* entry = ::getpwuid(::geteuid()); entry && entry->pw_dir) return entry->pw_dir;
    throw std::runtime_error(
        "cannot find the tcp cookie: neither COURIER_COOKIE, XDG_CONFIG_HOME nor HOME is set");
}

/// `dir` exists (created 0700 if not), is a directory of ours, and nobody else may
/// write in it (they could replace the cookie).
void check_or_make_dir(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + dir.string() +
                                 " for the tcp cookie: " + errno_text());
    struct stat info {};
    if (::lstat(dir.c_str(), &info) != 0)
        throw std::runtime_error("cannot look at " + dir.string() + ": " + errno_text());
    if (!S_ISDIR(info.st_mode))
        throw std::runtime_error(dir.string() + ", which holds the tcp cookie, is not a directory");
    if (info.st_uid != ::geteuid())
        throw std::runtime_error(dir.string() + ", which holds the tcp cookie, belongs to uid " +
                                 std::to_string(info.st_uid) + ", not to you (uid " +
                                 std::to_string(::geteuid()) +
                                 "); set COURIER_COOKIE to a file of yours");
    if ((info.st_mode & 022) != 0)
        throw std::runtime_error(dir.string() +
                                 ", which holds the tcp cookie, is writable by others (mode " +
                                 octal_mode(info.st_mode) + "): chmod go-w " + dir.string());
}

/// Writes a fresh cookie at `path` unless one is there already (another process may
/// create it at the same moment: the first link() wins, and both read the winner's).
void create_cookie(const fs::path& path) {
    unsigned char bytes[new_cookie_bytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        throw std::runtime_error("cannot make a tcp cookie: no random bytes from OpenSSL");
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char b : bytes) {
        text += digits[b >> 4];
        text += digits[b & 0x0f];
    }
    text += '\n';
    const fs::path temporary = path.string() + "." + std::to_string(::getpid()) + ".new";
    Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd)
        throw std::runtime_error("cannot create the tcp cookie " + temporary.string() + ": " +
                                 errno_text());
    const bool written =
        ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd.get()) == 0;
    const int write_errno = errno;
    fd = Fd();
    if (written && ::link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        const std::string why = errno_text();
        ::unlink(temporary.c_str());
        throw std::runtime_error("cannot create the tcp cookie " + path.string() + ": " + why);
    }
    ::unlink(temporary.c_str());
    if (!written)
        throw std::runtime_error("cannot write the tcp cookie " + temporary.string() + ": " +
                                 std::strerror(write_errno));
}

}  // namespace

CookieLocation cookie_location() {
    if (const char* env = std::getenv("COURIER_COOKIE"); env && *env) return {env, false};
    fs::path config;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg && xdg[0] == '/')
        config = xdg;
    else
        config = home() / ".config";
    return {config / "courier" / "cookie", true};
}

TcpCookie load_cookie(const CookieLocation& where) {
    const fs::path& path = where.path;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd && errno == ENOENT && where.may_create) {
        const fs::path dir = path.parent_path();
        if (::mkdir(dir.parent_path().c_str(), 0700) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot create " + dir.parent_path().string() +
                                     " for the tcp cookie: " + errno_text());
        check_or_make_dir(dir);
        create_cookie(path);
        fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    }
    if (!fd) {
        if (errno == ENOENT)
            throw std::runtime_error("the tcp cookie " + path.string() +
                                     " does not exist (COURIER_COOKIE names it); copy the cookie "
                                     "of the nodes to link with there, mode 0600");
        throw std::runtime_error("cannot open the tcp cookie " + path.string() + ": " +
                                 errno_text());
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        throw std::runtime_error("cannot look at the tcp cookie " + path.string() + ": " +
                                 errno_text());
    if (!S_ISREG(info.st_mode))
        throw std::runtime_error("the tcp cookie " + path.string() + " is not a regular file");
    if (info.st_uid != ::geteuid())
        throw std::runtime_error("the tcp cookie " + path.string() + " belongs to uid " +
                                 std::to_string(info.st_uid) + ", not to you (uid " +
                                 std::to_string(::geteuid()) + ")");
    if ((info.st_mode & 077) != 0)
        throw std::runtime_error("the tcp cookie " + path.string() +
                                 " may be read or written by others (mode " +
                                 octal_mode(info.st_mode) + "): chmod 600 " + path.string());
    TcpCookie cookie;
    cookie.path = path;
    cookie.secret.resize(max_cookie_size + 1);
    std::size_t got = 0;
    while (got < cookie.secret.size()) {
        const ssize_t n = ::read(fd.get(), cookie.secret.data() + got, cookie.secret.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::runtime_error("cannot read the tcp cookie " + path.string() + ": " +
                                     errno_text());
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    // A trailing newline (or any trailing space) is not part of the secret: editors add one.
    while (got > 0 && std::isspace(cookie.secret[got - 1])) --got;
    cookie.secret.resize(got);
    if (got < min_cookie_size || got > max_cookie_size)
        throw std::runtime_error("the tcp cookie " + path.string() + " holds " +
                                 std::to_string(got) + " bytes; it must hold " +
                                 std::to_string(min_cookie_size) + " to " +
                                 std::to_string(max_cookie_size));
    return cookie;
}

}  // namespace courier::detail
