#include "registry/registry_client.hpp"

#include "registry/registry_dialer.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>
#include <courier/serialization/codec.hpp>

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

namespace courier {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// A reply as it arrived, decoded later by the caller that waits for it.
struct Answer {
    TypeId type = 0;
    std::vector<std::byte> payload;
};

/// A call failed because the connection broke (its send, or while waiting for the answer).
class ConnectionBroke : public RegistryError {
  public:
    using RegistryError::RegistryError;
};

}  // namespace

struct RegistryClient::Impl {
    RegistryDialer dialer;
    const RegistryOptions& options = dialer.options();
    std::unique_ptr<Link> link;
    /// Links of connections that broke: kept until the client goes, since a caller may
    /// still be sending on one as it is replaced.
    std::vector<std::unique_ptr<Link>> broken_links;
    Fd wake;
    Fd relinked;  ///< eventfd: relink() gave the parked reader a fresh link
    std::thread reader;
    std::atomic<std::uint64_t> next_correlation{1};

    std::mutex mutex;
    std::condition_variable answered;
    std::map<std::uint64_t, std::optional<Answer>> waiting;
    bool broken = false;
    std::string broken_reason;
    bool registered = false;     ///< a node registered: a break is then worth reconnecting
    bool reader_parked = false;  ///< the link broke before that: the reader waits for relink()
    std::function<void(const registry::NameDown&)> name_down_handler;
    std::function<void(const registry::NameUp&)> name_up_handler;
    std::function<void(const registry::GroupChange&)> group_change_handler;
    std::function<void(const registry::Inspect&)> inspect_handler;
    std::function<void(const std::string&)> disconnect_handler;
    std::function<void()> reconnect_handler;

    explicit Impl(RegistryOptions o)
        : dialer(std::move(o), "registry-client." + std::to_string(::getpid())) {}

    void start_reader() {
        for (Fd* event : {&wake, &relinked}) {
            auto made = COURIER_SYSCALL(::eventfd, 0u, EFD_CLOEXEC | EFD_NONBLOCK);
            if (!made.ok()) throw RegistryError(system_error_from(made).what());
            *event = Fd(static_cast<int>(made.value));
        }
        reader = std::thread([this] { read_loop(); });
    }

    // -- the reader thread ----------------------------------------------------------------

    /// Reads until the connection breaks; then, if the node asked for it (on_reconnect),
    /// connects again (starting a courierd if none runs) until it can or the client closes.
    void read_loop() {
        for (;;) {
            const std::string reason = read_until_broken();
            if (reason.empty()) return;  // closing
            std::function<void(const std::string&)> handler;
            bool again = false;
            bool before_registering = false;
            {
                std::lock_guard lock(mutex);
                broken = true;
                broken_reason = reason;
                handler = disconnect_handler;
                again = static_cast<bool>(reconnect_handler);
                before_registering = reader_parked = !registered;
            }
            answered.notify_all();
            if (handler) handler(reason);
            if (before_registering) {
                // Nothing of ours to restore, and reconnecting now would start a courierd
                // that nobody may need: the next register_node() connects (relink()).
                const Unparked how = wait_relinked();
                if (how == Unparked::closing) return;
                if (how == Unparked::relinked) continue;
                // Unparked::registered: the answer came just before the break.
            }
            if (!again || !reconnect()) return;
        }
    }

    /// Connects again, pausing between tries; false when the client closes first.
    bool reconnect() {
        constexpr milliseconds pause{100};
        for (;;) {
            try {
                auto fresh = dialer.establish();
                std::function<void()> handler;
                {
                    std::lock_guard lock(mutex);
                    broken_links.push_back(std::move(link));
                    link = std::move(fresh);
                    broken = false;
                    handler = reconnect_handler;
                }
                log().info("courier registry client: connected to the registry again");
                if (handler) handler();
                return true;
            } catch (const RegistryError& e) {
                log().debug("courier registry client: cannot reconnect yet: {}", e.what());
            }
            pollfd p{wake.get(), POLLIN, 0};
            const auto woken =
                COURIER_SYSCALL(::poll, &p, nfds_t{1}, static_cast<int>(pause.count()));
            if (woken.ok() && woken.value > 0) return false;  // closing
        }
    }

