// An outside program built against an installed courier: two actors in one node.
// `consumer_app --registry` registers the node with courierd, which the node must find and
// start by itself (built with CMake: the package's courier::courierd; otherwise courier's
// own search, e.g. beside the installed shared library).
#include <courier/courier.hpp>
#include <courier/version.hpp>

#include <chrono>
#include <cstring>
#include <exception>
#include <iostream>

struct Question {
    int value = 0;
    template <class A>
    void serialize(A& a) {
        a(value);
    }
};
COURIER_MESSAGE(Question, "find_package.Question");

int main(int argc, char** argv) try {
    courier::NodeOptions options;
    options.name = "find-package";
    options.use_registry = argc > 1 && std::strcmp(argv[1], "--registry") == 0;
#ifdef CONSUMER_COURIERD
    options.registry.courierd = CONSUMER_COURIERD;
#endif
    courier::Node node(options);
    node.spawn("doubler", [](courier::Actor& self) {
        self.handle<Question>([&self](Question& q) { self.reply(Question{q.value * 2}); });
    });
    auto answer = node.request<Question>("doubler", Question{21}, std::chrono::seconds(5));
    if (!answer || answer->value != 42) {
        std::cerr << "unexpected answer\n";
        return 1;
    }
    std::cout << "installed courier " COURIER_VERSION " works"
              << (options.use_registry ? " with its registry: " : ": ") << answer->value << "\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "consumer_app: " << e.what() << "\n";
    return 1;
}
