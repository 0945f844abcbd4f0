// SpareStock: what it keeps is reused, what does not fit its bounds (the shared budget, a
// thread's own few) is destroyed, and spares pass between threads whole.

#include <courier/spare_stock.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using courier::detail::SpareStock;

namespace {

/// A spare that counts its destruction in its test's counter (shared: a thread's own
/// spares may outlive the test that gave them).
struct Tracked {
    Tracked(int number, std::size_t cost, std::shared_ptr<std::atomic<int>> destroyed)
        : id(number), weight(cost), gone(std::move(destroyed)) {}
    ~Tracked() { ++*gone; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    int id;
    std::size_t weight;
    std::shared_ptr<std::atomic<int>> gone;
};
using Item = std::unique_ptr<Tracked>;

struct Cost {
    std::size_t operator()(const Item& item) const noexcept { return item ? item->weight : 0; }
};
using Stock = SpareStock<Item, Cost>;

/// Makes the test's spares and counts how many of them were destroyed.
struct Maker {
    std::shared_ptr<std::atomic<int>> destroyed = std::make_shared<std::atomic<int>>(0);
    int next = 0;
    Item make(std::size_t weight = 1) {
        return std::make_unique<Tracked>(next++, weight, destroyed);
    }
    int gone() const { return destroyed->load(); }
};

/// Takes spares from `stock` on this thread until it has none; their ids, in order.
std::vector<int> take_all(Stock& stock) {
    std::vector<int> ids;
    for (Item item; stock.take(item); item.reset()) ids.push_back(item->id);
    return ids;
}

}  // namespace

TEST_CASE("a spare stock with nothing given has nothing to take", "[base][spare_stock]") {
    const std::size_t per_thread = GENERATE(0u, 4u);
    Stock stock(100, per_thread);
    Item item;
    CHECK_FALSE(stock.take(item));
    CHECK(item == nullptr);
    CHECK(stock.shared_weight() == 0);
}

TEST_CASE("a spare given is the one taken back", "[base][spare_stock]") {
    const std::size_t per_thread = GENERATE(0u, 4u);
    Maker spares;
    Stock stock(100, per_thread);
    Item given = spares.make(7);
    const Tracked* address = given.get();
    stock.give(std::move(given));
    // Kept in the shared queue (its weight counted there), or among the thread's own.
    CHECK(stock.shared_weight() == (per_thread == 0 ? 7u : 0u));

    Item taken;
    REQUIRE(stock.take(taken));
    CHECK(taken.get() == address);
    CHECK(stock.shared_weight() == 0);
    Item none;
    CHECK_FALSE(stock.take(none));
    CHECK(spares.gone() == 0);
}

TEST_CASE("the shared queue keeps at most its budget of weight and destroys the rest",
          "[base][spare_stock]") {
    Maker spares;
    Stock stock(250);  // no spares per thread: all goes through the shared queue
    for (int i = 0; i < 5; ++i) stock.give(spares.make(100));
    CHECK(stock.shared_weight() == 200);
    CHECK(spares.gone() == 3);
    stock.give(spares.make(50));  // what still fits is kept
    CHECK(stock.shared_weight() == 250);
    stock.give(spares.make(1));
    CHECK(spares.gone() == 4);

    CHECK(take_all(stock) == std::vector<int>{0, 1, 5});  // the first that fit, in order
    CHECK(stock.shared_weight() == 0);
    stock.give(spares.make(300));       // heavier than the whole budget
    CHECK(spares.gone() == 4 + 3 + 1);  // refused, taken (and let go), and this one
    CHECK(stock.shared_weight() == 0);
}

TEST_CASE("a thread keeps at most per_thread spares of its own", "[base][spare_stock]") {
    const std::size_t per_thread = GENERATE(1u, 3u, 4u, 64u);
    Maker spares;
    Stock stock(0, per_thread);  // a shared queue that keeps nothing: the own are all there is
    const int given = static_cast<int>(10 * per_thread);
    for (int i = 0; i < given; ++i) stock.give(spares.make());
    const int destroyed = spares.gone();
    const auto kept = take_all(stock);
    CAPTURE(per_thread);
    CHECK(kept.size() <= per_thread);
    CHECK(destroyed + static_cast<int>(kept.size()) == given);  // nothing kept elsewhere
    REQUIRE(!kept.empty());
    CHECK(kept.front() == given - 1);  // the newest is taken first
}

TEST_CASE("a thread whose own spares are full passes the older half to the shared queue",
          "[base][spare_stock]") {
    Maker spares;
    Stock stock(1000, 4);
    for (int i = 0; i < 4; ++i) stock.give(spares.make());
    CHECK(stock.shared_weight() == 0);
    stock.give(spares.make());  // the fifth: 0 and 1 go to the shared queue
    CHECK(stock.shared_weight() == 2);

    // Another thread has no own spares: it takes the shared ones, half a stock at a time.
    std::vector<int> elsewhere;
    std::jthread([&] { elsewhere = take_all(stock); }).join();
    CHECK(elsewhere == std::vector<int>{1, 0});
    CHECK(stock.shared_weight() == 0);
    CHECK(take_all(stock) == std::vector<int>{4, 3, 2});
    CHECK(spares.gone() == 5);
}

TEST_CASE("a stock of one spare per thread still passes spares between threads",
          "[base][spare_stock]") {
    Maker spares;
    Stock stock(1000, 1);
    stock.give(spares.make());
    stock.give(spares.make());  // full: 0 goes to the shared queue
    CHECK(stock.shared_weight() == 1);
    std::vector<int> elsewhere;
    std::jthread([&] { elsewhere = take_all(stock); }).join();
    CHECK(elsewhere == std::vector<int>{0});
    CHECK(take_all(stock) == std::vector<int>{1});
}

TEST_CASE("a spare the shared queue refuses stays with its giver", "[base][spare_stock]") {
    Maker spares;
    Stock stock(10);
    Item heavy = spares.make(11);
    stock.give(std::move(heavy));
    CHECK(heavy != nullptr);  // NOLINT(bugprone-use-after-move): give's contract
    CHECK(spares.gone() == 0);
    CHECK(stock.shared_weight() == 0);
}

TEST_CASE("a thread's own spares are destroyed when it exits", "[base][spare_stock]") {
    Maker spares;
    Stock stock(1000, 4);
    std::jthread([&] {
        for (int i = 0; i < 3; ++i) stock.give(spares.make());
    }).join();
    CHECK(spares.gone() == 3);
    Item item;
    CHECK_FALSE(stock.take(item));
}

TEST_CASE("a spare given back after the thread's own spares are gone goes to the shared queue",
          "[base][spare_stock]") {
    // Thread-local objects are destroyed in the reverse order they were made: one made
    // before the stock's own spares gives back after they are gone (as a static object
    // does at exit, or a thread's cache of letters).
    Maker spares;
    Stock stock(1000, 4);
    struct GivesBackLast {
        Stock* stock = nullptr;
        Item item;
        ~GivesBackLast() {
            if (stock) stock->give(std::move(item));
        }
    };
    std::jthread([&] {
        thread_local GivesBackLast last;  // made first, destroyed last
        last.stock = &stock;
        last.item = spares.make(7);
        stock.give(spares.make(1));  // makes this thread's own spares
    }).join();
    CHECK(spares.gone() == 1);  // the thread's own spare, with its thread
    CHECK(stock.shared_weight() == 7);
    const auto ids = take_all(stock);
    CHECK(ids == std::vector<int>{0});
}

TEST_CASE(
    "a later stock of the same type takes the place of an earlier one's spares in a "
    "thread",
    "[base][spare_stock]") {
    Maker spares;
    Stock first(1000, 4);
    first.give(spares.make());
    first.give(spares.make());
    CHECK(spares.gone() == 0);
    std::vector<std::unique_ptr<Stock>> later;  // 8 stocks: one lands in first's place
    for (int i = 0; i < 8; ++i) {
        later.push_back(std::make_unique<Stock>(1000, 4));
        Item item;
        CHECK_FALSE(later.back()->take(item));
    }
    CHECK(spares.gone() == 2);
    Item item;
    CHECK_FALSE(first.take(item));
}

TEST_CASE("spares given and taken by many threads at once are each taken at most once",
          "[base][spare_stock]") {
    const std::size_t per_thread = GENERATE(0u, 8u);
    constexpr int givers = 2, takers = 2, each = 20000;
    Maker spares;
    Stock stock(64, per_thread);
    std::vector<Item> made;
    for (int i = 0; i < givers * each; ++i) made.push_back(spares.make());
    std::vector<std::vector<int>> taken(takers);
    std::atomic<int> done_giving{0};
    {
        std::vector<std::jthread> threads;
        for (int g = 0; g < givers; ++g)
            threads.emplace_back([&, g] {
                for (int i = 0; i < each; ++i)
                    stock.give(std::move(made[static_cast<std::size_t>(g * each + i)]));
                ++done_giving;
            });
        for (auto& ids : taken)
            threads.emplace_back([&stock, &ids, &done_giving] {
                for (Item item;;) {
                    const bool last_round = done_giving.load() == givers;
                    if (stock.take(item)) {
                        ids.push_back(item->id);
                        item.reset();
                    } else if (last_round) {
                        return;
                    }
                }
            });
    }
    // Every thread has exited, its own spares destroyed; what the shared queue kept is left.
    const auto left = take_all(stock);
    std::set<int> seen(left.begin(), left.end());
    std::size_t count = left.size();
    for (const auto& ids : taken) {
        seen.insert(ids.begin(), ids.end());
        count += ids.size();
    }
    made.clear();  // the spares the shared queue refused stayed there (give's contract)
    CAPTURE(per_thread);
    CHECK(seen.size() == count);            // none taken twice
    CHECK(spares.gone() == givers * each);  // every spare destroyed once, in the end
    CHECK(count > 0);
    CHECK(stock.shared_weight() == 0);
}
