// etcd's v3 JSON gateway, as etcd_client.hpp says. The gateway's JSON is protobuf's
// mapping: 64-bit integers are strings, bytes are base64, and a field at its default (0,
// false, an empty list, the first enum value) is left out.

#include "registry/etcd_client.hpp"

#include <httplib.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include <mutex>

namespace courier::registry {

namespace {

using nlohmann::json;

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unbase64(const std::string& text) {
    if (text.empty()) return {};
    if (text.size() % 4 != 0) throw EtcdError("etcd sent base64 of a wrong length");
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) throw EtcdError("etcd sent invalid base64");
    // EVP_DecodeBlock counts the padding as bytes.
    std::size_t size = static_cast<std::size_t>(n);
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
    out.resize(size);
    return out;
}

/// A 64-bit field: a string in the gateway's JSON, absent when 0.
std::int64_t integer(const json& object, const char* field) {
    auto it = object.find(field);
    if (it == object.end() || it->is_null()) return 0;
    if (it->is_string()) return std::stoll(it->get<std::string>());
    return it->get<std::int64_t>();
}

std::string bytes(const json& object, const char* field) {
    auto it = object.find(field);
    return it == object.end() ? std::string{} : unbase64(it->get<std::string>());
}

EtcdClient::KeyValue key_value(const json& kv) {
    return {bytes(kv, "key"), bytes(kv, "value"), integer(kv, "create_revision"),
            integer(kv, "mod_revision"), integer(kv, "lease")};
}

json put_request(const std::string& key, const std::string& value, std::int64_t lease) {
    json put{{"key", base64(key)}, {"value", base64(value)}};
    if (lease != 0) put["lease"] = std::to_string(lease);
    return put;
}

}  // namespace

std::string prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        if (static_cast<unsigned char>(end.back()) < 0xff) {
            ++end.back();
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

struct EtcdClient::Impl {
    std::vector<std::string> endpoints;
    std::chrono::milliseconds timeout;
    std::size_t current = 0;
    std::mutex mutex;  ///< guards client and stopping against stop() from another thread
    std::unique_ptr<httplib::Client> client;
    bool stopping = false;

    /// The client of the current endpoint, made when none is.
    httplib::Client& connect(std::chrono::milliseconds read_timeout) {
        std::lock_guard held(mutex);
        if (stopping) throw EtcdError("stopped");
        if (!client) {
            client = std::make_unique<httplib::Client>(endpoints[current]);
            client->set_keep_alive(true);
            client->set_connection_timeout(timeout);
            client->set_write_timeout(timeout);
        }
        client->set_read_timeout(read_timeout);
        return *client;
    }

    /// Drops the connection and moves to the next endpoint; throws what went wrong.
    [[noreturn]] void fail(const std::string& what) {
        const std::string message = "etcd at " + endpoints[current] + ": " + what;
        {
            std::lock_guard held(mutex);
            client.reset();
            current = (current + 1) % endpoints.size();
        }
        throw EtcdError(message);
    }

    json post(const std::string& path, const json& request) {
        auto& c = connect(timeout);
        httplib::Request req;
        req.method = "POST";
        req.path = path;
        req.body = request.dump();
        req.set_header("Content-Type", "application/json");
        // The body is taken as it comes: the gateway ends an error's chunked body with a
        // trailer that cpp-httplib 0.11 fails to read, after the body it needs.
        std::string body;
        req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
            body.append(data, size);
            return true;
        };
        httplib::Response res;
        httplib::Error error = httplib::Error::Success;
        const bool sent = c.send(req, res, error);
        json answer = json::parse(body, nullptr, false);
        if (res.status <= 0 || (!sent && (res.status == 200 || answer.is_discarded())))
            fail(path + ": " + httplib::to_string(error));
        if (answer.is_discarded() || !answer.is_object())
            fail(path + ": an answer that is not JSON");
        if (!sent) {
            // The connection is left in a state of its own: start a fresh one.
            std::lock_guard held(mutex);
            client.reset();
        }
        if (res.status != 200) {
            // A refusal is etcd's answer, not a broken endpoint: the endpoint stays.
            throw EtcdError("etcd at " + endpoints[current] + ": " + path + ": " +
                            answer.value("message", answer.value("error", std::string{})) +
                            " (HTTP " + std::to_string(res.status) + ")");
        }
        return answer;
    }
};

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    if (endpoints.empty()) throw std::invalid_argument("etcd: no endpoint");
    impl_->endpoints = std::move(endpoints);
    impl_->timeout = timeout;
}

EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::endpoint() const {
    return impl_->endpoints[impl_->current];
}

