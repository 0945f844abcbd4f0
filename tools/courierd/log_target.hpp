#pragma once
/// @file
/// Where courierd's log lines go, chosen so that they are never lost: the journal or a
/// terminal when there is one, syslog when it is listening, else a bounded file in the
/// runtime directory (docs/registry.md, "Where courierd logs").

#include <spdlog/common.h>

#include <filesystem>
#include <string>

namespace courierd {

/// The size at which courierd.log is rotated, and how many older files are kept: at most
/// (1 + log_files_kept) × log_file_limit bytes ever, however long courierd runs.
inline constexpr std::size_t log_file_limit = std::size_t{1} << 20;
inline constexpr std::size_t log_files_kept = 1;

struct LogTarget {
    /// journal: stderr, which is the journal's stream; each line starts with its syslog
    /// priority ("<4>"), as journald reads it, and no time (the journal has it).
    enum class Kind { stderr_stream, journal, syslog, file };
    Kind kind = Kind::stderr_stream;
    std::filesystem::path file;  ///< when kind == file
    std::string why;             ///< said in the first line, for whoever wonders
};

/// Chooses, in this order: `log_file` when given; the journal when stderr is its stream
/// (JOURNAL_STREAM); stderr when `foreground` without `syslog`; syslog when its socket
/// takes datagrams; else `<runtime_dir>/courierd.log`.
LogTarget choose_log_target(const std::filesystem::path& log_file, bool foreground, bool syslog,
                            const std::filesystem::path& runtime_dir);

/// Makes `target` the default logger's one sink, at `level`. Throws spdlog::spdlog_ex
/// when a log file cannot be opened.
void log_to(const LogTarget& target, spdlog::level::level_enum level);

}  // namespace courierd
