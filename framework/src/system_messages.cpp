#include <courier/framework/detail/reply.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/serialization/message_registry.hpp>

#include <cstdio>

namespace courier {

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::timeout:
            return "timeout";
        case ErrorCode::unknown_name:
            return "unknown_name";
        case ErrorCode::handler_failed:
            return "handler_failed";
        case ErrorCode::unexpected_reply:
            return "unexpected_reply";
        case ErrorCode::bad_message:
            return "bad_message";
        case ErrorCode::no_handler:
            return "no_handler";
        case ErrorCode::link_failed:
            return "link_failed";
        case ErrorCode::name_taken:
            return "name_taken";
        case ErrorCode::stopped:
            return "stopped";
        case ErrorCode::unsupported:
            return "unsupported";
        case ErrorCode::bad_config:
            return "bad_config";
        case ErrorCode::os_error:
            return "os_error";
        case ErrorCode::peer_down:
            return "peer_down";
        case ErrorCode::mailbox_full:
            return "mailbox_full";
        case ErrorCode::refused:
            return "refused";
    }
    return "unknown_error";
}

std::string_view to_string(DownReason reason) noexcept {
    switch (reason) {
        case DownReason::stopped:
            return "stopped";
        case DownReason::node_exited:
            return "node exited";
        case DownReason::link_broken:
            return "link broken";
        case DownReason::unreachable:
            return "unreachable";
    }
    return "unknown";
}

bool is_error_code(std::uint8_t value) noexcept {
    return value >= static_cast<std::uint8_t>(ErrorCode::timeout) &&
           value <= static_cast<std::uint8_t>(ErrorCode::refused);
}

namespace detail {

void address_reply(Letter& letter, const Letter* request) {
    if (!request) return;
    letter.recipient = request->sender;
    letter.origin = request->origin;
    if (request->is_request()) {
        letter.flags = envelope_flags::reply;
        letter.correlation = request->correlation;
    }
}

std::string type_name(TypeId type) {
    if (auto name = MessageRegistry::global().name_of(type)) return *name;
    char hex[32];
    std::snprintf(hex, sizeof hex, "type 0x%016llx", static_cast<unsigned long long>(type));
    return hex;
}

}  // namespace detail
}  // namespace courier
