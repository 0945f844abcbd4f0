#pragma once
/// @file
/// Turning messages into frames and back with Cereal's portable binary archive
/// (little-endian on the wire whatever the host). Payloads are written by
/// cereal::PortableBinaryOutputArchive and read by courier::PayloadInputArchive, which
/// reads the same bytes but checks every length against the bytes left; docs/protocol.md
/// describes the encoding.

#include <courier/serialization/byte_stream.hpp>
#include <courier/serialization/envelope.hpp>
#include <courier/serialization/payload_archive.hpp>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/vector.hpp>

#include <exception>
#include <span>
#include <string>
#include <vector>

namespace courier {

/// Appends the Cereal encoding of `value` to `out`, little-endian on every host.
template <class T>
void encode_payload(const T& value, std::vector<std::byte>& out) {
    ByteSink sink(out);
    std::ostream stream(&sink);
    cereal::PortableBinaryOutputArchive archive(
        stream, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    archive(value);
}

/// Decodes a `T` from exactly `bytes`; a payload Cereal cannot read, a length larger than
/// the bytes left, or bytes left over, is a bad_payload error value. Never trusts `bytes`:
/// allocation stays proportional to their size.
template <class T>
Expected<T, DecodeError> decode_payload(std::span<const std::byte> bytes) {
    T value{};
    std::size_t left = 0;
    try {
        PayloadInputArchive archive(bytes);
        archive(value);
        left = archive.bytes_left();
    } catch (const std::exception& e) {
        return Unexpected{DecodeError{DecodeError::Code::bad_payload,
                                      std::string("payload does not decode: ") + e.what()}};
    }
    if (left != 0)
        return Unexpected{
            DecodeError{DecodeError::Code::bad_payload,
                        "payload has " + std::to_string(left) + " bytes left over after decoding"}};
    return value;
}

/// Encodes a whole frame: envelope header for message type T, then the payload.
template <Message T>
std::vector<std::byte> encode_message(EnvelopeHeader header, const T& value) {
    header.type = type_id_of<T>();
    std::vector<std::byte> frame;
    frame.reserve(envelope_header_size + header.sender.size() + header.recipient.size() + 64);
    encode_envelope_header(header, 0, frame);
    std::size_t payload_start = frame.size();
    encode_payload(value, frame);
    patch_payload_length(frame, frame.size() - payload_start);
    return frame;
}

}  // namespace courier
