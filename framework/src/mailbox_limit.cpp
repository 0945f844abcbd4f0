// Mailbox limits: the names of the overflow policies, how an actor's cell slows the
// senders of a full mailbox (threads waiting for room, actors parked) and lets them go,
// drop_oldest's dropping, and parking an actor on a link's credit. Which letters a full
// mailbox takes is decided where letters come in (actor_cell.cpp).
#include <courier/framework/mailbox_limit.hpp>

#include "actor_cell.hpp"
#include "node_core.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace courier {

namespace {
constexpr std::array<std::pair<Overflow, std::string_view>, 4> words{{
    {Overflow::block, "block"},
    {Overflow::fail, "fail"},
    {Overflow::drop_newest, "drop_newest"},
    {Overflow::drop_oldest, "drop_oldest"},
}};
}  // namespace

std::string_view to_string(Overflow overflow) noexcept {
    for (const auto& [each, word] : words)
        if (each == overflow) return word;
    return "unknown";
}

std::optional<Overflow> overflow_named(std::string_view word) noexcept {
    for (const auto& [each, name] : words)
        if (name == word) return each;
    return std::nullopt;
}

}  // namespace courier

namespace courier::detail {

void ActorCell::note_depth() noexcept {
    const auto depth = mailbox_.depth();
    auto seen = high_water_.load(std::memory_order_relaxed);
    while (depth > seen && !high_water_.compare_exchange_weak(seen, depth)) {
    }
}

void ActorCell::limit_mailbox(const MailboxLimit& limit) {
    {
        std::lock_guard lock(room_mutex_);
        limit_ = limit;
    }
    mailbox_.set_limit(limit.letters, limit.bytes);
    overflow_.store(limit.overflow, std::memory_order_relaxed);
    let_senders_go();  // a larger limit may have room for them now
}

bool ActorCell::wait_for_room(std::chrono::milliseconds timeout) {
    if (overflow_.load(std::memory_order_relaxed) != Overflow::block || !mailbox_.full())
        return true;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    bool room = true;
    {
        std::unique_lock lock(room_mutex_);
        for (;;) {
            if (closed.load()) break;  // the letter bounces as `stopped`
            senders_slowed_.store(true, std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_seq_cst);  // with let_senders_go's
            if (!mailbox_.full()) break;
            if (parked_.load()) {  // it must drain for us: let it run
                lock.unlock();
                unpark();
                lock.lock();
                continue;
            }
            if (room_.wait_until(lock, deadline) == std::cv_status::timeout) {
                room = !mailbox_.full();
                break;
            }
        }
    }
    blocked_ns_ += static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::steady_clock::now() - start)
                                                  .count());
    return room;
}

void ActorCell::let_senders_go(bool all) {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // with park's and wait_for_room's
    if (!senders_slowed_.load(std::memory_order_relaxed)) return;
    if (!all && !mailbox_.half_empty()) return;
    std::vector<std::weak_ptr<ActorCell>> parked;
    {
        std::lock_guard lock(room_mutex_);
        senders_slowed_.store(false, std::memory_order_relaxed);
        parked.swap(parked_senders_);
    }
    room_.notify_all();  // waiting threads look again, and wait again if need be
    for (const auto& each : parked)
        if (auto cell = each.lock()) cell->unpark();
}

bool ActorCell::park(const std::shared_ptr<ActorCell>& sender) {
    // An actor others wait on is never parked: it must drain for them (so a cycle of
    // actors flooding each other cannot all wait). Nor one of a node that hurries to stop.
    if (sender->mailbox_.full() || sender->senders_slowed_.load() || node.hurried()) return false;
    std::lock_guard lock(room_mutex_);
    if (closed.load()) return false;
    sender->parked_on_ = weak_from_this();
    sender->parked_at_ = std::chrono::steady_clock::now();
    sender->parked_.store(true);  // seq_cst: before the looks below
    parked_senders_.push_back(sender);
    senders_slowed_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // with let_senders_go's
    // Drained meanwhile, or someone came to wait on the sender (wait_for_room and park
    // look at its parked_ after setting its senders_slowed_): no need, or no right, to wait.
    if (mailbox_.half_empty() || sender->senders_slowed_.load() || sender->mailbox_.full()) {
        // Unless someone unparked it already: then it is scheduled, and theirs to run.
        if (!sender->parked_.exchange(false)) return true;
        parked_senders_.pop_back();
        return false;
    }
    // A parked mailbox with a sender waiting on it runs, to drain.
    if (parked_.load()) unpark();
    return true;
}

bool ActorCell::below_twice_the_limit() const {
    std::lock_guard lock(room_mutex_);
    return mailbox_.depth() < 2 * limit_.letters && mailbox_.held_bytes() < 2 * limit_.bytes;
}

bool ActorCell::dropped_oldest(Letter& letter) {
    if (is_framework_letter(letter) || letter.is_reply()) return false;  // never dropped
    drop_due_.fetch_sub(1, std::memory_order_relaxed);
    const std::string why = "the mailbox of '" + actor_name + "' is full (overflow drop_oldest)";
    if (letter.is_request()) {  // refused: its requester would wait out its timeout
        ++refused_;
        node.dead_letter(letter, ErrorCode::mailbox_full, why);
    } else {
        ++dropped_;
        node.dead_letter(letter, ErrorCode::mailbox_full, why + ": dropped, the oldest",
                         /*bounce=*/false);
    }
    return true;
}

bool ActorCell::park_for_credit(const std::shared_ptr<PeerLink>& link) {
    // Never an actor others wait on. Nor while the peer node is short of the credit this
    // node grants it: this actor may hold the letters whose taking would grant it (two
    // actors flooding each other across processes must not both wait).
    if (mailbox_.full() || senders_slowed_.load() || node.hurried() ||
        node.peers().waits_on_us(*link))
        return false;
    parked_on_.reset();  // its time waiting is the link's (LinkInfo::blocked_us)
    parked_.store(true);
    // Letters that make the peer wait on us may come as it parks: the receiving thread
    // counts them before it looks for parked actors (Peers::receive), and this looks
    // again after it is seen parked.
    if (link->credit.park(weak_from_this()) && !node.peers().waits_on_us(*link)) return true;
    // Not parked after all. Unless someone unparked it already: then it is scheduled, and
    // theirs to run. (An entry left in the link's list unparks nothing that is not parked.)
    return !parked_.exchange(false);
}

void ActorCell::unpark() {
    if (!parked_.exchange(false)) return;
    if (auto target = parked_on_.lock())
        target->blocked_ns_ +=
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - parked_at_)
                                           .count());
    node.scheduler().schedule(shared_from_this());
}

MailboxStats ActorCell::mailbox_stats() const {
    MailboxStats stats;
    stats.name = actor_name;
    stats.depth = mailbox_.depth();
    stats.high_water = std::max({high_water_.load(), mailbox_.high_water(), stats.depth});
    {
        std::lock_guard lock(room_mutex_);
        stats.limit = limit_;
    }
    stats.blocked_us = blocked_ns_.load() / 1000;
    stats.refused = refused_.load();
    stats.dropped = dropped_.load();
    return stats;
}

}  // namespace courier::detail
