// WireBody's storage: every letter from a link has one, made by the reactor and freed by
// the worker that handled the letter, so its blocks go round through a pool instead of
// malloc (and the frame's buffer through BufferPool::frames(), in ~WireBody).

#include <courier/framework/letter.hpp>

#include "block_pool.hpp"

#include <cassert>

namespace courier {

namespace {
detail::BlockPool& body_blocks() {
    // Never destroyed: letters may die while static objects are torn down. At most 64 Ki
    // spare blocks of ~80 bytes (5 MiB): enough for the deepest backlog of letters
    // courier-bench builds at 64 B; a deeper one allocates, and frees at the bound.
    static auto* pool = new detail::BlockPool(sizeof(WireBody), 65536);
    return *pool;
}
}  // namespace

void* WireBody::operator new(std::size_t size) {
    assert(size == sizeof(WireBody));  // final: no larger derived class
    (void)size;
    return body_blocks().take();
}

void WireBody::operator delete(void* storage) noexcept {
    body_blocks().give(storage);
}

}  // namespace courier
