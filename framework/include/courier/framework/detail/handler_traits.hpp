#pragma once
/// @file
/// The message type a handler takes, read from its one parameter, for
/// `Actor::handle(handler)` without a type argument.

#include <courier/serialization/message_type.hpp>

#include <type_traits>

namespace courier::detail {

/// `type` is the parameter type of a callable of one parameter: a function, a function
/// pointer, or a class with one non-template operator() (a lambda).
template <class F>
struct handler_parameter {};

template <class R, class A>
struct handler_parameter<R(A)> {
    using type = A;
};
template <class R, class A>
struct handler_parameter<R(A) noexcept> : handler_parameter<R(A)> {};
template <class R, class A>
struct handler_parameter<R (*)(A)> : handler_parameter<R(A)> {};
template <class R, class A>
struct handler_parameter<R (*)(A) noexcept> : handler_parameter<R(A)> {};

// The call operators of lambdas (mutable or not) and of other function objects.
template <class C, class R, class A>
struct handler_parameter<R (C::*)(A)> : handler_parameter<R(A)> {};
template <class C, class R, class A>
struct handler_parameter<R (C::*)(A) const> : handler_parameter<R(A)> {};
template <class C, class R, class A>
struct handler_parameter<R (C::*)(A) noexcept> : handler_parameter<R(A)> {};
template <class C, class R, class A>
struct handler_parameter<R (C::*)(A) const noexcept> : handler_parameter<R(A)> {};

template <class F>
requires requires {
    &F::operator();
}
struct handler_parameter<F> : handler_parameter<decltype(&F::operator())> {};

/// The message type handler F takes: its parameter's type without reference and const.
template <class F>
using handled_message_t =
    std::remove_cvref_t<typename handler_parameter<std::remove_cvref_t<F>>::type>;

/// A callable whose one parameter is a message (by reference or by value).
template <class F>
concept MessageHandler = requires {
    typename handled_message_t<F>;
}
&&Message<handled_message_t<F>>;

}  // namespace courier::detail
