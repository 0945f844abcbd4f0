#pragma once
/// @file
/// The IPC objects of courier's that some processes own: what courier-failure-times
/// looks for once its processes have gone, since nothing may be left behind.

#include <sys/types.h>

#include <string>
#include <vector>

namespace courier::failure_times {

/// Objects still there that record one of `pids` as owner (docs/failures.md, "Nothing left
/// behind"): entries of /dev/shm and /dev/mqueue named `<base>.<pid>@<start>...`, and
/// System V queues of this user whose last sender or receiver is one of them.
std::vector<std::string> owned_objects(const std::vector<pid_t>& pids);

}  // namespace courier::failure_times
