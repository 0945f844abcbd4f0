#pragma once
/// @file
/// A small `expected<T, E>` for C++20 (std::expected arrives with C++23): either a
/// value or an error, never both, never neither. Errors that come from outside the
/// process (bytes off a link, a peer that went away) travel as values of this type.
/// [[nodiscard]]: every function that returns one makes its caller look at it.

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace courier {

/// Wraps an error value so `Expected` can be built from it unambiguously.
template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class [[nodiscard]] Expected {
  public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    template <class G>
    Expected(Unexpected<G> error) : state_(std::in_place_index<1>, std::move(error.error)) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return checked_value(); }
    const T& value() const& { return const_cast<Expected*>(this)->checked_value(); }
    T&& value() && { return std::move(checked_value()); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const& {
        assert(!has_value());
        return std::get<1>(state_);
    }

  private:
    T& checked_value() {
        assert(has_value());
        return std::get<0>(state_);
    }
    std::variant<T, E> state_;
};

/// Success without a value, or an error. Not [[nodiscard]], unlike the primary template:
/// it is returned by operations mostly fired and forgotten (Node::send), whose failure is
/// also reported where it matters (a dead letter, a log line).
template <class E>
class Expected<void, E> {
  public:
    Expected() = default;
    template <class G>
    Expected(Unexpected<G> error) : error_(std::move(error.error)) {}

    bool has_value() const noexcept { return !error_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    const E& error() const& {
        assert(!has_value());
        return *error_;
    }

  private:
    std::optional<E> error_;
};

}  // namespace courier
