#pragma once
/// @file
/// Everything an application needs: nodes, actors, messages, errors, the config, child
/// processes. What is under courier/framework/detail/ (letters and their bodies) is here
/// only because the templates of Actor and Node need it; names in `courier::detail` are
/// not for applications.

#include <courier/expected.hpp>
#include <courier/fd.hpp>
#include <courier/framework/actor.hpp>
#include <courier/framework/actor_placement.hpp>
#include <courier/framework/child_process.hpp>
#include <courier/framework/config.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/failure_policy.hpp>
#include <courier/framework/group.hpp>
#include <courier/framework/node.hpp>
#include <courier/framework/placement.hpp>
#include <courier/framework/pool.hpp>
#include <courier/framework/registry_options.hpp>
#include <courier/framework/supervisor.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/serialization/bytes.hpp>
#include <courier/serialization/message_type.hpp>
