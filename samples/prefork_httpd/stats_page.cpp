#include "stats_page.hpp"

#include <iomanip>
#include <sstream>

namespace httpd {

std::string stats_page(const Stats& stats, std::string_view worker, std::int64_t pid) {
    std::ostringstream page;
    page << "prefork_httpd: " << stats.accepted << " connections accepted, " << stats.waiting
         << " waiting for a worker\n"
         << "this page: " << worker << " (pid " << pid << ")\n"
         << "open: connections held now; requests: served on connections that closed\n\n";
    page << std::left << std::setw(20) << "worker" << std::right << std::setw(8) << "pid"
         << std::setw(8) << "open" << std::setw(13) << "connections" << std::setw(10) << "requests"
         << std::setw(10) << "restarts"
         << "\n";
    for (const auto& w : stats.workers) {
        page << std::left << std::setw(20) << w.name << std::right << std::setw(8);
        if (w.pid != 0)
            page << w.pid;
        else
            page << "down";
        page << std::setw(8) << w.open << std::setw(13) << w.connections << std::setw(10)
             << w.requests << std::setw(10) << w.restarts << "\n";
    }
    return page.str();
}

}  // namespace httpd
