#include "shm/shm_transport.hpp"

#include "shm/shm_link.hpp"
#include "shm/shm_ring.hpp"
#include "src/created_name.hpp"
#include "src/rendezvous.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/orphans.hpp>
#include <courier/transports/owner.hpp>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <system_error>

namespace courier {

namespace bip = boost::interprocess;

namespace {

/// The setup frame: a magic, the ring capacity (native order, same host), the segment's
/// name; the four eventfds (ShmEvents order) travel as SCM_RIGHTS.
constexpr std::array<char, 8> setup_magic{'c', 's', 'h', 'm', '0', '0', '0', '1'};
constexpr std::size_t max_name_length = 80;

/// "name" of `shm:/name` (validated).
std::string base_name(const Endpoint& endpoint) {
    const std::string& address = endpoint.address;
    auto fail = [&](const std::string& why) {
        throw std::invalid_argument("invalid shm endpoint \"" + endpoint.to_string() +
                                    "\": " + why);
    };
    if (!address.starts_with('/')) fail("the name must start with '/' (shm:/name)");
    const std::string name = address.substr(1);
    if (name.empty()) fail("the name is empty");
    if (name.size() > max_name_length) {
        fail("the name is longer than " + std::to_string(max_name_length) + " bytes");
    }
    const bool ok = std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
    if (!ok) fail("a name may hold only letters, digits, '.', '_' and '-' after the '/'");
    return name;
}

[[noreturn]] void rethrow_as_system_error(const bip::interprocess_exception& e,
                                          const std::string& context) {
    const int code = e.get_native_error() != 0 ? e.get_native_error() : EIO;
    throw std::system_error(code, std::generic_category(), context + ": " + e.what());
}

/// Segments `<name>.<pid>@<start>.<n>` whose owner is gone: a listener killed between
/// creating a segment and handing it over. The creator clears its crashed predecessors'
/// leftovers.
void remove_leftovers(const std::string& name) {
    OrphanSearch search;
    search.base = name;
    search.only = Orphan::Kind::shared_memory;
    (void)remove_orphans(search);
}

detail::ShmEvents make_events() {
    detail::ShmEvents events;
    for (auto& event : events) {
        event = Fd(static_cast<int>(COURIER_SYSCALL(::eventfd, 0U, EFD_NONBLOCK | EFD_CLOEXEC)
                                        .value_or_throw("shm link eventfd")));
    }
    return events;
}

std::string describe(const Endpoint& endpoint, const std::string& segment, std::size_t capacity,
                     const std::string& control) {
    return endpoint.to_string() + " (segment /" + segment + ", rings of " +
           std::to_string(capacity) + " bytes; control " + control + ")";
}

std::unique_ptr<Link> accept_link(const Endpoint& endpoint, const std::string& base,
                                  const TransportOptions& options, detail::ControlChannel control) {
    static std::atomic<unsigned> counter{0};
    // The name records its owner: a leftover tells whose it was (orphans.hpp).
    const std::string name = owned_name(base, Owner::self(), ++counter);
    const std::size_t capacity = detail::shm_ring_capacity(options.size(ShmTransport::ring_size));
    detail::CreatedName created;  // removes the name if setting the link up fails
    bip::mapped_region region;
    try {
        bip::permissions owner_only;
        owner_only.set_permissions(0600);
        bip::shared_memory_object segment(bip::create_only, name.c_str(), bip::read_write,
                                          owner_only);
        created = detail::CreatedName(detail::NameKind::shared_memory, name);
        segment.truncate(static_cast<bip::offset_t>(detail::shm_segment_size(capacity)));
        region = bip::mapped_region(segment, bip::read_write);
    } catch (const bip::interprocess_exception& e) {
        rethrow_as_system_error(e, "create shared-memory segment /" + name + " of " +
                                       std::to_string(detail::shm_segment_size(capacity)) +
                                       " bytes");
    }
    auto* header = new (region.get_address()) detail::ShmSegmentHeader();
    header->ring_capacity = capacity;
    header->magic = detail::ShmSegmentHeader::expected_magic;

    auto events = make_events();
    std::vector<std::byte> setup(setup_magic.size() + sizeof(std::uint64_t) + name.size());
    const std::uint64_t capacity64 = capacity;
    std::memcpy(setup.data(), setup_magic.data(), setup_magic.size());
    std::memcpy(setup.data() + setup_magic.size(), &capacity64, sizeof(capacity64));
    std::memcpy(setup.data() + setup_magic.size() + sizeof(capacity64), name.data(), name.size());
    const std::array<int, 4> fds{events[0].get(), events[1].get(), events[2].get(),
                                 events[3].get()};
    control.send_setup(setup, fds);

    auto description = describe(endpoint, name, capacity, control.peer());
    // The connector removes the name once it has mapped the segment; the link removes it
    // too when it ends, in case the connector died first.
    return std::make_unique<detail::ShmLink>(std::move(control), std::move(region), 0,
                                             std::move(events), options, std::move(created),
                                             std::move(description));
}

}  // namespace

Capabilities ShmTransport::capabilities() noexcept {
    return Capabilities{.native_frame_limit = detail::shm_frame_limit,
                        .fd_passing = false,
                        .priorities = false,
                        .cross_host = false,
                        .memory_polling = true};
}

std::unique_ptr<Listener> ShmTransport::listen(const Endpoint& endpoint,
                                               const TransportOptions& options) {
    const std::string base = base_name(endpoint);
    auto listener = std::make_unique<detail::RendezvousListener>(
        endpoint, options, [endpoint, base, options](detail::ControlChannel control) {
            return accept_link(endpoint, base, options, std::move(control));
        });
    // Only now: a live listener on the same name made the line above throw.
    remove_leftovers(base);
    return listener;
}

std::unique_ptr<Link> ShmTransport::connect(const Endpoint& endpoint,
                                            const TransportOptions& options) {
    const std::string base = base_name(endpoint);
    auto connection = detail::rendezvous_connect(endpoint, options);
    auto& setup = connection.setup;
    const std::size_t fixed = setup_magic.size() + sizeof(std::uint64_t);
    if (setup.bytes.size() <= fixed ||
        std::memcmp(setup.bytes.data(), setup_magic.data(), setup_magic.size()) != 0 ||
        setup.fds.size() != 4) {
        throw LinkError(endpoint.to_string() + ": malformed shm setup frame (" +
                        std::to_string(setup.bytes.size()) + " bytes, " +
                        std::to_string(setup.fds.size()) + " descriptors)");
    }
    std::uint64_t capacity = 0;
    std::memcpy(&capacity, setup.bytes.data() + setup_magic.size(), sizeof(capacity));
    const std::string name(reinterpret_cast<const char*>(setup.bytes.data()) + fixed,
                           setup.bytes.size() - fixed);
    if (!name.starts_with(base + ".") || capacity != detail::shm_ring_capacity(capacity)) {
        throw LinkError(endpoint.to_string() + ": unexpected shm setup (segment \"" + name +
                        "\", ring of " + std::to_string(capacity) + " bytes)");
    }
    bip::mapped_region region;
    try {
        bip::shared_memory_object segment(bip::open_only, name.c_str(), bip::read_write);
        region = bip::mapped_region(segment, bip::read_write);
    } catch (const bip::interprocess_exception& e) {
        rethrow_as_system_error(e, "open shared-memory segment /" + name);
    }
    // Mapped: the name is no longer needed, and without it nothing can be left behind. The
    // listener made it and removes it too; whichever comes first does.
    (void)detail::remove_name(detail::NameKind::shared_memory, name);
    const auto* header = static_cast<const detail::ShmSegmentHeader*>(region.get_address());
    if (region.get_size() < detail::shm_segment_size(capacity) ||
        header->magic != detail::ShmSegmentHeader::expected_magic ||
        header->ring_capacity != capacity) {
        throw LinkError(endpoint.to_string() + ": shared-memory segment /" + name +
                        " does not match its setup frame");
    }
    detail::ShmEvents events;
    for (std::size_t i = 0; i < events.size(); ++i) events[i] = std::move(setup.fds[i]);
    auto description = describe(endpoint, name, capacity, connection.control.peer());
    return std::make_unique<detail::ShmLink>(std::move(connection.control), std::move(region), 1,
                                             std::move(events), options, detail::CreatedName(),
                                             std::move(description));
}

}  // namespace courier
