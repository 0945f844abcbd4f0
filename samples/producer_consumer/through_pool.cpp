#include "through_pool.hpp"

#include "link_report.hpp"
#include "messages.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <vector>

namespace pc {

namespace {

using namespace std::chrono_literals;

/// What the sending actor saw, for the summary main's thread prints once the node is done.
struct Outcome {
    std::uint64_t answered = 0;  ///< answers that named their item and its checksum
    std::uint64_t wrong = 0;     ///< answers that did not
    std::uint64_t failed = 0;    ///< requests that got an error instead
    std::string first_error;
    std::vector<courier::LinkInfo> links;  ///< as they were at the last answer
    bool finished = false;                 ///< every item answered (else a signal stopped it)
};

/// The actor's state: keeps `window` items unanswered, and sends the next as each answer
/// comes. The requests' callbacks hold it.
class Sender : public std::enable_shared_from_this<Sender> {
  public:
    Sender(courier::Actor& self, const PoolRun& run, std::shared_ptr<Outcome> outcome)
        : self_(self), run_(run), outcome_(std::move(outcome)) {}

    void start() {
        if (run_.count == 0) return finish();
        while (next_ < std::min(run_.window, run_.count)) submit(next_++);
    }

  private:
    void submit(std::uint64_t i) {
        Item item = make_item(run_.first_seq + i, run_.size);
        const std::uint64_t seq = item.seq;
        const std::uint64_t checksum = item_checksum(item);
        self_.request<Taken>(run_.pool, std::move(item), 60s,
                             [sender = shared_from_this(), seq,
                              checksum](courier::Expected<Taken, courier::Error> taken) {
                                 sender->answered(seq, checksum, taken);
                             });
    }

    void answered(std::uint64_t seq, std::uint64_t checksum,
                  const courier::Expected<Taken, courier::Error>& taken) {
        Outcome& out = *outcome_;
        if (!taken) {
            if (out.failed++ == 0) out.first_error = taken.error().message;
        } else if (taken->seq != seq || taken->checksum != checksum) {
            ++out.wrong;
        } else {
            ++out.answered;
        }
        if (++answers_ == run_.count) return finish();
        if (next_ < run_.count) submit(next_++);
    }

    void finish() {
        outcome_->finished = true;
        outcome_->links = self_.node().links();
        self_.node().shutdown();
    }

    courier::Actor& self_;
    const PoolRun& run_;
    std::shared_ptr<Outcome> outcome_;
    std::uint64_t next_ = 0;
    std::uint64_t answers_ = 0;
};

}  // namespace

int produce_through_pool(courier::Node& node, const PoolRun& run) {
    if (!node.wait_for(run.pool, 10s)) {
        std::cerr << run.name << ": no pool named '" << run.pool << "' appeared within 10 s\n";
        return 1;
    }
    auto outcome = std::make_shared<Outcome>();
    const auto start = std::chrono::steady_clock::now();
    node.spawn(run.name, [&run, outcome](courier::Actor& self) {
        std::make_shared<Sender>(self, run, outcome)->start();
    });
    node.wait();  // the last answer, or a signal
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Outcome& out = *outcome;
    if (!out.finished) {
        std::cout << run.name << ": stopped after " << out.answered + out.wrong + out.failed
                  << " of " << run.count << " answers" << std::endl;
        return 0;  // a signal stopped it: a clean stop
    }
    const bool ok = out.answered == run.count;
    std::cout << run.name << ": sent " << run.count << " items of " << run.size
              << " B through the pool '" << run.pool << "' in " << seconds << " s ("
              << static_cast<double>(run.count) / seconds << " msg/s); " << out.answered
              << " answered with their checksum";
    if (out.wrong) std::cout << ", " << out.wrong << " WRONG";
    if (out.failed) std::cout << ", " << out.failed << " FAILED (" << out.first_error << ")";
    std::cout << "\n";
    for (const auto& link : out.links)
        std::cout << run.name << ": " << link_report(link, seconds) << "\n";
    std::cout << std::flush;
    return ok ? 0 : 1;
}

}  // namespace pc
