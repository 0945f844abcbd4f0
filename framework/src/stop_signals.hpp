#pragma once
/// @file
/// SIGTERM and SIGINT for the nodes that handle them (NodeOptions::handle_signals): one
/// process-wide handler, whichever node installed it, that stops every such node cleanly.
///
/// The handler only writes the signal's number to a pipe (async-signal-safe, and it works
/// whichever thread the kernel picks to take the signal). A thread of its own,
/// `courier-signals`, reads the pipe and stops the nodes: a stop blocks (it waits for the
/// actors to drain their mailboxes), so it cannot run on a node's reactor, which must keep
/// delivering frames meanwhile; and one pipe cannot be watched by several reactors (the
/// first to read it would consume it). signalfd was not chosen: it needs the signals
/// blocked in every thread, including the application's threads started before the node.
///
/// - The first signal stops every enlisted node at once (NodeCore::begin_stop, then
///   finish_stop) and wakes their Node::wait(). If then no thread of the process waits in
///   Node::wait(), nobody is left to end the process: the signals' thread flushes stdio
///   and ends it with `_exit(0)`. (`std::exit` is not safe there: static destructors would
///   run while the application's threads and the nodes' own still run.)
/// - A second signal while stopping (or after) ends the process at once, from the
///   handler: one line on stderr, then `_exit(128 + signal)`. One within 200 ms of the
///   first is taken as the first sent twice (timeout(1) signals the process, then its
///   process group) and ignored.
/// - The handler is installed when the first such node starts, and the previous
///   dispositions come back when the last one goes (the pipe and the thread with them). A
///   signal the process ignores (SIG_IGN: a background job's SIGINT, `nohup`) stays
///   ignored.
/// - A child forked from this process inherits the handler but not the thread: there the
///   handler acts as the default action would, until the child starts a node of its own.

namespace courier::detail {

class NodeCore;

class StopSignals {
  public:
    /// `node` is stopped by SIGTERM and SIGINT from now on. Throws std::system_error when
    /// the pipe or the thread cannot be made.
    static void enlist(NodeCore& node);
    /// `node` no longer is; waits for a stop by a signal in progress to end first. Any
    /// thread but the signals' own; does nothing for a node not enlisted.
    static void leave(NodeCore& node) noexcept;

    /// Counts a thread waiting in Node::wait() while it lives: the signals' thread ends
    /// the process itself only when none does.
    class Waiting {
      public:
        Waiting() noexcept;
        ~Waiting();
        Waiting(const Waiting&) = delete;
        Waiting& operator=(const Waiting&) = delete;
    };
};

}  // namespace courier::detail
