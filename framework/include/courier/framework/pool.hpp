#pragma once
/// @file
/// A pool (docs/groups.md): an actor that takes requests of type Task and hands each to a
/// member of a group, by policy, at most max_in_flight at a time per member; the member's
/// Result goes back to the requester as the answer to its own request. A task whose
/// member dies, stops or does not answer in time goes to another member: each task runs
/// at least once, and its requester gets one answer (the first; a late one is dropped).
///
///     node.spawn<courier::Pool<Job, Done>>("farm", "workers", courier::PoolOptions{});
///     self.request<Done>("farm", Job{42}, 60s, [](Expected<Done, Error> done) { ... });

#include <courier/framework/actor.hpp>
#include <courier/framework/detail/pool_members.hpp>
#include <courier/framework/group.hpp>
#include <courier/framework/system_messages.hpp>

#include <cereal/types/vector.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace courier {

struct PoolOptions {
    PoolPolicy policy = PoolPolicy::least_in_flight;
    /// Tasks a member may have unanswered at once.
    std::size_t max_in_flight = 1;
    /// Tasks waiting for a member; one more is refused at once (Error{mailbox_full}), so
    /// a pool with no members holds bounded memory.
    std::size_t max_queued = 100'000;
    /// How long a member may take over one task before the pool gives up on it (it
    /// hangs, or is stopped) and the task goes to another.
    std::chrono::milliseconds attempt_timeout{30'000};
    /// Attempts per task; then its requester gets the last error.
    std::size_t max_attempts = 10;
};

/// Sent by a worker to a pool whose policy is on_demand: "send me `count` more tasks".
struct Demand {
    std::uint32_t count = 1;
    template <class A>
    void serialize(A& a) {
        a(count);
    }
};

/// Asks a pool for its PoolStats.
struct PoolQuery {
    template <class A>
    void serialize(A&) {}
};

struct PoolMemberStats {
    GroupMember member;
    std::uint64_t in_flight = 0;
    std::uint64_t done = 0;
    std::uint64_t retried = 0;  ///< tasks that failed on it and went to another
    template <class A>
    void serialize(A& a) {
        a(member, in_flight, done, retried);
    }
};

/// What a pool has done since it started.
struct PoolStats {
    std::uint64_t submitted = 0;
    std::uint64_t answered = 0;
    std::uint64_t retried = 0;  ///< attempts that failed and were made again elsewhere
    std::uint64_t failed = 0;   ///< tasks whose requester got an error
    std::uint64_t queued = 0;
    std::uint64_t in_flight = 0;
    std::vector<PoolMemberStats> members;
    template <class A>
    void serialize(A& a) {
        a(submitted, answered, retried, failed, queued, in_flight, members);
    }
};

template <Message Task, Message Result>
class Pool final : public Actor {
  public:
    explicit Pool(std::string group, PoolOptions options = {})
        : group_(std::move(group)),
          options_(options),
          members_(options.policy, options.max_in_flight) {}

  protected:
    void on_start() override {
        handle([this](Task& task) { take(std::move(task)); });
        handle([this](MemberJoined& joined) {
            members_.joined(joined.member);
            dispatch();
        });
        handle([this](MemberLeft& left) { members_.left(left.member.name); });
        handle([this](Demand& demand) {
            if (members_.asked(sender(), demand.count)) dispatch();
        });
        handle([this](PoolQuery&) { reply(stats()); });
        auto now = watch_group(group_);
        if (!now) throw std::runtime_error("pool '" + name() + "': " + now.error().message);
        for (const auto& member : *now) members_.joined(member);
    }

  private:
    struct Job {
        Task task;
        ReplyHandle reply;
        std::size_t attempts = 0;
        std::string failed_on;  ///< the member of its last attempt, when that failed
    };
    struct InFlight {
        GroupMember member;
        Job job;
    };

    void take(Task&& task) {
        if (queue_.size() >= options_.max_queued) {
            reply(Failure{
                ErrorCode::mailbox_full,
                "pool '" + name() + "' holds " + std::to_string(queue_.size()) + " tasks already"});
            return;
        }
        ++submitted_;
        queue_.push_back(Job{std::move(task), reply_later(), 0, {}});
        dispatch();
    }

    void dispatch() {
        while (!queue_.empty()) {
            auto member = members_.choose(queue_.front().failed_on);
            if (!member) return;
            Job job = std::move(queue_.front());
            queue_.pop_front();
            start(*member, std::move(job));
        }
    }

    void start(const GroupMember& member, Job job) {
        members_.sent(member);
        ++job.attempts;
        const std::uint64_t id = next_id_++;
        Task copy = job.task;  // the job keeps one to try again with
        in_flight_.emplace(id, InFlight{member, std::move(job)});
        request<Result>(
            member.name, std::move(copy), options_.attempt_timeout,
            [this, id](Expected<Result, Error> result) { finished(id, std::move(result)); });
    }

    void finished(std::uint64_t id, Expected<Result, Error> result) {
        auto entry = in_flight_.extract(id);
        if (entry.empty()) return;
        InFlight& done = entry.mapped();
        members_.returned(done.member, result.has_value());
        if (result) {
            ++answered_;
            done.job.reply.send(std::move(*result));
        } else if (worth_retrying(result.error().code) &&
                   done.job.attempts < options_.max_attempts) {
            ++retried_;
            done.job.failed_on = done.member.name;
            queue_.push_front(std::move(done.job));  // first in line: it waited longest
        } else {
            ++failed_;
            done.job.reply.send(Failure{result.error().code, "task failed on '" + done.member.name +
                                                                 "' (attempt " +
                                                                 std::to_string(done.job.attempts) +
                                                                 "): " + result.error().message});
        }
        dispatch();
    }

    /// The member, not the task, failed: another member may do it.
    static bool worth_retrying(ErrorCode code) noexcept {
        switch (code) {
            case ErrorCode::timeout:
            case ErrorCode::unknown_name:
            case ErrorCode::link_failed:
            case ErrorCode::stopped:
            case ErrorCode::peer_down:
            case ErrorCode::mailbox_full:
                return true;
            default:
                return false;
        }
    }

    PoolStats stats() const {
        PoolStats s{submitted_, answered_, retried_, failed_, queue_.size(), in_flight_.size(), {}};
        for (const auto& m : members_.all())
            s.members.push_back(PoolMemberStats{m.who, m.in_flight, m.done, m.retried});
        return s;
    }

    std::string group_;
    PoolOptions options_;
    detail::PoolMembers members_;
    std::deque<Job> queue_;
    std::map<std::uint64_t, InFlight> in_flight_;
    std::uint64_t next_id_ = 1;
    std::uint64_t submitted_ = 0, answered_ = 0, retried_ = 0, failed_ = 0;
};

}  // namespace courier

COURIER_MESSAGE(courier::Demand, "courier.Demand");
COURIER_MESSAGE(courier::PoolQuery, "courier.PoolQuery");
COURIER_MESSAGE(courier::PoolStats, "courier.PoolStats");
