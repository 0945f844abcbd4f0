#include "failure_peer.hpp"

#include "failure_messages.hpp"
#include "failure_scenarios.hpp"
#include "peer_protocol.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/transports/heartbeat.hpp>
#include <courier/transports/transport.hpp>

#include <exception>
#include <memory>
#include <vector>

namespace courier::failure_times {

namespace {

using bench::Reporter;
using bench::Side;

/// Keeps every Ask unanswered and says so.
void hold_asks(Actor& self, const Reporter& report) {
    auto owed = std::make_shared<std::vector<ReplyHandle>>();
    self.handle([&self, &report, owed](Ask&) {
        owed->push_back(self.reply_later());
        report.result(Side::b, {{"event", "held"}, {"actor", self.name()}});
    });
}

}  // namespace

NodeOptions node_options(std::string name, const std::string& transport,
                         const std::filesystem::path& runtime_dir) {
    NodeOptions options;
    options.name = std::move(name);
    options.handle_signals = false;  // a Ctrl-C ends the measurement as it ends the tool
    Config config = Config::defaults();
    config.preference = {transport};
    // A hung peer is noticed in half a second rather than the default's 5 s (on the
    // transports that declare these; the others would refuse them).
    if (const auto* entry = TransportRegistry::builtin().find(transport);
        entry && entry->find_setting(heartbeat_interval_setting.name)) {
        auto& values = config.transports[transport].values;
        values[std::string(heartbeat_interval_setting.name)] =
            std::chrono::microseconds(heartbeat_interval).count();
        values[std::string(heartbeat_timeout_setting.name)] =
            std::chrono::microseconds(heartbeat_timeout).count();
    }
    options.config = config;
    options.registry.runtime_dir = runtime_dir;
    // A courierd the nodes start again after the measured kill goes by itself if the
    // measurement dies; the measurement stops it otherwise (PrivateRegistry).
    options.registry.idle_exit = std::chrono::milliseconds(2000);
    return options;
}

int run_peer(const PeerOptions& o) {
    const Reporter report(o.report_fd);
    const bench::Control control(o.control_fd);
    try {
        Node node(node_options(o.node, o.transport, default_runtime_dir()));
        if (!o.replier.empty())
            node.spawn(o.replier, [&report](Actor& self) { hold_asks(self, report); });
        if (!o.stopper.empty()) {
            node.spawn(o.stopper, [&report](Actor& self) {
                hold_asks(self, report);
                self.handle([&self, &report](Quit&) {
                    const auto t0 = bench::now_ns();
                    self.stop();
                    report.result(Side::b, {{"event", "stopping"},
                                            {"actor", self.name()},
                                            {"t0", std::to_string(t0)}});
                });
            });
        }
        if (!o.echo.empty())
            node.spawn(o.echo, [](Actor& self) {
                self.handle([&self](Echo& echo) { self.reply(Echo{echo.n}); });
            });
        report.ready();
        control.wait_end();
        return 0;
    } catch (const std::exception& e) {
        report.error(std::string("peer: ") + e.what());
        return 2;
    }
}

}  // namespace courier::failure_times
