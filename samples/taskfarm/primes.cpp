#include "messages.hpp"

namespace taskfarm {

namespace {

bool is_prime(std::uint64_t n) {
    if (n < 4) return n >= 2;
    if (n % 2 == 0 || n % 3 == 0) return false;
    for (std::uint64_t d = 5; d * d <= n; d += 6)
        if (n % d == 0 || n % (d + 2) == 0) return false;
    return true;
}

}  // namespace

std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi) {
    std::uint64_t count = 0;
    for (std::uint64_t n = lo; n < hi; ++n) count += is_prime(n);
    return count;
}

}  // namespace taskfarm
