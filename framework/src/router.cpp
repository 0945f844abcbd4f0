#include "router.hpp"

#include "local_actors.hpp"
#include "node_core.hpp"

namespace courier::detail {

Expected<Route, Error> Router::route(const std::string& name) {
    if (!is_valid_name(name))
        return Unexpected{
            Error{ErrorCode::unknown_name, "'" + name + "' is not a valid actor name"}};
    Route found;
    found.generation = node_.peers().generation();  // before the lookup: a change after it shows
    if ((found.box = node_.actors().find(name))) return found;
    if (!node_.registry())
        return Unexpected{Error{ErrorCode::unknown_name,
                                "no actor named '" + name + "' in node '" + node_.name() + "'"}};
    std::string why_not, ours;
    found.peer = node_.peers().find(name, why_not, &ours);
    // name@host of this host: the registry said the actor is one of ours.
    if (!found.peer && !ours.empty() && (found.box = node_.actors().find(ours))) return found;
    if (!found.peer) return Unexpected{Error{ErrorCode::unknown_name, std::move(why_not)}};
    return found;
}

void Router::post(Letter&& letter, Draft* draft) {
    if (letter.origin) {  // an answer goes back over the link its request came on
        node_.sender().send(header_of(letter), draft ? *draft : *letter.body, letter.origin);
        return;
    }
    send(route(letter.recipient), std::move(letter), draft);
}

void Router::send(const Expected<Route, Error>& route, Letter&& letter, Draft* draft) {
    if (!route) {
        node_.dead_letter(letter, route.error().code, route.error().message);
        return;
    }
    if (route->box) {
        if (draft) draft->detach(letter.body);
        node_.deliver_local(*route->box, std::move(letter));
        return;
    }
    node_.sender().send(header_of(letter), draft ? *draft : *letter.body, route->peer);
}

void Router::send(const Expected<Route, Error>& route, const EnvelopeHeader& header, Draft& draft) {
    if (!route) {
        node_.dead_letter(letter_from(header), route.error().code, route.error().message);
        return;
    }
    if (!route->box) {
        // route() checked the recipient's name; the sender is an actor, checked at spawn.
        node_.sender().send(header, draft, route->peer, /*names_checked=*/true);
        return;
    }
    if (auto* cell = dynamic_cast<ActorCell*>(route->box.get())) {
        node_.deliver_local(*cell, header, draft);
        return;
    }
    Letter letter = letter_from(header);
    draft.detach(letter.body);
    node_.deliver_local(*route->box, std::move(letter));
}

Expected<void, Error> Router::post_outside(Letter&& letter, std::chrono::milliseconds timeout) {
    if (ActorCell::in_turn() || letter.origin) {
        post(std::move(letter));
        return {};
    }
    auto found = route(letter.recipient);
    if (!found) {
        Error error = found.error();
        send(found, std::move(letter), nullptr);  // the dead letter
        return Unexpected{std::move(error)};
    }
    if (found->peer) {
        // A letter for another node waits for credit, as one for a full mailbox waits for
        // room (an answer or a framework letter never waits, and never comes here).
        if (!found->peer->credit.wait(timeout)) {
            Error error{ErrorCode::mailbox_full,
                        found->peer->who() + " of '" + letter.recipient +
                            "' granted no credit for " + std::to_string(timeout.count()) +
                            " ms (its actors are slower than its senders)"};
            node_.dead_letter(letter, error.code, error.message);
            return Unexpected{std::move(error)};
        }
        send(found, std::move(letter), nullptr);
        return {};
    }
    auto* cell = dynamic_cast<ActorCell*>(found->box.get());
    if (!cell) {
        send(found, std::move(letter), nullptr);
        return {};
    }
    if (!cell->wait_for_room(timeout)) {
        Error error{ErrorCode::mailbox_full, "the mailbox of '" + letter.recipient +
                                                 "' stayed full for " +
                                                 std::to_string(timeout.count()) + " ms"};
        node_.dead_letter(letter, error.code, error.message);
        return Unexpected{std::move(error)};
    }
    node_.counters().delivered_local.fetch_add(1, std::memory_order_relaxed);
    return cell->deliver_checked(std::move(letter));
}

}  // namespace courier::detail
