#pragma once
/// @file
/// Message types: plain structs with a Cereal `serialize`, given a stable name by one
/// line, `COURIER_MESSAGE(Type, "name")`, at global scope. The wire id is the 64-bit
/// FNV-1a hash of the name, so it is the same in every process and every build, and
/// never depends on `typeid`.

#include <concepts>
#include <cstdint>
#include <string_view>

namespace courier {

/// The id of a message type on the wire.
using TypeId = std::uint64_t;

/// FNV-1a, 64 bit: a stable, documented hash another language can compute too.
constexpr TypeId type_id_from_name(std::string_view name) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (char c : name) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

/// Specialized by COURIER_MESSAGE; holds the type's name, id and registration.
template <class T>
struct MessageTraits;

/// A type declared with COURIER_MESSAGE.
template <class T>
concept Message = requires {
    { MessageTraits<T>::name } -> std::convertible_to<std::string_view>;
    { MessageTraits<T>::id } -> std::convertible_to<TypeId>;
};

namespace detail {
/// Adds a name to the global registry; a collision ends the process with a clear message,
/// since two types sharing a wire id would silently decode one as the other.
bool register_message_or_die(std::string_view name);
}  // namespace detail

/// The wire id of T; also makes sure T is in the global registry of this process.
/// Registers by itself rather than reading MessageTraits<T>::registered, whose dynamic
/// initialization may not have run yet when this is called during static initialization.
template <Message T>
TypeId type_id_of() noexcept {
    [[maybe_unused]] static const bool registered =
        detail::register_message_or_die(MessageTraits<T>::name);
    return MessageTraits<T>::id;
}

template <Message T>
constexpr std::string_view type_name_of() noexcept {
    return MessageTraits<T>::name;
}

}  // namespace courier

/// Gives `Type` the stable wire name `Name`. Use once per type, at global scope.
#define COURIER_MESSAGE(Type, Name)                                                             \
    template <>                                                                                 \
    struct courier::MessageTraits<Type> {                                                       \
        static constexpr std::string_view name = Name;                                          \
        static constexpr ::courier::TypeId id = ::courier::type_id_from_name(Name);             \
        static inline const bool registered = ::courier::detail::register_message_or_die(Name); \
    }
