#include "link_credit.hpp"

#include "actor_cell.hpp"

#include <algorithm>
#include <iterator>

namespace courier::detail {

namespace {
using Clock = std::chrono::steady_clock;

std::uint64_t nanoseconds_since(Clock::time_point start) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}
}  // namespace

// ---- Sending ---------------------------------------------------------------------------

bool LinkCredit::take_credit(std::size_t bytes) noexcept {
    // Counted first and given back on failure: two senders never both take the last
    // letter's credit. A letter may go if it starts within the bytes granted.
    const auto letters = sent_letters_.fetch_add(1, std::memory_order_acq_rel);
    const auto start = sent_bytes_.fetch_add(bytes, std::memory_order_acq_rel);
    if (letters < allowed_letters_.load(std::memory_order_acquire) &&
        start < allowed_bytes_.load(std::memory_order_acquire))
        return true;
    sent_letters_.fetch_sub(1, std::memory_order_acq_rel);
    sent_bytes_.fetch_sub(bytes, std::memory_order_acq_rel);
    return false;
}

bool LinkCredit::has_credit() const noexcept {
    return sent_letters_.load(std::memory_order_acquire) <
               allowed_letters_.load(std::memory_order_acquire) &&
           sent_bytes_.load(std::memory_order_acquire) <
               allowed_bytes_.load(std::memory_order_acquire);
}

bool LinkCredit::hold(Held&& held) {
    std::lock_guard lock(mutex_);
    queued_.store(true, std::memory_order_release);
    // Behind every letter of its priority or higher: an urgent letter overtakes the
    // ordinary ones waiting, letters of one priority keep their order. Looked for from
    // the back: most letters have the priority of the last one.
    const auto front = outbox_.begin() + static_cast<std::ptrdiff_t>(outbox_head_);
    auto at = outbox_.end();
    while (at != front && std::prev(at)->priority < held.priority) --at;
    outbox_.insert(at, std::move(held));
    return has_credit();
}

bool LinkCredit::granted(const Credit& grant) {
    std::lock_guard lock(mutex_);
    // Cumulative: the larger count wins, whatever order grants come in.
    if (grant.letters > allowed_letters_.load(std::memory_order_relaxed))
        allowed_letters_.store(grant.letters, std::memory_order_release);
    if (grant.bytes > allowed_bytes_.load(std::memory_order_relaxed))
        allowed_bytes_.store(grant.bytes, std::memory_order_release);
    if (!has_credit()) return false;
    room_.notify_all();  // threads waiting for credit (wait) look again
    return outbox_size() != 0;
}

void LinkCredit::sendable(std::vector<Held>& go) {
    go.clear();
    std::lock_guard lock(mutex_);
    while (outbox_size() != 0 && take_credit(outbox_[outbox_head_].frame.size()))
        go.push_back(std::move(outbox_[outbox_head_++]));
    // The letters taken are moved-from shells: dropped once they are half the vector, and
    // the vector's memory too when a burst made it large.
    constexpr std::size_t kept = 1024;
    if (outbox_size() == 0) {
        if (outbox_.capacity() > kept)
            std::vector<Held>().swap(outbox_);
        else
            outbox_.clear();
        outbox_head_ = 0;
    } else if (outbox_head_ * 2 >= outbox_.size()) {
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(outbox_head_));
        outbox_head_ = 0;
    }
}

void LinkCredit::drained() {
    decltype(parked_) parked;
    {
        std::lock_guard lock(mutex_);
        if (outbox_size() != 0) return;  // the rest waits for the next grant
        queued_.store(false, std::memory_order_release);
        parked.swap(parked_);
        parked_count_.store(0, std::memory_order_relaxed);
        room_.notify_all();
    }
    let_go(std::move(parked));
}

bool LinkCredit::park(std::weak_ptr<ActorCell> cell) {
    std::lock_guard lock(mutex_);
    if (closed_ || outbox_size() == 0) return false;
    parked_.emplace_back(std::move(cell), Clock::now());
    parked_count_.store(parked_.size());  // seq_cst: before the caller looks at the peer again
    return true;
}

