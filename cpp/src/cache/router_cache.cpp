// router_cache.cpp — hits replayed, misses recorded (router_cache.hpp).
#include "llmfailover/cache/router_cache.hpp"

#include <algorithm>
#include <mutex>

#include "llmfailover/cache/redis_cache.hpp"

namespace llmfailover::cache {

namespace {

// A stored answer, replayed: the channel holds every event at once.
class ReplayCall final : public RoutedCall {
 public:
  ReplayCall(const std::string& group, Answer a) {
    served_.group = group;
    served_.target = "cache";
    served_.provider = "cache";
    served_.model = group;
    served_.status = a.status;
    served_.decision = "cache_hit";
    served_.error_class = "none";
    a.headers.push_back({"x-llmfailover-cache", "hit"});
    channel_.push(Event::head(a.status, std::move(a.headers)));
    for (auto& e : a.events) channel_.push(std::move(e));
    channel_.push(Event::end());
  }
  Channel& channel() override { return channel_; }
  std::vector<AttemptRecord> attempts() const override { return {}; }
  int retries_taken() const override { return 0; }
  std::optional<RouteAttempt> served() const override { return served_; }
  std::vector<RouteAttempt> route_log() const override { return {served_}; }
  bool degraded() const override { return false; }
  metrics::CallCost cost() const override {  // a replayed answer costs nothing upstream
    metrics::CallCost c;
    c.usage_known = true;
    c.cost = metrics::CostBreakdown{};
    c.deployment = served_.deployment;
    c.target = served_.target;
    return c;
  }

 private:
  Channel channel_;
  RouteAttempt served_;
};

// A routed call whose events pass through on their way to the caller and are stored when the
// answer ends complete. The routed call's own channel is drained as it fills (its notify), so
// ordering holds under mutex_. The notify runs inside the routed call's push, under its lock: the
// pump must never call the routed call (served(), degraded(), ...), or it would deadlock.
class RecordingCall final : public RoutedCall, public std::enable_shared_from_this<RecordingCall> {
 public:
  RecordingCall(std::shared_ptr<RoutedCall> inner, std::shared_ptr<Store> cache, std::string key,
                const CacheConfig& config)
      : inner_(std::move(inner)), cache_(std::move(cache)), key_(std::move(key)), config_(config) {}

  void start() {
    out_.on_cancel([inner = inner_] { inner->cancel(); });
    inner_->channel().set_notify([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->pump();
    });
  }
  Channel& channel() override { return out_; }
  std::vector<AttemptRecord> attempts() const override { return inner_->attempts(); }
  int retries_taken() const override { return inner_->retries_taken(); }
  std::optional<RouteAttempt> served() const override { return inner_->served(); }
  std::vector<RouteAttempt> route_log() const override { return inner_->route_log(); }
  bool degraded() const override { return inner_->degraded(); }
  metrics::CallCost cost() const override { return inner_->cost(); }

 private:
  void pump() {
    std::lock_guard lock(mutex_);
    std::vector<Event> events;
    inner_->channel().poll(events);
    for (auto& e : events) {
      record(e);
      out_.push(std::move(e));
    }
  }

  void record(const Event& e) {
    if (!keep_) return;
    switch (e.kind) {
      case Event::Kind::head:
        // A degraded answer (router.hpp) says so in its head: it stands in for an outage, never stored.
        keep_ = e.status >= 200 && e.status <= 299 && !find_header(e.headers, "x-llmfailover-degraded");
        answer_.status = e.status;
        answer_.headers = e.headers;
        break;
      case Event::Kind::body:
      case Event::Kind::sse:
        bytes_ += e.data.size() + e.event.size() + e.id.size();
        keep_ = bytes_ <= config_.max_bytes;  // it could never fit: stop copying
        if (keep_) answer_.events.push_back(e);
        // A chat stream is complete at `data: [DONE]`, and a caller stops reading there
        // (_streaming.py): storing only at the end event would let its next identical call,
        // started at once, miss the answer that is about to be stored.
        if (keep_ && e.kind == Event::Kind::sse && e.data == "[DONE]") store();
        break;
      case Event::Kind::error: keep_ = false; break;
      case Event::Kind::end: store(); break;
    }
  }

  // Runs inside the routed call's push (its lock held): nothing here may call back into it.
  void store() {
    if (keep_ && answer_.status) cache_->put(key_, encode_answer(answer_), config_.ttl);
    keep_ = false;
    answer_ = {};
  }

  std::shared_ptr<RoutedCall> inner_;
  std::shared_ptr<Store> cache_;
  std::string key_;
  CacheConfig config_;
  std::mutex mutex_;
  Channel out_;
  Answer answer_;
  std::size_t bytes_ = 0;
  bool keep_ = true;
};

}  // namespace

std::unique_ptr<RouterCache> RouterCache::make(const std::map<std::string, CacheConfig>& groups,
                                               const TimeSource& time) {
  auto out = std::make_unique<RouterCache>();
  std::vector<std::pair<CacheConfig, std::shared_ptr<Store>>> shared;
  for (const auto& entry : groups) {
    const std::string& group = entry.first;
    const CacheConfig& c = entry.second;               // not a structured binding: clang 14 cannot capture one
    if (!c.enabled || c.type == "semantic") continue;  // python/llmfailover/_semantic.py
    // Groups with one config share one store (the group is part of every key).
    auto it = std::find_if(shared.begin(), shared.end(), [&](const auto& s) { return s.first == c; });
    if (it == shared.end()) {
      std::shared_ptr<Store> s;
      if (c.type == "redis") s = std::make_shared<RedisCache>(c.url, c.timeout, c.max_bytes, c.tls);
      else s = std::make_shared<ExactCache>(c.max_bytes, time);
      it = shared.insert(shared.end(), {c, std::move(s)});
    }
    const std::shared_ptr<Store>& store = it->second;
    out->stores_[group] = {c, store};
  }
  if (out->stores_.empty()) return nullptr;
  return out;
}

std::shared_ptr<RoutedCall> RouterCache::route(RouteRequest request, bool use, const std::string& caller_ns,
                                               const Start& start) {
  auto it = stores_.find(request.model);
  if (it == stores_.end() || !use) return start(std::move(request));
  const GroupStore& store = it->second;
  const std::string& body = request.call.body;
  auto key = cache_key(request_namespace(caller_ns, body), request.model, request.call.method, request.call.path,
                       request.stream, body);
  if (!key) return start(std::move(request));
  if (auto bytes = store.cache->get(*key)) {
    if (auto answer = decode_answer(*bytes)) {
      store.lookups->hits.fetch_add(1, std::memory_order_relaxed);
      return std::make_shared<ReplayCall>(request.model, std::move(*answer));
    }
    store.cache->erase(*key);  // malformed: dropped, never served
  }
  store.lookups->misses.fetch_add(1, std::memory_order_relaxed);
  auto call = std::make_shared<RecordingCall>(start(std::move(request)), store.cache, std::move(*key), store.config);
  call->start();
  return call;
}

std::vector<metrics::CacheSnapshot> RouterCache::stats() const {
  std::vector<metrics::CacheSnapshot> out;
  for (const auto& [group, s] : stores_)
    out.push_back({group, s.config.type == "redis" ? "redis" : "memory",
                   s.lookups->hits.load(std::memory_order_relaxed), s.lookups->misses.load(std::memory_order_relaxed)});
  return out;
}

}  // namespace llmfailover::cache
