// consumer: receives items, checks their order, count and checksum, and answers the
// producer's Done with its verdict. Exits after one producer has finished, or when
// stopped by SIGTERM or SIGINT (then with 0: the node stopped cleanly). It awaits the
// producer's actor and monitors it: if the producer goes down before its Done, the
// consumer says so and exits 3. With --group it joins that group instead, as pc-launcher
// starts it: a courier::Pool hands it items as requests, it answers each with a Taken,
// and it answers Done with its totals and exits.
#include "messages.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <iostream>
#include <memory>

namespace {

/// The consumer as a member of `group`: answers each Item (a request from the group's
/// pool) with a Taken, and Done with what it took: a Verdict with its count and the sum
/// of their checksums. Then it stops.
void take_from_pool(courier::Actor& self, const std::string& group, int& exit_code) {
    struct Totals {
        std::uint64_t taken = 0;
        std::uint64_t sum = 0;  ///< of pc::item_checksum, mod 2^64
    };
    auto totals = std::make_shared<Totals>();
    self.handle([&self, totals](pc::Item& item) {
        const std::uint64_t checksum = pc::item_checksum(item);
        ++totals->taken;
        totals->sum += checksum;
        self.reply(pc::Taken{item.seq, checksum});
    });
    self.handle([&self, totals, group](pc::Done&) {
        std::cout << self.name() << ": took " << totals->taken << " items from the group '" << group
                  << "', checksum sum " << std::hex << totals->sum << std::dec << std::endl;
        self.reply(pc::Verdict{true, totals->taken, totals->sum});
        self.node().shutdown();
    });
    if (auto joined = self.join(group); !joined) {
        std::cerr << self.name() << ": " << joined.error().message << "\n";
        exit_code = 2;
        self.node().shutdown();
    }
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: the consumer"};
    app.set_version_flag("--version", COURIER_VERSION);
    std::uint64_t count = 0;
    std::size_t size = 0;
    std::string name = "consumer";
    app.add_option("--count", count, "items to expect (0: whatever Done says)");
    app.add_option("--size", size, "payload bytes expected per item (0: any)");
    std::string config_file;
    app.add_option("--name", name, "actor name to register");
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    std::string node_name = "consumer-node";
    app.add_option("--node", node_name, "its node's name")->capture_default_str();
    std::string group;
    app.add_option("--group", group, "join this group and take items from its pool");
    CLI11_PARSE(app, argc, argv);

    courier::NodeOptions options;
    options.name = node_name;
    options.config = courier::Config::from_environment(config_file);
    int exit_code = 0;  // stays 0 if a signal stops the node before any Done; before the
                        // node, whose actor sets it until the node's end stops it
    courier::Node node(options);
    if (!group.empty()) {
        node.spawn(name, [&](courier::Actor& self) { take_from_pool(self, group, exit_code); });
        node.wait();
        return exit_code;
    }
    node.spawn(name, [&](courier::Actor& self) {
        struct State {
            std::uint64_t received = 0;
            std::uint64_t checksum = pc::checksum_seed;
            bool in_order = true;
            bool sizes_ok = true;
            bool done = false;
        };
        auto state = std::make_shared<State>();
        // Told without waiting when a producer is there, then told if it goes down.
        self.handle([&self](courier::Up& up) { self.monitor(up.name); });
        self.await_up("producer");
        self.handle<pc::Item>([state, size](pc::Item& item) {
            state->in_order &= item.seq == state->received;
            state->sizes_ok &= size == 0 || item.payload.size() == size;
            state->checksum = pc::fold(state->checksum, item);
            ++state->received;
        });
        self.handle<pc::Done>([&, state](pc::Done& done) {
            std::uint64_t expected = count ? count : done.count;
            bool ok = state->received == expected && done.count == expected &&
                      state->checksum == done.checksum && state->in_order && state->sizes_ok;
            // The link to "producer"; or, when it is not named yet (an accepted link is
            // named once the registry confirms who connected: docs/security.md), the one
            // link this consumer has.
            std::string transport = "?";
            const auto links = self.node().links();
            for (const auto& link : links)
                if (link.peer_node == "producer") transport = link.transport;
            if (transport == "?" && links.size() == 1) transport = links.front().transport;
            std::cout << "consumer: over " << transport << ": received " << state->received
                      << " of " << expected << " items, checksum " << std::hex << state->checksum
                      << std::dec << (state->checksum == done.checksum ? " matches" : " DIFFERS")
                      << (state->in_order ? ", in order" : ", OUT OF ORDER") << " -> "
                      << (ok ? "OK" : "FAILED") << std::endl;
            self.reply(pc::Verdict{ok, state->received, state->checksum});
            exit_code = ok ? 0 : 1;
            state->done = true;
            self.node().shutdown();
        });
        self.handle([&, state](courier::Down& down) {
            if (state->done) return;  // it finished, then left: as it should
            std::cerr << "consumer: the producer went down (" << courier::to_string(down.reason)
                      << ": " << down.detail << ") after " << state->received << " items; exiting"
                      << std::endl;
            exit_code = 3;
            self.node().shutdown();
        });
    });
    node.wait();
    return exit_code;
} catch (const courier::ConfigError& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "consumer: " << e.what() << "\n";
    return 2;
}
