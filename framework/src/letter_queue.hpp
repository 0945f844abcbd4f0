#pragma once
/// @file
/// A mailbox's letters: any thread pushes, one reader (the worker running the actor)
/// takes, in the order the pushes took place. Senders and reader write different cache
/// lines: the senders append under a lock that only senders take and publish each letter
/// with a flag in its own slot; the reader looks at that flag and nothing else of theirs.
/// (A lock shared with the reader, taken for every push and for every batch the reader
/// swapped out, pulled its cache line back and forth on every letter when the reader kept
/// up: about a third of an in-process send.)

#include <courier/spin_lock.hpp>

#include <courier/framework/detail/letter.hpp>

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <utility>

namespace courier::detail {

/// The queue counts what it holds against a limit (MailboxLimit): letters, and bytes of
/// letters that came over links (Letter::bytes). Senders decide under their lock from
/// what the reader last took as far as they know (an estimate that only overstates what
/// is held); only a queue that looks full makes them read the reader's counters, so a
/// queue with room costs its senders nothing more.
///
/// Letters with a priority above 0 go in lanes of their own, one FIFO per priority, which
/// the reader empties first, highest first: an urgent letter overtakes the letters of
/// lower priority already queued, and letters of one priority keep their order. They are
/// rare: the lanes live under the senders' lock, and the reader looks at a count of them,
/// on a line of its own, before each letter of the fast FIFO.
///
/// The queue also decides who runs the actor: the reader *holds* the queue until it
/// finds it empty and goes to sleep (`sleep`); the push that finds it asleep wakes it and
/// hands the caller the reader's part (it schedules the actor, or bounces the letters of a
/// stopped one). Both happen under the senders' lock, so a letter is never left behind by
/// a reader that went to sleep as it arrived. A new queue is held by its creator.
class LetterQueue {
  public:
    LetterQueue();
    ~LetterQueue();  ///< destroys the letters left
    LetterQueue(const LetterQueue&) = delete;
    LetterQueue& operator=(const LetterQueue&) = delete;

    // ---- senders (any thread) ----

    /// Whether a letter goes in when the queue is full.
    enum class Admit : std::uint8_t {
        always,       ///< in whatever it holds (Overflow::block, the framework's letters)
        below_limit,  ///< refused at the limit (Overflow::fail, drop_newest)
    };
    /// What a push did.
    struct Pushed {
        bool woke = false;     ///< the queue was asleep: the caller holds it now
        bool full = false;     ///< it was at its limit when the letter came
        bool refused = false;  ///< so the letter was not appended (see Admit)
    };

    /// Appends the letter, to its priority's lane if above 0 (unless refused: then it is
    /// left to the caller).
    Pushed push(Letter&& letter, Admit admit = Admit::always) {
        std::lock_guard lock(senders_.lock);
        Pushed pushed;
        pushed.full = at_limit(letter.bytes, admit);
        if (pushed.full && refuses(admit)) {
            pushed.refused = true;
            return pushed;
        }
        if (letter.priority != 0) [[unlikely]]
            append_urgent(std::move(letter));
        else
            append(std::move(letter));
        pushed.woke = wake();
        return pushed;
    }
    /// Builds a letter of `bytes` in its slot with `fill(Letter&)` (given a fresh letter)
    /// and appends it, so that no letter is moved; as push (refused: `fill` does not run).
    /// `fill` runs under the senders' lock. If it throws, nothing is appended and the
    /// exception goes to the caller.
    template <class Fill>
    Pushed push_built(std::uint32_t bytes, Admit admit, Fill&& fill) {
        std::lock_guard lock(senders_.lock);
        Pushed pushed;
        pushed.full = at_limit(bytes, admit);
        if (pushed.full && refuses(admit)) {
            pushed.refused = true;
            return pushed;
        }
        if (senders_.count == segment_letters) add_segment();
        Slot& slot = senders_.tail->slots[senders_.count];
        // Default-initialized: `Letter()` would zero all its bytes first, a store to every
        // cache line of the slot before the fields are written anyway.
        Letter* letter = ::new (static_cast<void*>(slot.storage)) Letter;
        try {
            fill(*letter);
        } catch (...) {
            std::destroy_at(letter);
            throw;
        }
        letter->bytes = bytes;
        counted(bytes);
        ++senders_.count;
        slot.ready.store(true, std::memory_order_release);
        pushed.woke = wake();
        return pushed;
    }

