#include <courier/transports/transport.hpp>

#include "fifo/fifo_transport.hpp"
#include "pipe/pipe_transport.hpp"
#include "posixmq/posixmq_transport.hpp"
#include "shm/shm_transport.hpp"
#include "src/fragmenting_link.hpp"
#include "sysv/sysv_transport.hpp"
#include "tcp/tcp_transport.hpp"
#include "unix/unix_transport.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace courier {

const TransportRegistry& TransportRegistry::builtin() {
    static const TransportRegistry registry = [] {
        TransportRegistry r;
        // One line per transport; nothing else in courier names a scheme. The default
        // preference order is each transport's own preference_rank, not this order.
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

void TransportRegistry::add(TransportEntry entry) {
    if (find(entry.scheme) != nullptr) {
        throw std::logic_error("transport scheme \"" + entry.scheme + "\" registered twice");
    }
    for (auto spec = entry.settings.begin(); spec != entry.settings.end(); ++spec) {
        const bool generic =
            std::any_of(generic_settings().begin(), generic_settings().end(),
                        [&](const SettingSpec& g) { return g.name == spec->name; });
        const bool twice = std::any_of(entry.settings.begin(), spec,
                                       [&](const SettingSpec& s) { return s.name == spec->name; });
        if (generic || twice || !spec->check(spec->default_value).empty()) {
            throw std::logic_error(
                "transport \"" + entry.scheme + "\" declares setting \"" + std::string(spec->name) +
                "\" " +
                (generic ? "which is a generic one"
                 : twice ? "twice"
                         : "with a default that " + spec->check(spec->default_value)));
        }
    }
    entries_.push_back(std::move(entry));
}

std::vector<std::string> TransportRegistry::preference_order() const {
    std::vector<const TransportEntry*> ranked;
    for (const auto& entry : entries_) ranked.push_back(&entry);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
        return a->preference_rank < b->preference_rank;
    });
    std::vector<std::string> schemes;
    for (const auto* entry : ranked) schemes.push_back(entry->scheme);
    return schemes;
}

const SettingSpec* TransportEntry::find_setting(std::string_view name) const noexcept {
    for (const auto& spec : settings) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
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

/// Refuses options a transport would silently ignore or misread: a setting it does not
/// declare (a typo in code) or a value its declaration does not accept.
void check_options(const TransportEntry& entry, const TransportOptions& options) {
    for (const auto& [name, value] : options.settings) {
        const SettingSpec* spec = entry.find_setting(name);
        if (spec == nullptr) {
            std::string declared;
            for (const auto& s : entry.settings) {
                declared += (declared.empty() ? "" : ", ") + std::string(s.name);
            }
            throw std::invalid_argument(
                "transport " + entry.scheme + " has no setting \"" + name +
                "\" (its settings: " + (declared.empty() ? "none" : declared) + ")");
        }
        if (auto why = spec->check(value); !why.empty()) {
            throw std::invalid_argument("setting " + entry.scheme + "." + name + " " + why);
        }
    }
    if (auto why = max_frame_size_setting.check(
            static_cast<std::int64_t>(std::min<std::size_t>(options.max_frame_size, INT64_MAX)));
        !why.empty()) {
        throw std::invalid_argument("max_frame_size " + why);
    }
    if (auto why = handshake_timeout_setting.check(options.handshake_timeout.count());
        !why.empty()) {
        throw std::invalid_argument("handshake_timeout_us " + why);
    }
}

}  // namespace

std::unique_ptr<Listener> TransportRegistry::listen(const Endpoint& endpoint,
                                                    const TransportOptions& options) const {
    // A mechanism with a frame limit carries chunks; the shared layer above it makes
    // whole frames of them again, on both ends, so nobody above sees a chunk.
    const auto& entry = entry_for(*this, endpoint);
    check_options(entry, options);
    if (detail::needs_fragmenting(entry.capabilities)) {
        return std::make_unique<detail::FragmentingListener>(
            entry.listen(endpoint, detail::chunk_options(entry.capabilities, options)), options);
    }
    return entry.listen(endpoint, options);
}

std::unique_ptr<Link> TransportRegistry::connect(const Endpoint& endpoint,
                                                 const TransportOptions& options) const {
    const auto& entry = entry_for(*this, endpoint);
    check_options(entry, options);
    if (detail::needs_fragmenting(entry.capabilities)) {
        return std::make_unique<detail::FragmentingLink>(
            entry.connect(endpoint, detail::chunk_options(entry.capabilities, options)), options);
    }
    return entry.connect(endpoint, options);
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
