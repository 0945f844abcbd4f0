#pragma once
/// @file
/// The envelope: the fixed header in front of every message that leaves a process.
/// Its layout, byte by byte, is in docs/protocol.md. Decoding never trusts the bytes:
/// every length, flag and id is checked, and a failure is a value, never a crash.

#include <courier/expected.hpp>
#include <courier/serialization/message_registry.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

inline constexpr std::uint8_t envelope_magic[4] = {'C', 'O', 'U', 'R'};
inline constexpr std::uint8_t envelope_version = 1;
inline constexpr std::size_t envelope_header_size = 32;
inline constexpr std::size_t max_name_length = 255;

/// Flag bits of the envelope; the others are reserved and must be zero.
namespace envelope_flags {
inline constexpr std::uint8_t request = 0x01;  ///< the sender waits for a reply
inline constexpr std::uint8_t reply = 0x02;    ///< answers the request with the same correlation
/// counted against the link's credit: the receiver grants it back once the letter is taken
inline constexpr std::uint8_t credited = 0x04;
inline constexpr std::uint8_t known = request | reply | credited;
}  // namespace envelope_flags

/// Everything in an envelope but the payload. Names are views: into the caller's strings
/// when encoding, into the frame when decoding.
struct EnvelopeHeader {
    std::uint8_t flags = 0;
    std::uint8_t priority = 0;
    TypeId type = 0;
    std::uint64_t correlation = 0;
    std::string_view sender;     ///< may be empty: an anonymous sender cannot be replied to
    std::string_view recipient;  ///< never empty
};

/// A decoded envelope; views into the frame it was decoded from.
struct EnvelopeView {
    EnvelopeHeader header;
    std::span<const std::byte> payload;
};

/// Why bytes are not a valid envelope or payload.
struct DecodeError {
    enum class Code {
        truncated,        ///< fewer bytes than the header or its lengths say
        bad_magic,        ///< the frame does not start with "COUR"
        bad_version,      ///< a version this build does not speak
        bad_flags,        ///< a reserved flag bit is set
        length_mismatch,  ///< the lengths do not add up to the frame's size
        bad_name,         ///< empty recipient, or a name with bytes outside 0x21..0x7e
        unknown_type,     ///< no message type with this id is registered here
        bad_payload,      ///< Cereal could not decode the payload as the expected type
    };
    Code code;
    std::string message;
};

/// True for a name that may appear in an envelope: 1 to 255 printable ASCII bytes, no space.
bool is_valid_name(std::string_view name) noexcept;

/// Appends the envelope header and names for a payload of `payload_size` bytes to `out`;
/// the caller appends the payload itself. Throws std::invalid_argument on a bad name,
/// a reserved flag bit, request and reply both set, or a payload larger than 4 GiB - 1:
/// programming errors on the sending side, which would give a frame no peer accepts.
void encode_envelope_header(const EnvelopeHeader& header, std::size_t payload_size,
                            std::vector<std::byte>& out);

/// Says that the caller has checked both names of a header with is_valid_name already.
struct NamesChecked {};

/// The same, for a caller that checked the names itself, once, where it learned them
/// (the node: an actor's name when it adopts it, a recipient before it looks it up), so
/// that a stream of sends does not check the same names again for every envelope. The
/// rest is checked as above.
void encode_envelope_header(const EnvelopeHeader& header, std::size_t payload_size,
                            std::vector<std::byte>& out, NamesChecked);

/// Rewrites the payload length of an envelope encoded at the start of `frame`, for
/// encoders that serialize the payload after the header without knowing its size first.
void patch_payload_length(std::span<std::byte> frame, std::size_t payload_size);

/// Decodes and validates an envelope. With a registry, an unregistered type id is refused.
Expected<EnvelopeView, DecodeError> decode_envelope(std::span<const std::byte> frame,
                                                    const MessageRegistry* known_types = nullptr);

std::string_view to_string(DecodeError::Code code) noexcept;

}  // namespace courier
