#include <courier/transports/transport.hpp>

#include "fifo/fifo_transport.hpp"
#include "pipe/pipe_transport.hpp"
#include "posixmq/posixmq_transport.hpp"
#include "shm/shm_transport.hpp"
#include "src/fragmenting_link.hpp"
#include "sysv/sysv_transport.hpp"
#include "tcp/tcp_transport.hpp"
#include "unix/unix_transport.hpp"

#include <stdexcept>

namespace courier {

const TransportRegistry& TransportRegistry::builtin() {
    static const TransportRegistry registry = [] {
        TransportRegistry r;
        // One line per transport; nothing else in courier names a scheme.
        r.add<UnixTransport>();
        r.add<TcpTransport>();
        r.add<FifoTransport>();
        r.add<PosixMqTransport>();
        r.add<SysvTransport>();
        r.add<ShmTransport>();
        r.add<PipeTransport>();
        return r;
    }();
    return registry;
}

const TransportEntry* TransportRegistry::find(std::string_view scheme) const noexcept {
    for (const auto& entry : entries_) {
        if (entry.scheme == scheme) return &entry;
    }
    return nullptr;
}

namespace {

const TransportEntry& entry_for(const TransportRegistry& registry, const Endpoint& endpoint) {
    if (const auto* entry = registry.find(endpoint.scheme)) return *entry;
    std::string known;
    for (const auto& entry : registry.entries()) {
        if (!known.empty()) known += ", ";
        known += entry.scheme;
    }
    throw std::invalid_argument("unknown transport scheme \"" + endpoint.scheme +
                                "\" in endpoint \"" + endpoint.to_string() +
                                "\"; known schemes: " + (known.empty() ? "none" : known));
}

}  // namespace

std::unique_ptr<Listener> TransportRegistry::listen(const Endpoint& endpoint,
                                                    const TransportOptions& options) const {
    // A mechanism with a frame limit carries chunks; the shared layer above it makes
    // whole frames of them again, on both ends, so nobody above sees a chunk.
    if (const auto& entry = entry_for(*this, endpoint);
        detail::needs_fragmenting(entry.capabilities)) {
        return std::make_unique<detail::FragmentingListener>(
            entry.listen(endpoint, detail::chunk_options(entry.capabilities, options)), options);
    }
    return entry_for(*this, endpoint).listen(endpoint, options);
}

std::unique_ptr<Link> TransportRegistry::connect(const Endpoint& endpoint,
                                                 const TransportOptions& options) const {
    if (const auto& entry = entry_for(*this, endpoint);
        detail::needs_fragmenting(entry.capabilities)) {
        return std::make_unique<detail::FragmentingLink>(
            entry.connect(endpoint, detail::chunk_options(entry.capabilities, options)), options);
    }
    return entry_for(*this, endpoint).connect(endpoint, options);
}

ChildLink TransportRegistry::child_link(std::string_view scheme, const TransportOptions& options,
                                        int child_fd_base) const {
    const auto& entry = entry_for(*this, Endpoint{std::string(scheme), "(child)"});
    if (!entry.child_link) {
        throw std::invalid_argument("transport \"" + entry.scheme +
                                    "\" cannot link a spawner to its child");
    }
    if (detail::needs_fragmenting(entry.capabilities)) {
        ChildLink made =
            entry.child_link(detail::chunk_options(entry.capabilities, options), child_fd_base);
        made.link = std::make_unique<detail::FragmentingLink>(std::move(made.link), options);
        return made;
    }
    return entry.child_link(options, child_fd_base);
}

}  // namespace courier
