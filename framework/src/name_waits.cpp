#include "name_waits.hpp"

#include "node_core.hpp"

#include <vector>

namespace courier::detail {

NameWaits::Started NameWaits::await(const std::string& name, Callback callback) {
    Started started;
    RegistryClient* registry = node_.registry();
    if (registry == nullptr) return started;
    {
        std::lock_guard lock(mutex_);
        started.id = ++next_id_;
        waits_.emplace(started.id, Wait{name, std::move(callback)});
    }
    try {
        started.now = registry->lookup(name);
    } catch (...) {
        cancel(started.id);
        throw;
    }
    if (started.now.found || !started.now.notify_up) {
        cancel(started.id);
        started.id = 0;
    }
    return started;
}

void NameWaits::cancel(std::uint64_t id) noexcept {
    std::lock_guard running(running_);
    std::lock_guard lock(mutex_);
    waits_.erase(id);
}

void NameWaits::name_up(const registry::NameUp& up) {
    std::lock_guard running(running_);
    std::vector<Callback> due;
    {
        std::lock_guard lock(mutex_);
        for (auto it = waits_.begin(); it != waits_.end();) {
            if (it->second.name != up.name) {
                ++it;
                continue;
            }
            due.push_back(std::move(it->second.callback));
            it = waits_.erase(it);
        }
    }
    for (auto& callback : due) callback(up);
}

}  // namespace courier::detail
