#include <courier/framework/link_selection.hpp>

#include "scheme_lists.hpp"

#include <courier/framework/config.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <string>

namespace courier {

using detail::contains;
using detail::fd_capable;
using detail::join;
using detail::passes_fds;
using detail::where_written;

namespace {

/// The builtin transports that can link nodes on different hosts, as their capabilities
/// say, in the default preference order: no scheme is named here.
const std::vector<std::string>& cross_host_schemes() {
    static const std::vector<std::string> schemes = [] {
        std::vector<std::string> found;
        for (const auto& scheme : default_preference_order()) {
            if (TransportRegistry::builtin().find(scheme)->capabilities.cross_host)
                found.push_back(scheme);
        }
        return found;
    }();
    return schemes;
}

std::string offer_problem(std::string_view scheme, std::string_view from, std::string_view to,
                          const std::vector<std::string>& ours,
                          const std::vector<std::string>& theirs) {
    std::string lacking;
    if (!contains(ours, scheme)) {
        lacking = "node \"" + std::string(from) + "\" does not offer " + std::string(scheme) +
                  " (it offers: " + join(ours) + ")";
    }
    if (!contains(theirs, scheme)) {
        if (!lacking.empty()) lacking += " and ";
        lacking += "node \"" + std::string(to) + "\" does not offer " + std::string(scheme) +
                   " (it offers: " + join(theirs) + ")";
    }
    return lacking;
}

/// The first transport that crosses hosts both nodes offer, or why there is none.
Expected<Selection, std::string> choose_cross_host(std::string_view from, std::string_view to,
                                                   const std::vector<std::string>& ours,
                                                   const std::vector<std::string>& theirs) {
    const auto& candidates = cross_host_schemes();
    for (const auto& scheme : candidates) {
        if (contains(ours, scheme) && contains(theirs, scheme))
            return Selection{scheme, SelectionReason::cross_host, std::nullopt};
    }
    const std::string on_another_host = "node \"" + std::string(to) + "\" is on another host";
    if (candidates.empty())
        return Unexpected{on_another_host + ", and no transport of this build crosses hosts"};
    if (candidates.size() == 1) {
        return Unexpected{on_another_host + ", which needs " + candidates.front() + ", but " +
                          offer_problem(candidates.front(), from, to, ours, theirs)};
    }
    return Unexpected{on_another_host + ", which needs one of " + join(candidates) +
                      ", but node \"" + std::string(from) + "\" offers " + join(ours) +
                      " and node \"" + std::string(to) + "\" " + join(theirs)};
}

}  // namespace

std::string LinkRule::describe() const {
    return from + " -> " + to;
}

bool LinkRule::matches(std::string_view from_name, std::string_view to_name) const {
    return ::fnmatch(from.c_str(), std::string(from_name).c_str(), 0) == 0 &&
           ::fnmatch(to.c_str(), std::string(to_name).c_str(), 0) == 0;
}

std::string Selection::describe() const {
    switch (reason) {
        case SelectionReason::override_transport:
            return "override";
        case SelectionReason::rule:
            return "rule \"" + (rule ? rule->describe() : "") + "\"";
        case SelectionReason::preference:
            return "default";
        case SelectionReason::cross_host:
            return "cross-host";
    }
    return "default";
}

Expected<Selection, std::string> choose(const Config& config, std::string_view from,
                                        std::string_view to, const std::vector<std::string>& ours,
                                        const std::vector<std::string>& theirs, bool same_host) {
    if (!same_host) return choose_cross_host(from, to, ours, theirs);
    const auto rule = std::find_if(config.rules.begin(), config.rules.end(),
                                   [&](const LinkRule& r) { return r.matches(from, to); });
    const bool carries_fds = rule != config.rules.end() && rule->fds;
    if (config.override_transport) {
        const std::string& scheme = *config.override_transport;
        if (carries_fds && !passes_fds(scheme)) {
            return Unexpected{"COURIER_TRANSPORT=" + scheme + ", but rule \"" + rule->describe() +
                              "\"" + where_written(config, *rule) +
                              " says its links carry file descriptors, which " + scheme +
                              " cannot pass"};
        }
        std::string problem = offer_problem(scheme, from, to, ours, theirs);
        if (!problem.empty()) return Unexpected{"COURIER_TRANSPORT=" + scheme + ", but " + problem};
        return Selection{scheme, SelectionReason::override_transport, std::nullopt};
    }
    if (rule != config.rules.end() && !rule->transport.empty()) {
        if (carries_fds && !passes_fds(rule->transport)) {
            return Unexpected{"rule \"" + rule->describe() + "\"" + where_written(config, *rule) +
                              " pins " + rule->transport +
                              ", which cannot pass the file descriptors its links carry"};
        }
        std::string problem = offer_problem(rule->transport, from, to, ours, theirs);
        if (!problem.empty()) {
            return Unexpected{"rule \"" + rule->describe() + "\"" + where_written(config, *rule) +
                              " pins " + rule->transport + ", but " + problem};
        }
        return Selection{rule->transport, SelectionReason::rule, *rule};
    }
    if (carries_fds) {  // no transport pinned: the first preferred one that passes fds
        for (const auto& scheme : config.preference) {
            if (passes_fds(scheme) && contains(ours, scheme) && contains(theirs, scheme))
                return Selection{scheme, SelectionReason::rule, *rule};
        }
        return Unexpected{"rule \"" + rule->describe() + "\"" + where_written(config, *rule) +
                          " says its links carry file descriptors, but no transport of the "
                          "preference list that passes them (" +
                          join(fd_capable(config.preference)) + ") is offered by both node \"" +
                          std::string(from) + "\" (" + join(ours) + ") and node \"" +
                          std::string(to) + "\" (" + join(theirs) + ")"};
    }
    for (const auto& scheme : config.preference) {
        if (contains(ours, scheme) && contains(theirs, scheme)) {
            return Selection{scheme, SelectionReason::preference, std::nullopt};
        }
    }
    return Unexpected{"no transport of the preference list (" + join(config.preference) +
                      ") is offered by both node \"" + std::string(from) + "\" (" + join(ours) +
                      ") and node \"" + std::string(to) + "\" (" + join(theirs) + ")"};
}

}  // namespace courier
