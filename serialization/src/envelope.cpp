#include <courier/serialization/envelope.hpp>

#include <courier/little_endian.hpp>

#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace courier {
namespace {

// Fixed header layout; docs/protocol.md is the reference, these offsets must match it.
constexpr std::size_t off_magic = 0;
constexpr std::size_t off_version = 4;
constexpr std::size_t off_flags = 5;
constexpr std::size_t off_priority = 6;
constexpr std::size_t off_reserved = 7;
constexpr std::size_t off_type = 8;
constexpr std::size_t off_correlation = 16;
constexpr std::size_t off_sender_len = 24;
constexpr std::size_t off_recipient_len = 26;
constexpr std::size_t off_payload_len = 28;
static_assert(off_payload_len + 4 == envelope_header_size);
/// Request and reply are never set together.
constexpr std::uint8_t both = envelope_flags::request | envelope_flags::reply;

/// True when each of the 8 bytes of `word` is in 0x21..0x7e: names are checked a word at a
/// time, as every envelope sent and received checks two. The lowest byte below 0x21
/// borrows in `word - 0x21..21` and so has its top bit set there and in `~word` (bytes
/// above it may borrow too, but only once one failed); a byte above 0x7e has its top bit
/// set in `word + 0x01..01` (0x7f) or in `word` itself (0x80 and up).
bool printable_word(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101;
    constexpr std::uint64_t tops = 0x8080808080808080;
    const std::uint64_t below = (word - 0x21 * ones) & ~word & tops;
    const std::uint64_t above = ((word + ones) | word) & tops;
    return (below | above) == 0;
}

template <class U>
U load(const char* at) noexcept {
    U value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

void append_name(std::vector<std::byte>& out, std::string_view name) {
    const auto* bytes = reinterpret_cast<const std::byte*>(name.data());
    out.insert(out.end(), bytes, bytes + name.size());
}

Unexpected<DecodeError> fail(DecodeError::Code code, std::string message) {
    return Unexpected{DecodeError{code, std::move(message)}};
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
    const std::size_t size = name.size();
    if (size == 0 || size > max_name_length) return false;
    const char* at = name.data();
    if (size < 4) {
        for (char c : name)
            if (c < 0x21 || c > 0x7e) return false;
        return true;
    }
    // The order of the bytes in a word does not matter to the check: the last load
    // overlaps the one before it rather than reading past the name.
    if (size < 8)
        return printable_word(std::uint64_t{load<std::uint32_t>(at)} << 32 |
                              load<std::uint32_t>(at + size - 4));
    for (std::size_t i = 0; i + 8 < size; i += 8)
        if (!printable_word(load<std::uint64_t>(at + i))) return false;
    return printable_word(load<std::uint64_t>(at + size - 8));
}

void encode_envelope_header(const EnvelopeHeader& header, std::size_t payload_size,
                            std::vector<std::byte>& out) {
    if (!is_valid_name(header.recipient))
        throw std::invalid_argument("invalid recipient name '" + std::string(header.recipient) +
                                    "'");
    if (!header.sender.empty() && !is_valid_name(header.sender))
        throw std::invalid_argument("invalid sender name '" + std::string(header.sender) + "'");
    encode_envelope_header(header, payload_size, out, NamesChecked{});
}

void encode_envelope_header(const EnvelopeHeader& header, std::size_t payload_size,
                            std::vector<std::byte>& out, NamesChecked) {
    if (payload_size > UINT32_MAX)
        throw std::invalid_argument("payload of " + std::to_string(payload_size) +
                                    " bytes is larger than an envelope can carry");
    if ((header.flags & ~envelope_flags::known) != 0)
        throw std::invalid_argument("reserved envelope flag set");
    if ((header.flags & both) == both)
        throw std::invalid_argument("an envelope cannot be both request and reply");

    // Built here and appended with the names, not resized into and then written: resize
    // would zero the bytes first.
    std::array<std::byte, envelope_header_size> fixed;
    std::byte* at = fixed.data();
    std::memcpy(at + off_magic, envelope_magic, sizeof envelope_magic);
    at[off_version] = std::byte{envelope_version};
    at[off_flags] = std::byte{header.flags};
    at[off_priority] = std::byte{header.priority};
    at[off_reserved] = std::byte{0};
    store_le<std::uint64_t>(at + off_type, header.type);
    store_le<std::uint64_t>(at + off_correlation, header.correlation);
    store_le<std::uint16_t>(at + off_sender_len, static_cast<std::uint16_t>(header.sender.size()));
    store_le<std::uint16_t>(at + off_recipient_len,
                            static_cast<std::uint16_t>(header.recipient.size()));
    store_le<std::uint32_t>(at + off_payload_len, static_cast<std::uint32_t>(payload_size));
    out.insert(out.end(), fixed.begin(), fixed.end());
    append_name(out, header.sender);
    append_name(out, header.recipient);
}

void patch_payload_length(std::span<std::byte> frame, std::size_t payload_size) {
    if (frame.size() < envelope_header_size || payload_size > UINT32_MAX)
        throw std::invalid_argument("cannot patch the payload length of this frame");
    store_le<std::uint32_t>(frame.data() + off_payload_len,
                            static_cast<std::uint32_t>(payload_size));
}

Expected<EnvelopeView, DecodeError> decode_envelope(std::span<const std::byte> frame,
                                                    const MessageRegistry* known_types) {
    using Code = DecodeError::Code;
    if (frame.size() < envelope_header_size)
        return fail(Code::truncated, "frame of " + std::to_string(frame.size()) +
                                         " bytes is shorter than the 32-byte envelope header");
    const std::byte* at = frame.data();
    if (std::memcmp(at + off_magic, envelope_magic, sizeof envelope_magic) != 0)
        return fail(Code::bad_magic, "frame does not start with the envelope magic \"COUR\"");
    auto version = static_cast<std::uint8_t>(at[off_version]);
    if (version != envelope_version)
        return fail(Code::bad_version, "envelope version " + std::to_string(version) +
                                           " is not supported (this build speaks " +
                                           std::to_string(envelope_version) + ")");
    auto flags = static_cast<std::uint8_t>(at[off_flags]);
    if ((flags & ~envelope_flags::known) != 0)
        return fail(Code::bad_flags, "reserved envelope flag bits are set");
    if (at[off_reserved] != std::byte{0})
        return fail(Code::bad_flags, "reserved envelope byte 7 is not zero");
    if ((flags & both) == both)
        return fail(Code::bad_flags, "an envelope cannot be both request and reply");

    auto sender_len = load_le<std::uint16_t>(at + off_sender_len);
    auto recipient_len = load_le<std::uint16_t>(at + off_recipient_len);
    auto payload_len = load_le<std::uint32_t>(at + off_payload_len);
    std::size_t expected =
        envelope_header_size + std::size_t{sender_len} + recipient_len + std::size_t{payload_len};
    if (frame.size() < expected)
        return fail(Code::truncated, "envelope announces " + std::to_string(expected) +
                                         " bytes but the frame has " +
                                         std::to_string(frame.size()));
    if (frame.size() != expected)
        return fail(Code::length_mismatch, "frame has " + std::to_string(frame.size() - expected) +
                                               " bytes beyond the envelope's lengths");

    EnvelopeView view;
    view.header.flags = flags;
    view.header.priority = static_cast<std::uint8_t>(at[off_priority]);
    view.header.type = load_le<std::uint64_t>(at + off_type);
    view.header.correlation = load_le<std::uint64_t>(at + off_correlation);
    const char* names = reinterpret_cast<const char*>(at + envelope_header_size);
    view.header.sender = std::string_view(names, sender_len);
    view.header.recipient = std::string_view(names + sender_len, recipient_len);
    if (!view.header.sender.empty() && !is_valid_name(view.header.sender))
        return fail(Code::bad_name, "sender name is not 1-255 printable ASCII bytes");
    if (!is_valid_name(view.header.recipient))
        return fail(Code::bad_name, "recipient name is empty or not printable ASCII");
    if (known_types && !known_types->contains(view.header.type)) {
        char hex[19];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(view.header.type));
        return fail(Code::unknown_type,
                    std::string("message type 0x") + hex + " is not registered in this process");
    }
    view.payload = frame.subspan(envelope_header_size + sender_len + recipient_len, payload_len);
    return view;
}

std::string_view to_string(DecodeError::Code code) noexcept {
    switch (code) {
        case DecodeError::Code::truncated:
            return "truncated";
        case DecodeError::Code::bad_magic:
            return "bad_magic";
        case DecodeError::Code::bad_version:
            return "bad_version";
        case DecodeError::Code::bad_flags:
            return "bad_flags";
        case DecodeError::Code::length_mismatch:
            return "length_mismatch";
        case DecodeError::Code::bad_name:
            return "bad_name";
        case DecodeError::Code::unknown_type:
            return "unknown_type";
        case DecodeError::Code::bad_payload:
            return "bad_payload";
    }
    return "unknown";
}

}  // namespace courier
