#include "mailbox.hpp"

#include "wire_body.hpp"

#include <courier/framework/detail/reply.hpp>
#include <courier/framework/system_messages.hpp>

namespace courier::detail {

bool is_internal_type(TypeId type) noexcept {
    return type == start_type || type == stop_type || type == request_timeout_type;
}

bool is_framework_type(TypeId type) noexcept {
    return type == type_id_of<DeadLetter>() || type == type_id_of<Failure>() ||
           type == type_id_of<Down>() || type == type_id_of<Up>() ||
           type == type_id_of<ChildFailed>();
}

void Mailbox::deliver(const EnvelopeHeader& header, Frame&& frame,
                      std::span<const std::byte> payload, const std::shared_ptr<PeerLink>& origin) {
    Letter letter;
    address(letter, header);  // its names view the frame: before the body takes it
    letter.origin = origin;
    letter.body.emplace<WireBody>(std::move(frame), payload);
    deliver(std::move(letter));
}

}  // namespace courier::detail
