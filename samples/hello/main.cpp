// hello: one actor answers a greeting. The smallest courier program.
#include <courier/courier.hpp>

#include <chrono>
#include <iostream>
#include <string>

struct Greeting {
    std::string who;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(who);
    }
};
COURIER_MESSAGE(Greeting, "hello.Greeting");

int main() try {
    courier::Node node("hello");  // registers with this host's courierd, starting it if needed

    node.spawn("greeter", [](courier::Actor& self) {
        self.handle<Greeting>(
            [&self](Greeting& greeting) { self.reply(Greeting{"hello, " + greeting.who}); });
    });

    auto answer = node.request<Greeting>("greeter", Greeting{"world"}, std::chrono::seconds(5));
    if (!answer) {
        std::cerr << "no answer: " << answer.error().message << "\n";
        return 1;
    }
    std::cout << answer->who << "\n";  // prints "hello, world"
} catch (const courier::SetupError& e) {
    std::cerr << "hello: " << e.what() << "\n";  // no registry, a bad config, ...
    return 2;
}
