#pragma once
/// @file
/// Turning messages into frames and back. Payloads are written by
/// courier::PayloadOutputArchive (the bytes of Cereal's portable binary archive,
/// little-endian on every host) and read by courier::PayloadInputArchive, which checks
/// every length against the bytes left. Fd fields travel beside the bytes, in the frame's
/// descriptor list; docs/protocol.md describes the encoding.

#include <courier/fd.hpp>
#include <courier/serialization/bytes.hpp>
#include <courier/serialization/envelope.hpp>
#include <courier/serialization/external_parts.hpp>
#include <courier/serialization/payload_archive.hpp>

#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/vector.hpp>

#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace courier {

/// Appends the Cereal encoding of `value` to `out`, and the descriptors of its Fd fields
/// to `fds`. The descriptors are borrowed: `value` owns them until the frame is sent.
template <class T>
void encode_payload(const T& value, std::vector<std::byte>& out, std::vector<int>& fds) {
    // This thread's archive, reused (payload_archive.hpp).
    detail::LentOutputArchive archive(out, fds);
    (*archive)(value);
    archive.finished();
}

/// As above, but the large byte ranges of `value` (Bytes of at least
/// Bytes::part_threshold) go to `parts` instead of into `out`: the payload is `out`'s new
/// bytes with the ranges inserted (ExternalParts), borrowed from `value`.
template <class T>
void encode_payload(const T& value, std::vector<std::byte>& out, std::vector<int>& fds,
                    ExternalParts& parts) {
    detail::LentOutputArchive archive(out, fds);
    archive->leave_out_to(&parts);
    (*archive)(value);
    archive.finished();
}

/// Appends the Cereal encoding of a value that holds no descriptor. Throws
/// std::invalid_argument if it does: a programming error, the descriptors would be lost.
template <class T>
void encode_payload(const T& value, std::vector<std::byte>& out) {
    std::vector<int> fds;
    encode_payload(value, out, fds);
    if (!fds.empty())
        throw std::invalid_argument(
            "a value holding file descriptors must be encoded with the "
            "encode_payload overload that collects them");
}

/// Decodes a `T` from exactly `bytes`, its Fd fields taking the descriptors of `fds` they
/// name (each at most once; those not taken stay in `fds`). A payload Cereal cannot read,
/// a length larger than the bytes left, bytes left over, or a descriptor index past `fds`
/// or used twice, is a bad_payload error value. Never trusts `bytes`: allocation stays
/// proportional to their size.
///
/// With a `keeper`, large byte ranges (Bytes of at least Bytes::part_threshold) view
/// `bytes` instead of being copied out, and keep them alive through the keeper.
template <class T>
Expected<T, DecodeError> decode_payload(std::span<const std::byte> bytes, std::span<Fd> fds = {},
                                        PayloadKeeper* keeper = nullptr) {
    T value{};
    std::size_t left = 0;
    try {
        // This thread's archive, reused (payload_archive.hpp).
        detail::LentInputArchive archive(bytes, fds);
        archive->keep_with(keeper);
        (*archive)(value);
        archive.finished();
        left = archive->bytes_left();
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

/// Encodes a whole frame: envelope header for message type T, then the payload; the
/// descriptors of its Fd fields go to `fds`, to be sent with the frame.
template <Message T>
std::vector<std::byte> encode_message(EnvelopeHeader header, const T& value,
                                      std::vector<int>& fds) {
    header.type = type_id_of<T>();
    std::vector<std::byte> frame;
    frame.reserve(envelope_header_size + header.sender.size() + header.recipient.size() + 64);
    encode_envelope_header(header, 0, frame);
    std::size_t payload_start = frame.size();
    encode_payload(value, frame, fds);
    patch_payload_length(frame, frame.size() - payload_start);
    return frame;
}

/// Encodes a whole frame of a message that holds no descriptor (else std::invalid_argument).
template <Message T>
std::vector<std::byte> encode_message(EnvelopeHeader header, const T& value) {
    std::vector<int> fds;
    auto frame = encode_message(header, value, fds);
    if (!fds.empty())
        throw std::invalid_argument(std::string(type_name_of<T>()) +
                                    " holds file descriptors: encode it with the "
                                    "encode_message overload that collects them");
    return frame;
}

}  // namespace courier
