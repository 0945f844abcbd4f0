#pragma once
/// @file
/// How courierd's tables say that a frame broke the protocol: the server closes that
/// connection, with a log line giving the reason.

#include <string>

namespace courier::registry {

/// Thrown by a table handling a frame that breaks the protocol.
struct ProtocolViolation {
    std::string reason;
};

}  // namespace courier::registry
