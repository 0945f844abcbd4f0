#pragma once
/// @file
/// The registry of message type names known to this process, keyed by wire id.
/// Used to refuse id collisions at registration and unknown types at decoding.

#include <courier/expected.hpp>
#include <courier/serialization/message_type.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace courier {

class MessageRegistry {
  public:
    /// The registry every COURIER_MESSAGE line adds to.
    static MessageRegistry& global();

    /// Registers `name` under `id` (by default, the id derived from the name).
    /// Registering the same name again is harmless; another name with the same id is
    /// refused with a message naming both.
    Expected<TypeId, std::string> add(std::string_view name);
    Expected<TypeId, std::string> add(TypeId id, std::string_view name);

    bool contains(TypeId id) const;
    std::optional<std::string> name_of(TypeId id) const;

  private:
    mutable std::mutex mutex_;
    std::unordered_map<TypeId, std::string> names_;
};

}  // namespace courier
