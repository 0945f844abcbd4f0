#include <courier/serialization/message_registry.hpp>

#include <cstdio>
#include <cstdlib>

namespace courier {

MessageRegistry& MessageRegistry::global() {
    static MessageRegistry registry;
    return registry;
}

Expected<TypeId, std::string> MessageRegistry::add(std::string_view name) {
    return add(type_id_from_name(name), name);
}

Expected<TypeId, std::string> MessageRegistry::add(TypeId id, std::string_view name) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = names_.try_emplace(id, name);
    if (!inserted && it->second != name) {
        char hex[19];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
        return Unexpected{"message type '" + std::string(name) + "' has the same wire id 0x" + hex +
                          " as '" + it->second + "'; rename one of them"};
    }
    return id;
}

bool MessageRegistry::contains(TypeId id) const {
    std::lock_guard lock(mutex_);
    return names_.contains(id);
}

std::optional<std::string> MessageRegistry::name_of(TypeId id) const {
    std::lock_guard lock(mutex_);
    if (auto it = names_.find(id); it != names_.end()) return it->second;
    return std::nullopt;
}

namespace detail {
bool register_message_or_die(std::string_view name) {
    auto added = MessageRegistry::global().add(name);
    if (!added) {
        std::fprintf(stderr, "courier: %s\n", added.error().c_str());
        std::abort();
    }
    return true;
}
}  // namespace detail

}  // namespace courier
