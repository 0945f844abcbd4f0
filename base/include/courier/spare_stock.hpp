#pragma once
/// @file
/// Spare objects that go round between threads at a steady rate: frame buffers a link
/// fills and a letter gives back, the storage of letter bodies. Each thread keeps a few
/// spares of its own in front of a shared lock-free queue, so a thread that both takes
/// and gives (a worker receiving from a link and running the letters) touches no shared
/// memory at all, and threads that only take or only give (a reader thread and the
/// worker freeing what it took) pass spares through the shared queue half a stock at a
/// time instead of one by one.

#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <vector>

namespace courier::detail {

/// The weight that the shared queues of one or several stocks may hold together.
struct SpareBudget {
    explicit SpareBudget(std::size_t most) noexcept : limit(most) {}
    const std::size_t limit;
    std::atomic<std::size_t> held{0};
};

/// A bounded stock of spare `T`s shared by any threads. `Weight(const T&)` is what an item
/// costs to keep (its bytes, or 1 to count items). The shared queue holds at most `budget`
/// of weight (a budget of its own, or one it shares with other stocks: spares of several
/// sizes kept apart under one bound); each thread keeps at most `per_thread` items of its
/// own besides. What does not fit is destroyed.
///
/// A thread's own spares are destroyed when the thread exits, or when a later stock of
/// the same `T` takes their place in the thread: each thread has room for the spares of a
/// few stocks (the process-wide pools), meant to live as long as the process. Once a
/// thread's own spares are gone (its thread_local objects are being destroyed: a spare
/// given back by another one's destructor, or by a static object at exit), it uses the
/// shared queue alone.
template <class T, class Weight>
class SpareStock {
  public:
    explicit SpareStock(std::size_t budget, std::size_t per_thread = 0)
        : own_budget_(budget),
          budget_(own_budget_),
          per_thread_(per_thread),
          id_(per_thread > 0 ? next_id_.fetch_add(1) : 0) {}  // only these take a place
    /// A stock under `budget`, which other stocks may share and which outlives them all.
    explicit SpareStock(SpareBudget& budget, std::size_t per_thread = 0)
        : own_budget_(0),
          budget_(budget),
          per_thread_(per_thread),
          id_(per_thread > 0 ? next_id_.fetch_add(1) : 0) {}  // only these take a place
    SpareStock(const SpareStock&) = delete;
    SpareStock& operator=(const SpareStock&) = delete;

    /// Moves a spare into `item`: one of this thread's own, else one from the shared queue.
    /// False when there is none.
    bool take(T& item) noexcept {
        if (auto* mine = own()) {
            if (mine->empty()) refill(*mine);
            if (mine->empty()) return false;
            item = std::move(mine->back());
            mine->pop_back();
            return true;
        }
        if (!shared_.try_dequeue(item)) return false;
        budget_.held.fetch_sub(Weight{}(item), std::memory_order_relaxed);
        return true;
    }

    /// Keeps `item` for a later take() if the bounds allow (moving from it). A spare that
    /// does not fit is destroyed, but for `item` itself when the shared queue refuses it:
    /// that stays in `item` for the caller to let go (callers pass a temporary).
    void give(T&& item) noexcept {
        if (auto* mine = own()) {
            if (mine->size() == per_thread_) {
                // Full: the older half goes to the shared queue in one operation.
                const auto half = static_cast<std::ptrdiff_t>(half_stock());
                share(mine->begin(), mine->begin() + half);
                mine->erase(mine->begin(), mine->begin() + half);
            }
            mine->push_back(std::move(item));
            return;
        }
        share(&item, &item + 1);
    }

    /// Weight of the spares in the shared queue, and in those of the other stocks under the
    /// same budget (exact while no other thread takes or gives); a thread's own spares are
    /// not counted.
    std::size_t shared_weight() const noexcept { return budget_.held.load(); }

  private:
    /// This thread's own spares, or null when this stock keeps none per thread, or this
    /// thread's are gone.
    std::vector<T>* own() noexcept {
        if (per_thread_ == 0) return nullptr;
        struct Own {
            std::uint64_t stock = 0;  ///< id_ of the stock these spares belong to
            std::vector<T> spares;
        };
        // Trivially destructible, so still readable while the thread's other thread_local
        // objects are destroyed, after `owns`.
        thread_local bool owns_gone = false;
        struct Owns {
            std::array<Own, 8> slots;
            ~Owns() { owns_gone = true; }
        };
        if (owns_gone) return nullptr;
        thread_local Owns owns;
        auto& mine = owns.slots[id_ % owns.slots.size()];
        if (mine.stock != id_) {  // another stock's: they go (its blocks may be another size)
            mine.spares.clear();
            try {
                mine.spares.reserve(per_thread_);
            } catch (const std::bad_alloc&) {
                return nullptr;
            }
            mine.stock = id_;
        }
        return &mine.spares;
    }

    /// What passes between a thread's own spares and the shared queue at once: at least
    /// one, or a stock of one spare per thread would never pass any (nor stay bounded).
    std::size_t half_stock() const noexcept { return (per_thread_ + 1) / 2; }

    /// Moves up to half a stock from the shared queue into this thread's (empty) own.
    void refill(std::vector<T>& mine) noexcept {
        if (shared_.try_dequeue_bulk(std::back_inserter(mine), half_stock()) == 0) return;
        std::size_t weight = 0;
        for (const auto& item : mine) weight += Weight{}(item);
        budget_.held.fetch_sub(weight, std::memory_order_relaxed);
    }

    /// Moves the items of [first, last) into the shared queue while the budget allows; the
    /// rest are destroyed where they are.
    template <class It>
    void share(It first, It last) noexcept {
        std::size_t weight = 0;
        It end = first;
        for (; end != last; ++end) {
            const std::size_t w = Weight{}(*end);
            if (budget_.held.load(std::memory_order_relaxed) + weight + w > budget_.limit) break;
            weight += w;
        }
        if (end == first) return;
        budget_.held.fetch_add(weight, std::memory_order_relaxed);
        if (!shared_.enqueue_bulk(std::make_move_iterator(first),
                                  static_cast<std::size_t>(end - first)))
            budget_.held.fetch_sub(weight, std::memory_order_relaxed);  // out of memory: destroyed
    }

    inline static std::atomic<std::uint64_t> next_id_{1};

    moodycamel::ConcurrentQueue<T> shared_;
    SpareBudget own_budget_;
    SpareBudget& budget_;
    const std::size_t per_thread_;
    const std::uint64_t id_;
};

}  // namespace courier::detail
