#pragma once
/// @file
/// Message types shared by the serialization tests.

#include <courier/fd.hpp>
#include <courier/serialization/bytes.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace courier_test {

/// A message with every shape of field the codec must carry.
struct Order {
    std::string item;
    std::vector<std::int32_t> quantities;
    std::map<std::string, double> prices;
    std::optional<std::string> note;
    std::optional<std::uint64_t> deadline;
    std::vector<std::string> tags;
    bool urgent = false;

    template <class A>
    void serialize(A& a) {
        a(item, quantities, prices, note, deadline, tags, urgent);
    }
    bool operator==(const Order&) const = default;
};

/// A message with a single small field, to decode other payloads as the wrong type.
struct Ping {
    std::uint32_t sequence = 0;

    template <class A>
    void serialize(A& a) {
        a(sequence);
    }
    bool operator==(const Ping&) const = default;
};

/// A message that hands over descriptors: one, an optional one, and a list.
struct Handover {
    std::string label;
    courier::Fd first;
    courier::Fd none;  ///< left empty: encodes as "no descriptor"
    std::vector<courier::Fd> more;

    template <class A>
    void serialize(A& a) {
        a(label, first, none, more);
    }
};

inline Order sample_order() {
    Order order;
    order.item = "widget";
    order.quantities = {1, -2, 300000};
    order.prices = {{"eur", 9.5}, {"usd", 10.25}};
    order.note = "leave at the door";
    order.deadline = std::nullopt;
    order.tags = {"", "fragile", std::string(300, 'x')};
    order.urgent = true;
    return order;
}

inline std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
    std::vector<std::byte> out;
    for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

/// A large byte buffer between two numbers: courier::Bytes, encoded as a std::string is.
struct Blob {
    std::uint64_t id = 0;
    courier::Bytes data;
    std::uint32_t tail = 0;

    template <class A>
    void serialize(A& a) {
        a(id, data, tail);
    }
    bool operator==(const Blob&) const = default;
};

}  // namespace courier_test

COURIER_MESSAGE(courier_test::Order, "courier.test.Order");
COURIER_MESSAGE(courier_test::Ping, "courier.test.Ping");
COURIER_MESSAGE(courier_test::Handover, "courier.test.Handover");
COURIER_MESSAGE(courier_test::Blob, "courier.test.Blob");
