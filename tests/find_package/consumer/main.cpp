// An outside program built against an installed courier: two actors in one node, no registry.
#include <courier/courier.hpp>

#include <chrono>
#include <iostream>

struct Question {
    int value = 0;
    template <class A>
    void serialize(A& a) {
        a(value);
    }
};
COURIER_MESSAGE(Question, "find_package.Question");

int main() {
    courier::NodeOptions options;
    options.name = "find-package";
    options.use_registry = false;
    courier::Node node(options);
    node.spawn("doubler", [](courier::Actor& self) {
        self.handle<Question>([&self](Question& q) { self.reply(Question{q.value * 2}); });
    });
    auto answer = node.request<Question>("doubler", Question{21}, std::chrono::seconds(5));
    if (!answer || answer->value != 42) {
        std::cerr << "unexpected answer\n";
        return 1;
    }
    std::cout << "installed courier works: " << answer->value << "\n";
    return 0;
}
