// pipe_handover: a message carries the write end of a pipe to another process, which
// writes into it; this process reads what it wrote. The child is forked from here so the
// sample is one program; it could as well be any process on the host.
#include <courier/courier.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

struct WriteInto {
    std::string text;
    courier::Fd fd;  // a descriptor field: travels by SCM_RIGHTS, owned by whoever holds it
    template <class A>
    void serialize(A& a) {
        a(text, fd);
    }
};
struct Written {
    template <class A>
    void serialize(A&) {}
};
struct Done {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(WriteInto, "pipe_handover.WriteInto");
COURIER_MESSAGE(Written, "pipe_handover.Written");
COURIER_MESSAGE(Done, "pipe_handover.Done");

int main() try {
    if (::fork() == 0) {  // the writer process
        courier::Node node("pipe-writer");
        node.spawn("writer", [&node](courier::Actor& self) {
            self.handle<WriteInto>([&](WriteInto& order) {
                std::string line =
                    order.text + " (written by pid " + std::to_string(::getpid()) + ")\n";
                if (::write(order.fd.get(), line.data(), line.size()) < 0) return;
                self.reply(Written{});
            });  // order.fd closes here, with the message
            // The writer stays until the reader is done with the link.
            self.handle<Done>([&node](Done&) { node.shutdown(); });
        });
        node.wait();
        return 0;
    }

    // The links of this node carry descriptors: only a transport that passes them will do.
    courier::NodeOptions options;
    options.name = "pipe-reader";
    options.config = courier::Config::parse(
        "[[links.rule]]\nfrom = \"pipe-reader\"\nto = \"*\"\nfds = true\n", "pipe_handover");
    courier::Node node(options);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0 || !node.wait_for("writer", 10s)) return 1;

    auto written = node.request<Written>(
        "writer", WriteInto{"hello through a pipe", courier::Fd(ends[1])}, 10s);
    // The request's message closed this process's write end once it was sent.
    if (!written) {
        std::cerr << "pipe_handover: " << written.error().message << "\n";
        return 1;
    }
    std::string got;
    char buffer[256];
    for (ssize_t n; (n = ::read(ends[0], buffer, sizeof buffer)) > 0;)
        got.append(buffer, static_cast<std::size_t>(n));  // until EOF: every write end closed
    ::close(ends[0]);
    std::cout << "pipe_handover: read \"" << got.substr(0, got.size() - 1) << "\" over "
              << node.links().front().transport << "\n";
    node.send("writer", Done{});
    ::wait(nullptr);
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "pipe_handover: " << e.what() << "\n";
    return 2;
}