    enum class Unparked { relinked, registered, closing };
    /// Parks the reader until relink() gives it a fresh link, or the registration it
    /// broke after turns out to have been answered (registered()), or the client closes.
    Unparked wait_relinked() {
        pollfd p[2] = {{relinked.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
        while (!COURIER_SYSCALL(::poll, p, nfds_t{2}, -1).ok()) continue;  // EINTR
        if (p[1].revents != 0) return Unparked::closing;
        std::uint64_t count = 0;
        (void)COURIER_SYSCALL(::read, relinked.get(), &count, sizeof count);
        std::lock_guard lock(mutex);  // then the link relink() set is the one read
        if (!reader_parked) return Unparked::relinked;
        reader_parked = false;
        return Unparked::registered;
    }

    /// A registration went through: from now on a break is worth reconnecting, and a
    /// reader parked by a break just after it reconnects now.
    void registered_now() {
        bool parked = false;
        {
            std::lock_guard lock(mutex);
            registered = true;
            parked = reader_parked;
        }
        std::uint64_t one = 1;
        if (parked) (void)COURIER_SYSCALL(::write, relinked.get(), &one, sizeof one);
    }

    /// Before the first registration, after the connection broke: connects again (starting
    /// courierd if allowed) and hands the new link to the parked reader. False if the
    /// reader does not park within the timeout (the connection had not broken after all).
    bool relink() {
        {
            std::unique_lock lock(mutex);
            if (!answered.wait_for(lock, options.timeout, [&] { return reader_parked; }))
                return false;
        }
        auto fresh = dialer.establish();
        {
            std::lock_guard lock(mutex);
            broken_links.push_back(std::move(link));
            link = std::move(fresh);
            broken = false;
            reader_parked = false;
        }
        std::uint64_t one = 1;
        (void)COURIER_SYSCALL(::write, relinked.get(), &one, sizeof one);
        log().debug(
            "courier registry client: the registry closed the connection before we "
            "registered; connected again");
        return true;
    }

    /// One connection's frames, dispatched; returns why it broke ("" when closing).
    std::string read_until_broken() {
        std::vector<Frame> frames;
        std::string reason;
        for (;;) {
            pollfd p[2] = {{link->poll_fd(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
            if (auto ready = COURIER_SYSCALL(::poll, p, nfds_t{2}, -1); !ready.ok()) {
                reason = system_error_from(ready).what();
                break;
            }
            if (p[1].revents != 0) return {};  // closing: no disconnect notice
            frames.clear();
            ReceiveStatus status;
            try {
                status = link->receive(frames);
            } catch (const std::exception& e) {
                status = {ReceiveStatus::State::failed, e.what()};
            }
            for (const auto& frame : frames) dispatch(frame);
            if (status.state == ReceiveStatus::State::closed) {
                reason = "the courier registry closed the connection";
                break;
            }
            if (status.state == ReceiveStatus::State::failed) {
                reason = "the connection to the courier registry failed: " + status.reason;
                break;
            }
        }
        return reason;
    }

    void dispatch(const Frame& frame) {
        auto envelope = decode_envelope(frame.data());
        if (!envelope) {
            log().warn("courier registry client: ignoring a bad frame from the registry: {}",
                       envelope.error().message);
            return;
        }
        const EnvelopeHeader& h = envelope->header;
        if ((h.flags & envelope_flags::reply) != 0) {
            {
                std::lock_guard lock(mutex);
                auto it = waiting.find(h.correlation);
                if (it == waiting.end()) return;  // its caller gave up waiting
                it->second = Answer{h.type, {envelope->payload.begin(), envelope->payload.end()}};
            }
            answered.notify_all();
            return;
        }
        if (h.type == type_id_of<registry::NameDown>())
            notify(envelope->payload, &Impl::name_down_handler);
        else if (h.type == type_id_of<registry::NameUp>())
            notify(envelope->payload, &Impl::name_up_handler);
        else if (h.type == type_id_of<registry::GroupChange>())
            notify(envelope->payload, &Impl::group_change_handler);
        else if (h.type == type_id_of<registry::Inspect>())
            notify(envelope->payload, &Impl::inspect_handler);
    }

    /// Hands an unsolicited notice to its handler, if it decodes and one is set.
    template <class Notice>
    void notify(std::span<const std::byte> payload,
                std::function<void(const Notice&)> Impl::*handler_member) {
        auto notice = decode_payload<Notice>(payload);
        if (!notice) return;
        std::function<void(const Notice&)> handler;
        {
            std::lock_guard lock(mutex);
            handler = this->*handler_member;
        }
        if (handler) handler(*notice);
    }

    // -- calls ----------------------------------------------------------------------------

    template <class Reply, class Request>
    Reply call(const Request& request, milliseconds extra = milliseconds{0}) {
        const std::uint64_t correlation = next_correlation++;
        const std::string what(type_name_of<Request>());
        {
            std::lock_guard lock(mutex);
            if (broken) throw ConnectionBroke(broken_reason);
            waiting.emplace(correlation, std::nullopt);
        }
        Link* current = nullptr;
        {
            std::lock_guard lock(mutex);
            current = link.get();  // replaced only under the lock, and kept (broken_links)
        }
        try {
            current->send(dialer.request_frame(correlation, request));
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex);
            waiting.erase(correlation);
            throw ConnectionBroke("cannot send " + what + " to the courier registry: " + e.what());
        }
        std::unique_lock lock(mutex);
        auto slot = waiting.find(correlation);
        answered.wait_until(lock, Clock::now() + options.timeout + extra,
                            [&] { return slot->second.has_value() || broken; });
        std::optional<Answer> answer = std::move(slot->second);
        waiting.erase(slot);
        if (!answer) {
            if (broken) throw ConnectionBroke(broken_reason);
            throw RegistryError("the courier registry did not answer " + what + " within " +
                                std::to_string((options.timeout + extra).count()) + " ms");
        }
        lock.unlock();
        if (answer->type != type_id_of<Reply>())
            throw RegistryError("the courier registry answered " + what +
                                " with an unexpected type");
        auto reply = decode_payload<Reply>(answer->payload);
        if (!reply)
            throw RegistryError("the courier registry's answer to " + what +
                                " does not decode: " + reply.error().message);
        return std::move(*reply);
    }

    void close() noexcept {
        if (reader.joinable()) {
            std::uint64_t one = 1;
            (void)COURIER_SYSCALL(::write, wake.get(), &one, sizeof one);
            reader.join();
        }
        link.reset();
    }
};

RegistryClient::RegistryClient(RegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->link = impl_->dialer.establish();
    impl_->start_reader();
}

RegistryClient::~RegistryClient() {
    impl_->close();
}

registry::Status RegistryClient::register_node(const std::string& node,
                                               const std::vector<std::string>& endpoints) {
    const registry::RegisterNode request{node, ::getpid(), endpoints};
    auto registered = [this](const registry::Status& status) {
        if (status.ok) impl_->registered_now();
        return status;
    };
    try {
        return registered(impl_->call<registry::Status>(request));
    } catch (const ConnectionBroke&) {
        bool first = false;
        {
            std::lock_guard lock(impl_->mutex);
            first = !impl_->registered;
        }
        if (!first || !impl_->relink()) throw;
    }
    return registered(impl_->call<registry::Status>(request));
}

registry::Status RegistryClient::register_name(const std::string& name) {
    return impl_->call<registry::Status>(registry::RegisterName{name});
}

registry::Status RegistryClient::unregister_name(const std::string& name) {
    return impl_->call<registry::Status>(registry::UnregisterName{name});
}

registry::Location RegistryClient::lookup(const std::string& name, std::chrono::milliseconds wait) {
    if (wait.count() < 0) wait = milliseconds{0};
    return impl_->call<registry::Location>(registry::Lookup{name, wait.count()}, wait);
}

registry::Location RegistryClient::watch(const std::string& name) {
    return impl_->call<registry::Location>(registry::Watch{name});
}

registry::NodeList RegistryClient::list_nodes() {
    return impl_->call<registry::NodeList>(registry::ListNodes{});
}

registry::Status RegistryClient::join_group(const std::string& group, const std::string& member) {
    return impl_->call<registry::Status>(registry::JoinGroup{group, member});
}

registry::Status RegistryClient::leave_group(const std::string& group, const std::string& member) {
    return impl_->call<registry::Status>(registry::LeaveGroup{group, member});
}

registry::GroupList RegistryClient::list_group(const std::string& group) {
    return impl_->call<registry::GroupList>(registry::ListGroup{group});
}

registry::GroupList RegistryClient::watch_group(const std::string& group) {
    return impl_->call<registry::GroupList>(registry::WatchGroup{group});
}

registry::Status RegistryClient::unwatch_group(const std::string& group) {
    return impl_->call<registry::Status>(registry::UnwatchGroup{group});
}

registry::GroupDirectory RegistryClient::list_groups() {
    return impl_->call<registry::GroupDirectory>(registry::ListGroups{});
}

registry::HostAddress RegistryClient::lookup_host(const std::string& host) {
    return impl_->call<registry::HostAddress>(registry::LookupHost{host});
}

registry::Inspection RegistryClient::inspect_node(const std::string& node) {
    return impl_->call<registry::Inspection>(registry::InspectNode{node});
}

registry::Status RegistryClient::answer_inspection(std::uint64_t ask, const LinkList& list) {
    return impl_->call<registry::Status>(registry::Inspected{ask, list});
}

void RegistryClient::on_inspect(std::function<void(const registry::Inspect&)> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->inspect_handler = std::move(handler);
}

void RegistryClient::on_group_change(std::function<void(const registry::GroupChange&)> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->group_change_handler = std::move(handler);
}

void RegistryClient::on_name_down(std::function<void(const registry::NameDown&)> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->name_down_handler = std::move(handler);
}

void RegistryClient::on_name_up(std::function<void(const registry::NameUp&)> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->name_up_handler = std::move(handler);
}

void RegistryClient::on_disconnect(std::function<void(const std::string& reason)> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->disconnect_handler = std::move(handler);
}

void RegistryClient::on_reconnect(std::function<void()> handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->reconnect_handler = std::move(handler);
}

const std::filesystem::path& RegistryClient::runtime_dir() const noexcept {
    return impl_->dialer.runtime_dir();
}

}  // namespace courier
