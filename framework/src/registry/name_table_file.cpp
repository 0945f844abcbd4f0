#include "registry/name_table_file.hpp"

#include <courier/log.hpp>
#include <courier/serialization/codec.hpp>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <system_error>

namespace courier::registry {

std::filesystem::path snapshot_path(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "courierd.names";
}

void save_snapshot(const std::filesystem::path& file, const Snapshot& snapshot) {
    std::error_code error;
    if (snapshot.nodes.empty()) {
        std::filesystem::remove(file, error);
        return;
    }
    std::vector<std::byte> bytes;
    std::vector<int> fds;
    encode_payload(snapshot, bytes, fds);
    const std::filesystem::path aside = file.string() + ".new";
    {
        std::ofstream out(aside, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            log().error("cannot write {}: the names would not survive a restart", aside.string());
            std::filesystem::remove(aside, error);
            return;
        }
    }
    ::chmod(aside.c_str(), 0600);  // the runtime directory is 0700 already
    std::filesystem::rename(aside, file, error);
    if (error) log().error("cannot replace {}: {}", file.string(), error.message());
}

std::optional<Snapshot> load_snapshot(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    const std::vector<char> text((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(text.data()),
                                           text.size());
    auto snapshot = decode_payload<Snapshot>(bytes);
    if (!snapshot) {
        log().error("ignoring {}: {}", file.string(), snapshot.error().message);
        return std::nullopt;
    }
    return std::move(*snapshot);
}

}  // namespace courier::registry
