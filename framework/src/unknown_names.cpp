#include "unknown_names.hpp"

namespace courier::detail {

bool UnknownNames::contains(const std::string& name) const {
    std::lock_guard lock(mutex_);
    return !names_.empty() && names_.count(name) != 0;
}

std::uint64_t UnknownNames::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

void UnknownNames::add(const std::string& name, std::uint64_t epoch_before) {
    std::lock_guard lock(mutex_);
    if (epoch_ != epoch_before || capacity_ == 0) return;
    if (names_.size() >= capacity_ && names_.count(name) == 0) names_.erase(names_.begin());
    names_.insert(name);
}

void UnknownNames::name_up(const std::string& name) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    names_.erase(name);
}

void UnknownNames::clear() {
    std::lock_guard lock(mutex_);
    ++epoch_;
    names_.clear();
}

}  // namespace courier::detail