std::int64_t EtcdClient::grant(std::chrono::seconds ttl) {
    const json answer = impl_->post("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}});
    if (answer.contains("error") && !answer["error"].get<std::string>().empty())
        throw EtcdError("etcd: lease grant: " + answer["error"].get<std::string>());
    const std::int64_t id = integer(answer, "ID");
    if (id == 0) throw EtcdError("etcd: lease grant: no lease id in the answer");
    return id;
}

bool EtcdClient::keep_alive(std::int64_t id) {
    // The gateway streams: one request line in, one result out.
    const json answer = impl_->post("/v3/lease/keepalive", {{"ID", std::to_string(id)}});
    const json& result = answer.contains("result") ? answer["result"] : answer;
    return integer(result, "TTL") > 0;
}

void EtcdClient::revoke(std::int64_t id) {
    try {
        impl_->post("/v3/lease/revoke", {{"ID", std::to_string(id)}});
    } catch (const EtcdError& e) {
        // Already gone is what revoking wants.
        if (std::string(e.what()).find("not found") == std::string::npos) throw;
    }
}

void EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
    impl_->post("/v3/kv/put", put_request(key, value, lease));
}

std::optional<EtcdClient::KeyValue> EtcdClient::create(const std::string& key,
                                                       const std::string& value,
                                                       std::int64_t lease) {
    const json request{
        {"compare", json::array({{{"key", base64(key)},
                                  {"target", "CREATE"},
                                  {"result", "EQUAL"},
                                  {"create_revision", "0"}}})},
        {"success", json::array({{{"request_put", put_request(key, value, lease)}}})},
        {"failure", json::array({{{"request_range", {{"key", base64(key)}}}}})}};
    const json answer = impl_->post("/v3/kv/txn", request);
    if (answer.value("succeeded", false)) return std::nullopt;
    for (const auto& response : answer.value("responses", json::array())) {
        const auto range = response.find("response_range");
        if (range == response.end()) continue;
        for (const auto& kv : range->value("kvs", json::array())) return key_value(kv);
    }
    // Deleted between the compare and the range: there is no other holder now.
    return KeyValue{key, {}, 0, 0, 0};
}

bool EtcdClient::erase(const std::string& key) {
    return integer(impl_->post("/v3/kv/deleterange", {{"key", base64(key)}}), "deleted") > 0;
}

EtcdClient::Range EtcdClient::range(const std::string& prefix) {
    const json answer = impl_->post(
        "/v3/kv/range", {{"key", base64(prefix)}, {"range_end", base64(prefix_end(prefix))}});
    Range range;
    range.revision = integer(answer.value("header", json::object()), "revision");
    for (const auto& kv : answer.value("kvs", json::array())) range.kvs.push_back(key_value(kv));
    return range;
}

void EtcdClient::watch(const std::string& prefix, std::int64_t revision,
                       const std::function<void(std::vector<Event>)>& on) {
    const json create{{"create_request",
                       {{"key", base64(prefix)},
                        {"range_end", base64(prefix_end(prefix))},
                        {"start_revision", std::to_string(revision)}}}};
    // A watch is silent while nothing changes: only stop() or a broken connection end it.
    auto& c = impl_->connect(std::chrono::hours(24));
    httplib::Request request;
    request.method = "POST";
    request.path = "/v3/watch";
    request.body = create.dump();
    request.set_header("Content-Type", "application/json");
    std::string pending;  // a line of the stream not yet whole
    std::string refused;  // why etcd ended the watch
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
        pending.append(data, size);
        for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
            const json line = json::parse(pending.substr(0, eol), nullptr, false);
            pending.erase(0, eol + 1);
            if (line.is_discarded() || !line.is_object()) {
                refused = "a line of the watch that is not JSON";
                return false;
            }
            if (line.contains("error")) {
                refused = line["error"].value("message", "an error");
                return false;
            }
            const json& result = line.value("result", json::object());
            if (result.value("canceled", false)) {
                refused = "watch canceled: " + result.value("cancel_reason", std::string{});
                if (integer(result, "compact_revision") > 0) refused += " (compacted)";
                return false;
            }
            std::vector<Event> events;
            for (const auto& e : result.value("events", json::array()))
                events.push_back({e.value("type", std::string{"PUT"}) != "DELETE",
                                  key_value(e.value("kv", json::object()))});
            if (!events.empty()) on(std::move(events));
        }
        return true;
    };
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    const bool sent = c.send(request, response, error);
    {
        std::lock_guard held(impl_->mutex);
        if (impl_->stopping) return;
    }
    if (!refused.empty()) throw EtcdError("etcd at " + endpoint() + ": " + refused);
    if (!sent) impl_->fail("/v3/watch: " + httplib::to_string(error));
    impl_->fail("/v3/watch: the stream ended (HTTP " + std::to_string(response.status) + ")");
}

void EtcdClient::interrupt() {
    std::lock_guard held(impl_->mutex);
    if (impl_->client) impl_->client->stop();
}

void EtcdClient::stop() {
    std::lock_guard held(impl_->mutex);
    impl_->stopping = true;
    if (impl_->client) impl_->client->stop();
}

}  // namespace courier::registry