    /// Sets the limit; any thread.
    void set_limit(std::size_t letters, std::size_t bytes) {
        std::lock_guard lock(senders_.lock);
        senders_.max_letters = letters;
        senders_.max_bytes = bytes;
    }
    /// Letters in the queue now (taken ones excepted), and their bytes; any thread.
    std::size_t depth() const noexcept {
        return static_cast<std::size_t>(senders_.pushed.load(std::memory_order_acquire) -
                                        reader_.taken.load(std::memory_order_acquire));
    }
    std::size_t held_bytes() const noexcept {
        return static_cast<std::size_t>(senders_.pushed_bytes.load(std::memory_order_acquire) -
                                        reader_.taken_bytes.load(std::memory_order_acquire));
    }
    /// The most letters held, as senders found when they looked (at the limit). Any thread.
    std::size_t high_water() const noexcept {
        return static_cast<std::size_t>(senders_.high_water.load(std::memory_order_relaxed));
    }
    /// At its limit (of letters or of bytes). Any thread.
    bool full() const noexcept {
        std::lock_guard lock(senders_.lock);
        return depth() >= senders_.max_letters || held_bytes() >= senders_.max_bytes;
    }
    /// At most half full (of both limits): room enough to let slowed senders go on
    /// without waking them for each letter taken. Any thread.
    bool half_empty() const noexcept {
        std::lock_guard lock(senders_.lock);
        return depth() <= senders_.max_letters / 2 && held_bytes() <= senders_.max_bytes / 2;
    }

    // ---- the holder only ----

    /// The next letter, or null when none has arrived. It stays valid, for the holder to
    /// handle in place, until the next take() that finds a letter, or sleep(): the reader
    /// writes nothing into a slot (destroying its letter, clearing its flag) while a sender
    /// may be writing the next one beside it on the same cache line.
    Letter* take() noexcept {
        if (urgent_.load(std::memory_order_acquire) != 0) [[unlikely]]
            return take_urgent();
        if (reader_.next == segment_letters) {
            Segment* next = reader_.head->next.load(std::memory_order_acquire);
            if (!next) return nullptr;
            drop_taken();
            retire(std::exchange(reader_.head, next));
            reader_.next = reader_.dropped = 0;
        }
        Slot& slot = reader_.head->slots[reader_.next];
        if (!slot.ready.load(std::memory_order_acquire)) return nullptr;
        // The letters handled before this one are destroyed now, so that what they hold
        // (a MiB in a Bytes) goes back while the mailbox still has letters, not when its
        // segment is used up. Only once a sender has finished this slot: senders now
        // write the slots after it, with which those before it share no cache line.
        drop_taken();
        ++reader_.next;
        Letter* letter = slot.letter();
        count_taken(*letter);
        return letter;
    }
    /// No letter to take now.
    bool empty() const noexcept {
        if (urgent_.load(std::memory_order_acquire) != 0) return false;
        const Slot* slot;
        if (reader_.next < segment_letters) {
            slot = &reader_.head->slots[reader_.next];
        } else {
            const Segment* next = reader_.head->next.load(std::memory_order_acquire);
            if (!next) return true;
            slot = &next->slots[0];
        }
        return !slot->ready.load(std::memory_order_acquire);
    }
    /// Destroys the letters taken, and goes to sleep unless letters have arrived; true when
    /// it did (the next push wakes it).
    bool sleep() noexcept;

    /// Letters per segment. Segments are allocated as the queue first needs them and then
    /// go round between the reader, who used them up, and the senders.
    static constexpr std::size_t segment_letters = 32;
    /// The memory one segment takes.
    static std::size_t segment_bytes() noexcept;

  private:
    struct Slot {
        std::atomic<bool> ready{false};  ///< a letter is in `storage`, for the reader
        alignas(Letter) unsigned char storage[sizeof(Letter)];
        Letter* letter() noexcept { return std::launder(reinterpret_cast<Letter*>(storage)); }
    };
    // A slot spans more than a cache line: the slots before the one a sender last
    // finished share none with those it writes next (take()).
    static_assert(sizeof(Slot) > 64);
    struct Segment {
        std::atomic<Segment*> next{nullptr};  ///< set by the sender that filled this one
        Slot slots[segment_letters];
    };

