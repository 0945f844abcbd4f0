#pragma once
/// @file
/// A served root for the prefork_httpd tests, in a private directory, with a secret
/// beside it and symlinks that stay inside and lead out; removed afterwards.

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace httpd::testing {

struct TempRoot {
    TempRoot() {
        namespace fs = std::filesystem;
        fs::remove_all(base);
        fs::create_directories(base / "root" / "sub");
        write(base / "secret.txt", "secret");
        write(base / "root" / "a.txt", "hello");
        write(base / "root" / "sub" / "index.html", "<p>sub</p>");
        fs::create_symlink(base / "secret.txt", base / "root" / "out.txt");
        fs::create_symlink("a.txt", base / "root" / "in.txt");
        fd = ::open((base / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    ~TempRoot() {
        ::close(fd);
        std::filesystem::remove_all(base);
    }
    TempRoot(const TempRoot&) = delete;
    TempRoot& operator=(const TempRoot&) = delete;

    static void write(const std::filesystem::path& path, const std::string& text) {
        std::ofstream(path) << text;
    }

    std::filesystem::path base = std::filesystem::temp_directory_path() /
                                 ("prefork_httpd_test." + std::to_string(::getpid()));
    int fd = -1;  ///< base/root, open (O_PATH)
};

}  // namespace httpd::testing
