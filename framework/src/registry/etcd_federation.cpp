#include "registry/etcd_federation.hpp"

#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

namespace courier::registry {

EtcdFederation::Options EtcdFederation::options_of(const FederationOptions& federation,
                                                   std::string listen) {
    Options etcd;
    etcd.endpoints = federation.etcd;
    etcd.prefix = federation.etcd_prefix;
    etcd.ttl = std::chrono::seconds(
        std::max<std::int64_t>(2, (federation.host_down.count() + 999) / 1000));
    etcd.redial = federation.redial;
    etcd.listen = std::move(listen);
    return etcd;
}

EtcdFederation::EtcdFederation(Options options, NameTable& table, detail::Reactor& reactor)
    : options_(std::move(options)),
      table_(table),
      reactor_(reactor),
      view_(options_.prefix, table.host(), *this) {
    EtcdStore::Settings settings;
    settings.endpoints = options_.endpoints;
    settings.host_key = view_.host_key(table_.host());
    settings.host_value = EtcdView::host_value(table_.host(), options_.listen);
    settings.prefix = options_.prefix + "/";
    settings.ttl = options_.ttl;
    settings.redial = options_.redial;
    settings.timeout = options_.timeout;
    EtcdStore::Sink sink;
    sink.snapshot = [this](EtcdClient::Range range) {
        post([this, kvs = std::move(range.kvs)] { view_.snapshot(kvs); });
    };
    sink.events = [this](std::vector<EtcdClient::Event> events) {
        post([this, events = std::move(events)]() mutable { view_.events(std::move(events)); });
    };
    sink.claimed = [this](std::uint64_t token, std::optional<EtcdClient::KeyValue> holder) {
        post([this, token, holder = std::move(holder)] { claimed(token, holder); });
    };
    sink.unreachable = [this] { post([this] { view_.lost(); }); };
    log().info("etcd mode: this host is '{}' under {} in etcd at {}", table_.host(),
               options_.prefix, options_.endpoints.front());
    store_ = std::make_unique<EtcdStore>(std::move(settings), std::move(sink));
    table_.join_cluster(this);
}

void EtcdFederation::start(std::optional<EtcdFederation>& into, Options options, NameTable& table,
                           detail::Reactor& reactor) {
    std::promise<void> made;
    reactor.after(std::chrono::milliseconds{0}, [&] {
        try {
            into.emplace(std::move(options), table, reactor);
            made.set_value();
        } catch (...) {
            made.set_exception(std::current_exception());
        }
    });
    made.get_future().get();
}

EtcdFederation::~EtcdFederation() {
    table_.join_cluster(nullptr);
    store_.reset();
}

void EtcdFederation::post(std::function<void()> fn) {
    reactor_.after(std::chrono::milliseconds{0}, std::move(fn));
}

void EtcdFederation::claim(const HostName& entry, std::function<void(const std::string&)> done) {
    if (!store_) return done("courierd is stopping");
    const std::uint64_t token = next_claim_++;
    if (!store_->claim(token, view_.name_key(entry.name),
                       EtcdView::name_value(table_.host(), entry)))
        return done("etcd is away and " + std::to_string(store_->max_claims()) +
                    " registrations wait for it already");
    const auto deadline = reactor_.after(options_.claim_timeout, [this, token] {
        finish(token, "etcd did not answer within " +
                          std::to_string(options_.claim_timeout.count()) + " ms");
    });
    claims_.emplace(token, Claim{entry, std::move(done), deadline});
}

void EtcdFederation::finish(std::uint64_t token, const std::string& refusal) {
    auto it = claims_.find(token);
    if (it == claims_.end() || !it->second.done) return;
    auto done = std::move(it->second.done);
    it->second.done = nullptr;  // kept until the store answers: see claimed()
    reactor_.cancel(it->second.deadline);
    done(refusal);
}

void EtcdFederation::claimed(std::uint64_t token, std::optional<EtcdClient::KeyValue> holder) {
    auto it = claims_.find(token);
    if (it == claims_.end()) return;
    const HostName entry = it->second.entry;
    const bool refused_already = !it->second.done;  // at its deadline
    const auto host = holder ? EtcdView::host_of_name(holder->value) : std::optional<std::string>{};
    const bool ours = !holder || (host && *host == table_.host());
    if (refused_already) {
        claims_.erase(it);
        // The node was told no: a name taken after all goes back.
        if (ours) name_down(entry, down_unregistered);
        return;
    }
    // Held by this host already: from before a restart of courierd, whose lease has not
    // ended yet. It is this courierd's now.
    if (holder && ours) name_up(entry);
    finish(token,
           ours ? std::string{}
                : "name '" + entry.name + "' is held by host '" + host.value_or("?") + "' (etcd)");
    claims_.erase(token);
}

void EtcdFederation::name_up(const HostName& entry) {
    if (store_) store_->put(view_.name_key(entry.name), EtcdView::name_value(table_.host(), entry));
}

void EtcdFederation::name_down(const HostName& entry, const std::string& reason) {
    // Put with its reason before it goes: the other hosts tell it as in the static mode.
    if (store_)
        store_->end(view_.name_key(entry.name), EtcdView::name_value(table_.host(), entry, reason));
}

void EtcdFederation::group_change(const GroupChange& change) {
    if (!store_) return;
    const std::string key = view_.member_key(table_.host(), change.group, change.member.name);
    if (change.joined)
        store_->put(key, EtcdView::member_value(change.member));
    else
        store_->end(key, EtcdView::member_value(change.member, change.reason));
}

void EtcdFederation::host_up(const HostNames& all, const std::string& courierd) {
    table_.cluster_host_up(all, courierd);
}

void EtcdFederation::host_gone(const std::string& host) {
    table_.cluster_host_gone(host, "its lease in etcd ended");
}

void EtcdFederation::name_up(const std::string& host, const HostName& entry) {
    table_.cluster_name_up(host, entry);
}

void EtcdFederation::name_down(const std::string& host, const HostNameDown& down) {
    table_.cluster_name_down(host, down);
}

void EtcdFederation::group_change(const std::string& host, const GroupChange& change) {
    table_.cluster_group_change(host, change);
}

}  // namespace courier::registry
