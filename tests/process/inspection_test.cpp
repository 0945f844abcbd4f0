// Tools' questions to nodes through courierd (registry/inspections.hpp): passed on and
// answered, refused past 16 waiting per asker, given up on when the node is silent, and
// answered when the node goes away first. Raw RegistryClients stand in for the node and
// the tool, so the node can be made silent (no on_inspect handler) on purpose.

#include "process_support.hpp"
#include "registry/inspections.hpp"
#include "registry/registry_client.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <string>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;
using registry::Inspections;

}  // namespace

TEST_CASE("a question to a node goes through courierd and comes back with its answer",
          "[registry][inspection]") {
    TempRuntimeDir dir;
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("node-a", {}).ok);
        LinkList list;
        list.node = "node-a";
        list.stats.dead_letters = 41;
        // Answered off the reader thread, which brings the answer to answer_inspection.
        Mailbag<std::uint64_t> questions;
        node.on_inspect([&](const registry::Inspect& question) { questions.put(question.ask); });
        RegistryClient tool(dir.options());
        auto asking = std::async(std::launch::async, [&] { return tool.inspect_node("node-a"); });
        auto ask = questions.take();
        REQUIRE(ask);
        CHECK(node.answer_inspection(*ask, list).ok);
        auto answer = asking.get();
        REQUIRE(answer.ok);
        CHECK(answer.list.node == "node-a");
        CHECK(answer.list.stats.dead_letters == 41);

        auto nobody = tool.inspect_node("node-b");
        CHECK_FALSE(nobody.ok);
        CHECK(nobody.error == "no node named 'node-b' is registered");

        // An answer to a question never asked of this connection is refused, and one to a
        // question answered already is dropped.
        auto again = std::async(std::launch::async, [&] { return tool.inspect_node("node-a"); });
        auto second = questions.take();
        REQUIRE(second);
        CHECK_FALSE(tool.answer_inspection(*second, list).ok);
        CHECK(node.answer_inspection(*second, list).ok);
        CHECK(again.get().ok);
        CHECK(node.answer_inspection(*second, list).ok);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a silent node holds at most 16 questions of one asker and each for 2 seconds",
          "[registry][inspection]") {
    TempRuntimeDir dir;
    {
        RegistryOptions options = dir.options();
        options.timeout = 10s;
        RegistryClient node(options);  // answers nothing: no on_inspect handler
        REQUIRE(node.register_node("silent-node", {}).ok);
        RegistryClient tool(options);
        constexpr std::size_t asked = Inspections::max_waiting_per_asker + 1;
        std::vector<std::future<registry::Inspection>> answers;
        for (std::size_t i = 0; i < asked; ++i)
            answers.push_back(std::async(std::launch::async,
                                         [&tool] { return tool.inspect_node("silent-node"); }));
        std::size_t timed_out = 0, refused = 0;
        for (auto& answer : answers) {
            const auto inspection = answer.get();
            CHECK_FALSE(inspection.ok);
            if (inspection.error == "node 'silent-node': it did not answer within 2000 ms")
                ++timed_out;
            else if (inspection.error == "this connection has 16 questions waiting already")
                ++refused;
            else
                FAIL_CHECK(inspection.error);
        }
        CHECK(timed_out == Inspections::max_waiting_per_asker);
        CHECK(refused == 1);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a question to a node that goes away is answered at once", "[registry][inspection]") {
    TempRuntimeDir dir;
    {
        RegistryClient tool(dir.options());
        auto node = std::make_unique<RegistryClient>(dir.options());
        REQUIRE(node->register_node("leaving-node", {}).ok);
        std::promise<void> asked;
        node->on_inspect([&](const registry::Inspect&) { asked.set_value(); });
        auto answer =
            std::async(std::launch::async, [&tool] { return tool.inspect_node("leaving-node"); });
        asked.get_future().wait();
        const auto start = std::chrono::steady_clock::now();
        node.reset();  // its connection closes with the question unanswered
        const auto inspection = answer.get();
        CHECK(std::chrono::steady_clock::now() - start < Inspections::answer_within);
        CHECK_FALSE(inspection.ok);
        CHECK(inspection.error == "node 'leaving-node': it went away before it answered");
    }
    CHECK(dir.wait_until_empty());
}
