#pragma once
/// @file
/// The heartbeat settings a transport may declare (today tcp:). The node, not the
/// transport, keeps the heartbeat (framework/src/heartbeats.hpp): on a link of a
/// transport that declares these, it sends a small frame when the link has sent nothing
/// for an interval (with Link::try_send, which never blocks), and drops the link when
/// nothing at all has arrived for the timeout. So a peer that hangs (SIGSTOP) or a
/// network that is cut is noticed within the timeout, where the kernel would say nothing
/// for minutes.

#include <courier/transports/setting.hpp>

namespace courier {

inline constexpr SettingSpec heartbeat_interval_setting{
    "heartbeat_interval_us", SettingType::duration, 1'000'000, 0,
    "send a heartbeat on a link that sent nothing for this long; 0 turns heartbeats off"};
inline constexpr SettingSpec heartbeat_timeout_setting{
    "heartbeat_timeout_us", SettingType::duration, 5'000'000, 1,
    "drop a link that received nothing for this long (heartbeats included); keep it a few "
    "intervals, and longer than the largest frame takes to arrive"};

}  // namespace courier