void LinkCredit::release_parked() {
    decltype(parked_) parked;
    {
        std::lock_guard lock(mutex_);
        parked.swap(parked_);
        parked_count_.store(0, std::memory_order_relaxed);
    }
    let_go(std::move(parked));
}

void LinkCredit::let_go(decltype(parked_) parked) {
    for (const auto& [each, since] : parked) {
        blocked_ns_.fetch_add(nanoseconds_since(since), std::memory_order_relaxed);
        if (auto cell = each.lock()) cell->unpark();
    }
}

bool LinkCredit::wait(std::chrono::milliseconds timeout) {
    if (!queued_.load(std::memory_order_acquire) && has_credit()) return true;
    const auto start = Clock::now();
    bool room = false;
    {
        std::unique_lock lock(mutex_);
        room = room_.wait_until(lock, start + timeout, [&] {
            return closed_ || (!queued_.load(std::memory_order_relaxed) && has_credit());
        });
    }
    blocked_ns_.fetch_add(nanoseconds_since(start), std::memory_order_relaxed);
    return room;
}

std::vector<LinkCredit::Held> LinkCredit::close() {
    std::vector<Held> held;
    decltype(parked_) parked;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        held.assign(
            std::make_move_iterator(outbox_.begin() + static_cast<std::ptrdiff_t>(outbox_head_)),
            std::make_move_iterator(outbox_.end()));
        outbox_.clear();
        outbox_head_ = 0;
        parked.swap(parked_);
        parked_count_.store(0, std::memory_order_relaxed);
        room_.notify_all();
    }
    let_go(std::move(parked));
    return held;
}

// ---- Receiving -------------------------------------------------------------------------

void LinkCredit::arrived(std::uint64_t letters) noexcept {
    // seq_cst: before the receiving thread looks for parked actors (park).
    arrived_.fetch_add(letters);
}

bool LinkCredit::peer_waits() const noexcept {
    return arrived_.load() + window_.letters / 4 >= granted_letters_.load();
}

std::optional<Credit> LinkCredit::consumed(std::uint64_t letters, std::uint64_t bytes) {
    auto due = [&] {
        // A quarter of the window taken since the last grant: one grant frame per quarter.
        return consumed_letters_.load(std::memory_order_relaxed) + window_.letters >=
                   granted_letters_.load(std::memory_order_relaxed) + window_.letters / 4 ||
               consumed_bytes_.load(std::memory_order_relaxed) + window_.bytes >=
                   granted_bytes_.load(std::memory_order_relaxed) + window_.bytes / 4;
    };
    consumed_letters_.fetch_add(letters, std::memory_order_relaxed);
    consumed_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (!due()) return std::nullopt;
    std::lock_guard lock(grant_mutex_);
    if (!due()) return std::nullopt;  // another thread granted it
    // Raised before the grant leaves: the peer can never have sent more than this says.
    const Credit grant{
        std::max(granted_letters_.load(), consumed_letters_.load() + window_.letters),
        std::max(granted_bytes_.load(), consumed_bytes_.load() + window_.bytes)};
    granted_letters_.store(grant.letters, std::memory_order_release);
    granted_bytes_.store(grant.bytes, std::memory_order_release);
    return grant;
}

LinkCredit::Stats LinkCredit::stats() const {
    Stats stats;
    const auto sent = sent_letters_.load(), allowed = allowed_letters_.load();
    stats.credit = allowed > sent ? allowed - sent : 0;
    {
        std::lock_guard lock(mutex_);
        stats.outbox = outbox_size();
    }
    const auto arrived = arrived_.load(), taken = consumed_letters_.load();
    stats.unreturned = arrived > taken ? arrived - taken : 0;
    stats.blocked_us = blocked_ns_.load() / 1000;
    return stats;
}

}  // namespace courier::detail
