#pragma once
/// @file
/// Fd moved to <courier/fd.hpp> (courier::base), so serialization can carry it too.
/// This forward keeps code written against the old path compiling; include the new one.

#include <courier/fd.hpp>
