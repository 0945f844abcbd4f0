#include "mailbox.hpp"

#include "wire_body.hpp"

namespace courier::detail {

void Mailbox::deliver(const EnvelopeHeader& header, Frame&& frame,
                      std::span<const std::byte> payload, const std::shared_ptr<PeerLink>& origin) {
    Letter letter;
    address(letter, header);  // its names view the frame: before the body takes it
    letter.origin = origin;
    letter.body.emplace<WireBody>(std::move(frame), payload);
    deliver(std::move(letter));
}

}  // namespace courier::detail
