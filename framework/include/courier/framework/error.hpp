#pragma once
/// @file
/// Errors of the framework layer. Setup failures (a taken name, a registry that cannot be
/// reached, a bad config, a runtime directory that cannot be made) throw SetupError;
/// failures of delivery at run time reach the sender as values: `Expected<R, Error>` from
/// a request, or a DeadLetter / Down message. Every code here may travel between
/// processes (DeadLetter, Failure), as one byte; a byte that names no code is refused as
/// a malformed message.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace courier {

enum class ErrorCode : std::uint8_t {
    timeout = 1,           ///< no reply within the request's timeout
    unknown_name = 2,      ///< no actor of that name on this host (a dead letter)
    handler_failed = 3,    ///< the recipient's handler threw; the message says what
    unexpected_reply = 4,  ///< the reply was of another type than requested
    bad_message = 5,       ///< the recipient could not decode the message
    no_handler = 6,        ///< the recipient has no handler for the message's type
    link_failed = 7,       ///< the link to the recipient's node broke
    name_taken = 8,        ///< the name is registered by a live actor already
    stopped = 9,           ///< the node or the actor stopped before answering
    /// the link's transport cannot carry what the message holds (file descriptors); the
    /// link stays up, the message is not sent
    unsupported = 10,
    bad_config = 11,  ///< the config (file, environment) cannot be read or is wrong
    os_error = 12,    ///< a system call failed while setting up (the runtime directory, epoll)
    /// the request was sent, but the link to the target's node broke (the node died, or
    /// closed the link) before an answer came: no answer can come any more
    peer_down = 13,
    /// the recipient's mailbox is full and its Overflow policy refused the letter, or a
    /// thread outside the node waited NodeOptions::send_timeout for room in vain
    mailbox_full = 14,
    /// the other side would not do it: another host's config does not allow what was asked
    /// (Node::place)
    refused = 15,
};

std::string_view to_string(ErrorCode code) noexcept;
/// The code a byte from another process names; false when it names none.
bool is_error_code(std::uint8_t value) noexcept;

/// A framework error: a code plus a sentence for people.
struct Error {
    ErrorCode code = ErrorCode::timeout;
    std::string message;
};

/// Thrown for setup errors: spawn with a taken name, a node whose registry is out of
/// reach, a bad config, a runtime directory that cannot be made.
class SetupError : public std::runtime_error {
  public:
    SetupError(ErrorCode code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

  private:
    ErrorCode code_;
};

}  // namespace courier
