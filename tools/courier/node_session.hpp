#pragma once
/// @file
/// How `courier` reaches what it inspects: the registry of a runtime directory, and a link
/// to one node over which it asks questions (its links, a ping to one of its actors).

#include "node_protocol.hpp"
#include "registry/registry_client.hpp"

#include <courier/expected.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/link.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::cli {

/// The runtime directory `--runtime-dir` names, else the default one.
std::filesystem::path registry_dir(const std::string& runtime_dir);

/// What `ask` asks the registry, or nullopt (with a message printed on `notes`) when there
/// is no registry. Never starts a registry.
template <class Ask>
auto ask_registry(const std::string& runtime_dir, const char* command, Ask ask,
                  std::ostream& notes = std::cout)
    -> std::optional<decltype(ask(std::declval<RegistryClient&>()))> {
    RegistryOptions options;
    options.runtime_dir = registry_dir(runtime_dir);
    options.autostart = false;
    try {
        RegistryClient client(options);
        return ask(client);
    } catch (const RegistryNotRunning&) {
        notes << "no courier registry is running in " << options.runtime_dir.string() << "\n";
    } catch (const RegistryError& e) {
        std::cerr << "courier " << command << ": " << e.what() << "\n";
    }
    return std::nullopt;
}

/// A link to one node, kept open for as many questions as the caller has (`courier top`
/// asks every second). It says hello under a name no node has, so the node keeps it open
/// and lists it as a link to no node.
class NodeSession {
  public:
    /// Connects to the first of `endpoints` that accepts; the error says what each said.
    static Expected<NodeSession, std::string> open(const std::vector<std::string>& endpoints);

    /// Sends `question` to `recipient` as a request and waits up to `within` for its
    /// answer, an `Answer`. A Failure in answer, or none in time, is the error.
    template <class Answer, class Question>
    Expected<Answer, std::string> ask(const std::string& recipient, const Question& question,
                                      std::chrono::milliseconds within) {
        EnvelopeHeader header;
        header.flags = envelope_flags::request;
        header.correlation = ++correlation_;
        header.sender = sender_;
        header.recipient = recipient;
        auto answer = exchange(encode_message(header, question), type_id_of<Answer>(), within);
        if (!answer) return Unexpected{answer.error()};
        auto decoded = decode_payload<Answer>(answer->payload());
        if (!decoded) return Unexpected{decoded.error().message};
        return std::move(*decoded);
    }

    const std::string& endpoint() const { return endpoint_; }

  private:
    /// The answer's frame and where its payload lies in it.
    struct Answer {
        Frame frame;
        std::size_t payload_offset = 0;
        std::span<const std::byte> payload() const { return frame.data().subspan(payload_offset); }
    };
    NodeSession(std::unique_ptr<Link> link, std::string endpoint);
    Expected<Answer, std::string> exchange(std::vector<std::byte> frame, TypeId answer_type,
                                           std::chrono::milliseconds within);

    std::unique_ptr<Link> link_;
    std::string endpoint_;
    std::string sender_;
    std::uint64_t correlation_ = 0;
};

/// What node `node` says of itself (its links, mailboxes and counters), asked through
/// courierd; the error says why there is no answer. Throws RegistryError.
Expected<LinkList, std::string> inspect(RegistryClient& registry, const std::string& node);

/// A registered node and what it said of itself.
struct NodeReport {
    registry::NodeInfo node;
    Expected<LinkList, std::string> said;
};
/// Every registered node, each asked through courierd; nullopt (with a message printed on
/// `notes`) when there is no registry.
std::optional<std::vector<NodeReport>> inspect_all(const std::string& runtime_dir,
                                                   const char* command, std::ostream& notes);

}  // namespace courier::cli
