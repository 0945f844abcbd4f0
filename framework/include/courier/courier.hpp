#pragma once
/// @file
/// Everything an application needs: nodes, actors, messages.

#include <courier/framework/actor.hpp>
#include <courier/framework/config.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/node.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/serialization/message_type.hpp>
