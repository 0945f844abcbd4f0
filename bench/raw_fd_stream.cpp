#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <unistd.h>

#include <stdexcept>

namespace courier::bench {

FdStreamChannel::FdStreamChannel(int in, int out) : in_(in), out_(out) {
    if (in >= 0) owned_.emplace_back(in);
    if (out >= 0 && out != in) owned_.emplace_back(out);
}

void FdStreamChannel::send(std::span<const std::uint8_t> message) {
    // One write per message; a stream may take less, then the rest follows.
    while (!message.empty()) {
        auto wrote = COURIER_SYSCALL(::write, out_, message.data(), message.size());
        if (!wrote.ok()) throw system_error_from(wrote, "raw send");
        message = message.subspan(static_cast<std::size_t>(wrote.value));
    }
}

void FdStreamChannel::receive(std::span<std::uint8_t> out) {
    while (!out.empty()) {
        auto got = COURIER_SYSCALL(::read, in_, out.data(), out.size());
        if (!got.ok()) throw system_error_from(got, "raw receive");
        if (got.value == 0) throw std::runtime_error("raw receive: the peer closed its end");
        out = out.subspan(static_cast<std::size_t>(got.value));
    }
}

FdWiring::FdWiring(Ends a, Ends b, std::vector<Fd> owned)
    : a_(a), b_(b), owned_(std::move(owned)) {}

std::string FdWiring::spec(Side side) const {
    const Ends& ends = side == Side::a ? a_ : b_;
    return std::to_string(ends.in) + "," + std::to_string(ends.out);
}

std::vector<int> FdWiring::fds(Side side) const {
    const Ends& ends = side == Side::a ? a_ : b_;
    std::vector<int> out;
    if (ends.in >= 0) out.push_back(ends.in);
    if (ends.out >= 0 && ends.out != ends.in) out.push_back(ends.out);
    return out;
}

std::pair<std::string, std::string> split_spec(const std::string& spec) {
    auto comma = spec.find(',');
    if (comma == std::string::npos)
        throw std::invalid_argument("malformed raw spec '" + spec + "'");
    return {spec.substr(0, comma), spec.substr(comma + 1)};
}

std::unique_ptr<Channel> open_fd_spec(const std::string& spec) {
    auto [in, out] = split_spec(spec);
    return std::make_unique<FdStreamChannel>(std::stoi(in), std::stoi(out));
}

}  // namespace courier::bench
