/// `courier bench`: runs courier-bench (beside this program, else on PATH).

#include "commands.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace courier::cli {

int bench(const std::vector<std::string>& args) {
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    auto beside = self.parent_path() / "courier-bench";
    const std::string program =
        !error && ::access(beside.c_str(), X_OK) == 0 ? beside.string() : "courier-bench";
    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::cerr << "courier bench: cannot run " << program << ": " << std::strerror(errno) << "\n";
    return 127;
}

}  // namespace courier::cli
