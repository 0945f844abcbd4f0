#pragma once
/// @file
/// How a letter that answers a request becomes `Expected<R, Error>`; shared by
/// Actor::request and Node::request.

#include <courier/expected.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/system_messages.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace courier::detail {

struct ActorCell;

/// The type of the letter a node posts to a requester whose request timed out. Internal:
/// it never travels on a link.
inline constexpr TypeId request_timeout_type = type_id_from_name("courier.internal.Timeout");

/// Thrown by a handler wrapper when the letter's payload does not decode.
class UndecodableMessage : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Makes `letter` the answer to `request`: reply flag, same correlation, back the way
/// the request came.
void address_reply(Letter& letter, const Letter* request);

std::string type_name(TypeId type);

template <Message R>
Expected<R, Error> reply_to_result(Letter& answer, const std::string& target,
                                   std::chrono::milliseconds timeout) {
    if (answer.type == type_id_of<R>()) {
        auto value = open_letter<R>(answer);
        if (!value) return Unexpected{Error{ErrorCode::bad_message, value.error().message}};
        return std::move(*value);
    }
    if (answer.type == request_timeout_type)
        return Unexpected{Error{ErrorCode::timeout, "no reply from '" + target + "' within " +
                                                        std::to_string(timeout.count()) + " ms"}};
    if (answer.type == type_id_of<DeadLetter>()) {
        auto dead = open_letter<DeadLetter>(answer);
        if (!dead) return Unexpected{Error{ErrorCode::bad_message, dead.error().message}};
        return Unexpected{Error{dead->code, dead->reason}};
    }
    if (answer.type == type_id_of<Failure>()) {
        auto failure = open_letter<Failure>(answer);
        if (!failure) return Unexpected{Error{ErrorCode::bad_message, failure.error().message}};
        return Unexpected{Error{failure->code, failure->message}};
    }
    return Unexpected{Error{ErrorCode::unexpected_reply,
                            "'" + target + "' answered with " + type_name(answer.type) +
                                " instead of " + std::string(type_name_of<R>())}};
}

}  // namespace courier::detail
