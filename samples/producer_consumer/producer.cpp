// producer: sends --count items of --size bytes to the actor "consumer", wherever it
// runs on this host, then asks it whether everything arrived. With --spawn-consumer it
// starts the consumer itself, as its child (linked over pipe: when the config picks it).
// Its actor "producer" monitors the consumer: if the consumer goes down, the producer
// stops sending, says so, and exits 3. With --pool it sends each item as a request to a
// courier::Pool instead (through_pool.cpp), as pc-launcher starts it.
#include "messages.hpp"
#include "through_pool.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <mutex>

using namespace std::chrono_literals;

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: the producer"};
    app.set_version_flag("--version", COURIER_VERSION);
    std::uint64_t count = 100000;
    std::size_t size = 64;
    std::string consumer = "consumer";
    app.add_option("--count", count, "items to send");
    app.add_option("--size", size, "payload bytes per item");
    std::string config_file;
    app.add_option("--to", consumer, "name of the consumer actor");
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    std::string spawn;
    app.add_option("--spawn-consumer", spawn,
                   "start this consumer program as a child and exit with its status");
    std::string name = "producer";
    app.add_option("--name", name, "its node's and its actor's name")->capture_default_str();
    pc::PoolRun pooled;
    auto* pool_option =
        app.add_option("--pool", pooled.pool, "send each item as a request to this pool actor");
    app.add_option("--window", pooled.window, "with --pool: requests unanswered at once")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--first-seq", pooled.first_seq, "with --pool: the first item's number")
        ->capture_default_str();
    app.get_option("--spawn-consumer")->excludes(pool_option);
    CLI11_PARSE(app, argc, argv);

    // The consumer's Down, if it comes, reaches the actor "producer", which sets these; the
    // send loop looks at the flag. Declared before the node: its actor uses them until
    // the node's end stops it.
    std::atomic<bool> consumer_down{false};
    std::mutex down_mutex;
    std::string down_detail;
    std::promise<void> monitoring;

    courier::NodeOptions options;
    options.name = name;
    options.config = courier::Config::from_environment(config_file);
    courier::Node node(options);
    if (!pooled.pool.empty()) {
        pooled.name = name;
        pooled.count = count;
        pooled.size = size;
        return pc::produce_through_pool(node, pooled);
    }
    courier::ChildProcess child;
    if (!spawn.empty()) {
        courier::ProcessOptions process;
        process.argv = {spawn,    "--count", std::to_string(count), "--size", std::to_string(size),
                        "--name", consumer};
        if (!config_file.empty())
            process.argv.insert(process.argv.end(), {"--config", config_file});
        process.node = "consumer-node";  // the name it takes, for [[links.rule]] patterns
        child = node.spawn_process(process);
    }
    if (!node.wait_for(consumer, 10s)) {
        std::cerr << "producer: no actor named '" << consumer << "' appeared within 10 s\n";
        return 1;
    }

    node.spawn(name, [&](courier::Actor& self) {
        self.handle([&](courier::Down& down) {
            {
                std::lock_guard lock(down_mutex);
                down_detail = std::string(courier::to_string(down.reason)) + ": " + down.detail;
            }
            consumer_down = true;
        });
        self.monitor(consumer);
        monitoring.set_value();
    });
    monitoring.get_future().wait();
    const auto went_down = [&](std::uint64_t sent) {
        std::lock_guard lock(down_mutex);
        std::cerr << "producer: the consumer '" << consumer << "' went down (" << down_detail
                  << ") after " << sent << " of " << count << " items; stopping\n";
        return 3;
    };

    auto start = std::chrono::steady_clock::now();
    std::uint64_t checksum = pc::checksum_seed;
    for (std::uint64_t seq = 0; seq < count; ++seq) {
        if (consumer_down.load(std::memory_order_relaxed)) return went_down(seq);
        pc::Item item = pc::make_item(seq, size);
        checksum = pc::fold(checksum, item);
        node.send(consumer, std::move(item));
    }
    // Listed now: the consumer exits right after its verdict, and its link may close first.
    const auto links = node.links();
    auto verdict = node.request<pc::Verdict>(consumer, pc::Done{count, checksum}, 60s);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!verdict) {
        if (consumer_down) return went_down(count);
        std::cerr << "producer: " << verdict.error().message << "\n";
        return 1;
    }
    std::cout << "producer: sent " << count << " items of " << size << " B in " << seconds << " s ("
              << static_cast<double>(count) / seconds << " msg/s); consumer says "
              << (verdict->ok ? "all arrived" : "MISMATCH") << "\n";
    for (const auto& link : links)
        std::cout << "producer: link to " << link.peer_node << " over " << link.transport << " ("
                  << link.reason << ")\n";
    if (child) {
        auto status = child.wait();
        std::cout << "producer: the consumer " << status.describe() << "\n";
        if (!status.success()) return 1;
    }
    return verdict->ok ? 0 : 1;
} catch (const courier::ConfigError& e) {
    std::cerr << "producer: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "producer: " << e.what() << "\n";
    return 2;
}
