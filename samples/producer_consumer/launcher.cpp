// pc-launcher: M producers and K consumers, with a courier::Pool between them. It runs the
// pool (`pc.pool`, over the group `pc.consumers`), starts K consumer processes that join
// the group and M producer processes that send their items to the pool as requests, and
// then checks that the consumers took every item once: their counts and checksums must
// add up to what the producers sent, exactly. It prints the throughput of each of its
// links: one to each producer, one to each consumer. See samples/producer_consumer/README.md.
#include "link_report.hpp"
#include "messages.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr const char* pool_name = "pc.pool";
constexpr const char* group_name = "pc.consumers";

struct Settings {
    std::uint64_t producers = 3;
    std::uint64_t consumers = 2;
    std::uint64_t count = 20000;  ///< per producer
    std::size_t size = 64;
    std::uint64_t window = 64;     ///< per producer: its requests unanswered at once
    std::uint64_t in_flight = 32;  ///< per consumer: the pool's tasks it holds at once
};

std::string next_to_this_program(const char* name) {
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name).string();
}

/// Starts a producer or a consumer as our child, linked to our node (over pipe: when the
/// config picks it); it gets SIGTERM if we die.
courier::ChildProcess start(courier::Node& node, std::vector<std::string> argv,
                            std::string node_name) {
    courier::ProcessOptions process;
    process.argv = std::move(argv);
    process.node = std::move(node_name);  // for [[links.rule]] patterns
    process.parent_death_signal = SIGTERM;
    return node.spawn_process(process);
}

/// Waits until `count` actors have joined the group (10 s at most).
bool members_joined(courier::Node& node, std::uint64_t count) {
    for (int tries = 0; tries < 200; ++tries) {
        if (auto members = node.members(group_name); members && members->size() >= count)
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

/// The sum of the checksums of items 0 .. total - 1: what the consumers must have taken.
std::uint64_t expected_sum(std::uint64_t total, std::size_t size) {
    std::uint64_t sum = 0;
    for (std::uint64_t seq = 0; seq < total; ++seq)
        sum += pc::item_checksum(pc::make_item(seq, size));
    return sum;
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: M producers and K consumers through a pool"};
    app.set_version_flag("--version", COURIER_VERSION);
    Settings s;
    std::string config_file;
    app.add_option("--producers", s.producers, "producer processes")->capture_default_str();
    app.add_option("--consumers", s.consumers, "consumer processes")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--count", s.count, "items per producer")->capture_default_str();
    app.add_option("--size", s.size, "payload bytes per item")->capture_default_str();
    app.add_option("--window", s.window, "requests each producer keeps unanswered")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--in-flight", s.in_flight, "tasks the pool gives each consumer at once")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);

    courier::NodeOptions options;
    options.name = "pc-launcher";
    options.config = courier::Config::from_environment(config_file);
    courier::Node node(options);
    courier::PoolOptions pool;
    pool.policy = courier::PoolPolicy::least_in_flight;
    pool.max_in_flight = s.in_flight;
    node.spawn<courier::Pool<pc::Item, pc::Taken>>(pool_name, group_name, pool);

    std::vector<courier::ChildProcess> consumers;
    for (std::uint64_t k = 0; k < s.consumers; ++k) {
        const std::string name = "consumer-" + std::to_string(k);
        consumers.push_back(start(node,
                                  {next_to_this_program("consumer"), "--group", group_name,
                                   "--name", name, "--node", name + "-node"},
                                  name + "-node"));
    }
    if (!members_joined(node, s.consumers)) {
        std::cerr << "pc-launcher: the consumers did not join '" << group_name << "' within 10 s\n";
        return 1;
    }

    const auto begin = std::chrono::steady_clock::now();
    std::vector<courier::ChildProcess> producers;
    for (std::uint64_t p = 0; p < s.producers; ++p) {
        const std::string name = "producer-" + std::to_string(p);
        producers.push_back(
            start(node,
                  {next_to_this_program("producer"), "--pool", pool_name, "--name", name, "--count",
                   std::to_string(s.count), "--size", std::to_string(s.size), "--first-seq",
                   std::to_string(p * s.count), "--window", std::to_string(s.window)},
                  name));
    }
    bool producers_ok = true;
    for (auto& producer : producers) producers_ok &= producer.wait().success();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    auto links = node.links();  // now: the consumers leave once they have answered Done
    std::ranges::sort(links, {}, &courier::LinkInfo::peer_node);
    const auto stats = node.request<courier::PoolStats>(pool_name, courier::PoolQuery{}, 5s);

    // Each consumer's own totals, the answer to Done.
    std::uint64_t taken = 0;
    std::uint64_t sum = 0;
    std::string per_consumer;
    for (std::uint64_t k = 0; k < s.consumers; ++k) {
        const std::string name = "consumer-" + std::to_string(k);
        auto verdict = node.request<pc::Verdict>(name, pc::Done{}, 10s);
        if (!verdict) {
            std::cerr << "pc-launcher: " << name << ": " << verdict.error().message << "\n";
            return 1;
        }
        taken += verdict->count;
        sum += verdict->checksum;
        std::uint64_t handed = 0;
        if (stats)
            for (const auto& member : stats->members)
                if (member.member.name == name) handed = member.done;
        per_consumer += (k ? ", " : "") + name + " took " + std::to_string(verdict->count) +
                        " (the pool handed it " + std::to_string(handed) + ")";
    }
    bool consumers_ok = true;
    for (auto& consumer : consumers) consumers_ok &= consumer.wait().success();

    const std::uint64_t total = s.producers * s.count;
    const std::uint64_t expected = expected_sum(total, s.size);
    const bool ok = producers_ok && consumers_ok && taken == total && sum == expected;
    std::cout << "pc-launcher: " << s.producers << " producers x " << s.consumers
              << " consumers: " << total << " items of " << s.size << " B through the pool '"
              << pool_name << "' in " << seconds << " s (" << static_cast<double>(total) / seconds
              << " items/s)\n"
              << "pc-launcher: " << per_consumer << "\n";
    for (const auto& link : links)
        std::cout << "pc-launcher: " << pc::link_report(link, seconds) << "\n";
    std::cout << "pc-launcher: the consumers took " << taken << " of " << total
              << " items, checksum sum " << std::hex << sum << std::dec
              << (sum == expected ? " matches" : " DIFFERS") << "; the pool retried "
              << (stats ? stats->retried : 0) << "; producers "
              << (producers_ok ? "all answered" : "FAILED") << " -> " << (ok ? "OK" : "FAILED")
              << std::endl;
    return ok ? 0 : 1;
} catch (const courier::ConfigError& e) {
    std::cerr << "pc-launcher: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "pc-launcher: " << e.what() << "\n";
    return 2;
} catch (const std::system_error& e) {  // a program that cannot be started
    std::cerr << "pc-launcher: " << e.what() << "\n";
    return 2;
}