    void append(Letter&& letter) {
        if (senders_.count == segment_letters) add_segment();
        counted(letter.bytes);
        Slot& slot = senders_.tail->slots[senders_.count++];
        ::new (static_cast<void*>(slot.storage)) Letter(std::move(letter));
        slot.ready.store(true, std::memory_order_release);
    }
    /// The reader took `letter`. Only the reader writes these: a plain add, published for
    /// the senders' limit.
    void count_taken(const Letter& letter) noexcept {
        reader_.taken.store(reader_.taken.load(std::memory_order_relaxed) + 1,
                            std::memory_order_release);
        if (letter.bytes != 0)
            reader_.taken_bytes.store(
                reader_.taken_bytes.load(std::memory_order_relaxed) + letter.bytes,
                std::memory_order_release);
    }
    /// Into its priority's lane (under the senders' lock).
    void append_urgent(Letter&& letter);
    /// The first letter of the highest lane, moved out for the reader to handle.
    Letter* take_urgent() noexcept;
    /// A letter of `bytes` goes in (under the senders' lock; only senders write these).
    void counted(std::uint32_t bytes) noexcept {
        senders_.pushed.store(senders_.pushed.load(std::memory_order_relaxed) + 1,
                              std::memory_order_release);
        if (bytes != 0)
            senders_.pushed_bytes.store(
                senders_.pushed_bytes.load(std::memory_order_relaxed) + bytes,
                std::memory_order_release);
    }
    /// Full before a letter of `bytes` goes in (under the senders' lock): at the letter
    /// limit, or past the byte limit with it unless empty of bytes. Reads the reader's
    /// counters only when the estimate says full.
    ///
    /// A queue found full that takes every letter anyway (Admit::always, a flood over a
    /// link) would make each push read the reader's line: it is said full without a look
    /// for the next `full_recheck` letters. The rest of the time the look is exact, and
    /// what it finds raises the high-water mark.
    bool at_limit(std::uint32_t bytes, Admit admit) noexcept {
        const auto pushed = senders_.pushed.load(std::memory_order_relaxed);
        const auto full = [&] {
            const auto letters = pushed - senders_.taken_seen;
            const auto held =
                senders_.pushed_bytes.load(std::memory_order_relaxed) - senders_.taken_bytes_seen;
            return letters >= senders_.max_letters ||
                   (held != 0 && held + bytes > senders_.max_bytes);
        };
        if (!full()) return false;
        if (admit == Admit::always && pushed < senders_.full_until) return true;
        senders_.taken_seen = reader_.taken.load(std::memory_order_acquire);
        senders_.taken_bytes_seen = reader_.taken_bytes.load(std::memory_order_acquire);
        const auto depth = pushed - senders_.taken_seen;
        if (depth > senders_.high_water.load(std::memory_order_relaxed))
            senders_.high_water.store(depth, std::memory_order_relaxed);
        if (!full()) return false;
        senders_.full_until = pushed + full_recheck;
        return true;
    }
    static constexpr std::uint64_t full_recheck = 32;
    static bool refuses(Admit admit) noexcept { return admit == Admit::below_limit; }
    bool wake() noexcept { return std::exchange(senders_.asleep, false); }
    void add_segment();
    /// A segment the reader used up (its letters destroyed) goes back to the senders.
    void retire(Segment* segment) noexcept;
    /// A fresh segment, and one given back: beyond a queue's own few spares, segments go
    /// round through a stock shared by the process (bounded), so a mailbox that fell far
    /// behind and catches up reuses memory instead of faulting new pages in each time.
    static Segment* new_segment();
    static void delete_segment(Segment* segment) noexcept;
    /// Destroys the letters taken from `head` and clears their flags for the slots' next
    /// letters.
    void drop_taken() noexcept {
        for (; reader_.dropped < reader_.next; ++reader_.dropped) {
            Slot& slot = reader_.head->slots[reader_.dropped];
            std::destroy_at(slot.letter());
            slot.ready.store(false, std::memory_order_relaxed);
        }
    }

    // The senders' side and the reader's side on cache lines of their own.
    struct alignas(64) Senders {
        mutable SpinLock lock;
        bool asleep = false;    ///< the reader slept on an empty queue (under `lock`)
        Segment* tail;          ///< the segment letters go to
        std::size_t count = 0;  ///< letters in `tail`
        /// Letters and bytes ever appended (written under `lock`, read by anyone).
        std::atomic<std::uint64_t> pushed{0}, pushed_bytes{0};
        /// The reader's counters as last read (under `lock`): what they say is held is
        /// at least what is.
        std::uint64_t taken_seen = 0, taken_bytes_seen = 0;
        std::uint64_t max_letters = ~std::uint64_t{0} / 4, max_bytes = ~std::uint64_t{0} / 4;
        std::uint64_t full_until = 0;  ///< said full without a look until `pushed` is here
        /// The most letters a look found held (written under `lock`).
        std::atomic<std::uint64_t> high_water{0};
    } senders_;
    struct alignas(64) Reader {
        Segment* head;            ///< the segment letters are taken from
        std::size_t next = 0;     ///< the next slot of `head` to take
        std::size_t dropped = 0;  ///< the slots of `head` before this are destroyed
        /// Letters and bytes ever taken (written by the reader, read by anyone).
        std::atomic<std::uint64_t> taken{0}, taken_bytes{0};
    } reader_;
    /// The lanes of letters with a priority, highest first (guarded by senders_.lock; made
    /// by the first such letter), and how many letters they hold, on a line of its own: the
    /// reader looks at it before every letter, senders write it only for these letters.
    std::unique_ptr<std::map<std::uint8_t, std::deque<Letter>, std::greater<>>> lanes_;
    alignas(64) std::atomic<std::size_t> urgent_{0};
    /// The reader's: the last letter taken from a lane, valid until the next take or sleep.
    alignas(64) std::optional<Letter> urgent_taken_;
    /// Used-up segments the reader left for the senders' next: a few, so that a reader a
    /// few segments behind costs no allocation; more go to the process's stock.
    alignas(64) std::atomic<Segment*> spares_[4] = {};
};

}  // namespace courier::detail
