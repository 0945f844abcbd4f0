#pragma once
/// @file
/// Message types: plain structs with a Cereal `serialize`, given a stable name by one
/// line, `COURIER_MESSAGE(Type, "name")`, written in the type's own namespace or at global
/// scope. The wire id is the 64-bit FNV-1a hash of the name, so it is the same in every
/// process and every build, and never depends on `typeid`.

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

/// Passed to every courier_message_info call: a type of the global namespace, so that
/// argument-dependent lookup also searches there, where COURIER_MESSAGE(ns::Type, ...)
/// written at global scope declares it. (The type's own namespace is searched anyway.)
struct courier_message_scope {};

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

/// What COURIER_MESSAGE says about a type: its name and the id derived from it.
struct MessageInfo {
    std::string_view name;
    TypeId id = 0;
};

/// A type declared with COURIER_MESSAGE: `courier_message_info(T*, courier_message_scope)`,
/// which the macro declares beside the type (or at global scope), is found for it.
template <class T>
concept Message = requires(T* type) {
    { courier_message_info(type, courier_message_scope{}) } -> std::same_as<MessageInfo>;
};

/// The name and id of T, computed at compile time.
template <Message T>
inline constexpr MessageInfo message_info_v = courier_message_info(static_cast<T*>(nullptr),
                                                                   courier_message_scope{});

namespace detail {
/// Adds a name to the global registry; a collision ends the process with a clear message,
/// since two types sharing a wire id would silently decode one as the other.
bool register_message_or_die(std::string_view name);
}  // namespace detail

/// The wire id of T; also makes sure T is in the global registry of this process.
/// Registers by itself rather than trusting COURIER_MESSAGE's registration, whose dynamic
/// initialization may not have run yet when this is called during static initialization.
template <Message T>
TypeId type_id_of() noexcept {
    [[maybe_unused]] static const bool registered =
        detail::register_message_or_die(message_info_v<T>.name);
    return message_info_v<T>.id;
}

template <Message T>
constexpr std::string_view type_name_of() noexcept {
    return message_info_v<T>.name;
}

}  // namespace courier

#define COURIER_MESSAGE_CONCAT_(a, b) a##b
#define COURIER_MESSAGE_CONCAT(a, b) COURIER_MESSAGE_CONCAT_(a, b)

/// Gives `Type` the stable wire name `Name`, and adds it to this process's registry of
/// message types at static initialization (so a frame of it is known before any code
/// names the type). Use once per type, in the type's namespace or at global scope:
///
///     namespace app { struct Ping {...}; COURIER_MESSAGE(Ping, "app.Ping"); }
///     COURIER_MESSAGE(app::Ping, "app.Ping");  // the same, at global scope
///
/// It declares an overload of courier_message_info there, and a variable local to the
/// translation unit whose initialization registers the name (again in every translation
/// unit that includes the line: registering a name twice is harmless).
#define COURIER_MESSAGE(Type, Name)                                                        \
    [[maybe_unused]] constexpr ::courier::MessageInfo courier_message_info(                \
        Type*, ::courier_message_scope) noexcept {                                         \
        return {Name, ::courier::type_id_from_name(Name)};                                 \
    }                                                                                      \
    [[maybe_unused]] static const bool COURIER_MESSAGE_CONCAT(courier_message_registered_, \
                                                              __COUNTER__) =               \
        ::courier::detail::register_message_or_die(Name)
