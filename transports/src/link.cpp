#include <courier/transports/link.hpp>

namespace courier {

void Link::send_parts(std::span<const std::span<const std::byte>> parts, std::span<const int> fds,
                      std::uint8_t priority, bool more) {
    // A frame in one piece goes as it is. Otherwise one buffer per thread, kept: the
    // links that take this default send small pieces (a message queue's chunks).
    if (parts.size() == 1) return send(parts.front(), fds, priority, more);
    thread_local std::vector<std::byte> joined;
    joined.clear();
    for (const auto part : parts) joined.insert(joined.end(), part.begin(), part.end());
    send(joined, fds, priority, more);
    if (joined.capacity() > (std::size_t{1} << 20)) std::vector<std::byte>().swap(joined);
}

}  // namespace courier
