#pragma once
// How the producer and pc-launcher print a link: its transport, why, and its throughput.

#include <courier/courier.hpp>

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>

namespace pc {

/// "link to pc-launcher over shm (default): 20004 frames out (1.6 MB), 20003 in (0.5 MB)
/// in 1.42 s: 14087 frames/s out, 14086 in": what a link carried, both ways, from its
/// counters (Node::links()), over the `seconds` the run took.
inline std::string link_report(const courier::LinkInfo& link, double seconds) {
    const double s = std::max(seconds, 1e-9);
    std::ostringstream out;
    out << "link to " << link.peer_node << " over " << link.transport << " (" << link.reason
        << "): " << link.frames_sent << " frames out (" << std::fixed << std::setprecision(1)
        << static_cast<double>(link.bytes_sent) / 1e6 << " MB), " << link.frames_received << " in ("
        << static_cast<double>(link.bytes_received) / 1e6 << " MB) in " << std::setprecision(2)
        << seconds << " s: " << std::setprecision(0) << static_cast<double>(link.frames_sent) / s
        << " frames/s out, " << static_cast<double>(link.frames_received) / s << " in";
    return out.str();
}

}  // namespace pc
