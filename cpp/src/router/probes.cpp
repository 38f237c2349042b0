// probes.cpp — the router's active health probes (probes.hpp).
#include "probes.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "router_impl.hpp"

namespace llmfailover {

struct Prober::Slot {
  Target* target = nullptr;
  HealthCheckConfig cfg;
  std::shared_ptr<transport::Exchange> pending;  // the timer or the probe in flight (for stop())
  bool reported_unsendable = false;              // a probe that cannot be translated is reported once
};

namespace {

constexpr std::size_t kMaxBody = std::size_t{64} * 1024;  // enough to classify an error answer

// One probe's response as it arrives.
struct Answer {
  int status = 0;
  Headers headers;
  std::string body;
};

// A finished probe's verdict. Never throws: an answer with wrong-typed fields fails the probe.
std::pair<ErrorClass, std::string> judge(const Target& t, const Answer& answer, const Event& e,
                                         bool data_plane) noexcept {
  try {
    ErrorClass cls = ErrorClass::none;
    std::string detail;
    if (e.kind == Event::Kind::error) {
      // No answer in time (refused, reset, any timeout): the probe failed, whatever the class.
      cls = ErrorClass::retryable;
      detail = std::string(to_string(e.error.code));
    } else if (answer.status >= 200 && answer.status < 300) {
      detail = "status " + std::to_string(answer.status);
      if (data_plane) {
        try {
          (void)t.provider->chat_response(t.endpoint, answer.body);  // a 200 that is no answer fails
        } catch (const providers::TranslationError& x) {
          cls = x.verdict() ? x.verdict()->cls : ErrorClass::retryable;
          detail += x.verdict() ? ": " + x.verdict()->reason : std::string(": bad_response");
        }
      }
    } else {
      auto v = t.provider->classify(answer.status, answer.headers, answer.body);
      cls = v.cls;
      detail = "status " + std::to_string(answer.status) + ": " + v.reason;
    }
    return {cls, detail};
  } catch (const std::exception&) {  // an answer with wrong-typed fields: the probe failed, never the io thread
    return {ErrorClass::retryable, "status " + std::to_string(answer.status) + ": bad_response"};
  }
}

Timeouts probe_timeouts(const HealthCheckConfig& cfg) {
  Timeouts t;
  t.connect = t.first_byte = t.idle = t.total = cfg.timeout;
  return t;
}

// "https://host:port/v1/messages?x" -> "https://host:port".
std::string origin_of(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto path = url.find_first_of("/?#", scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// The probe in the target's dialect: the 1-token completion, or the GET of `path` carrying the
// completion's headers (its auth). Throws TranslationError when the provider cannot express it.
HttpRequest probe_request(const Target& t, const providers::Endpoint& ep, const HealthCheckConfig& cfg) {
  nlohmann::json message = {{"role", "user"}, {"content", cfg.prompt}};
  nlohmann::json body = {{"model", t.deployment->model}, {"messages", nlohmann::json::array()}, {"max_tokens", 1}};
  body["messages"].push_back(std::move(message));
  const Timeouts timeouts = probe_timeouts(cfg);
  HttpRequest chat = t.provider->chat_request(ep, body, false, timeouts).http;
  if (cfg.path.empty()) return chat;
  HttpRequest get;
  get.method = "GET";
  get.timeouts = timeouts;
  std::string base = ep.base_url.empty() ? origin_of(chat.url) : ep.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  get.url = base + cfg.path;
  for (auto& h : chat.headers)
    if (!iequals(h.name, "content-type") && !iequals(h.name, "content-length")) get.headers.push_back(std::move(h));
  return get;
}

}  // namespace

const HealthCheckConfig& health_check_for(const Target& t) {
  if (t.deployment->health_check) return *t.deployment->health_check;
  return t.owner->policy->health_check;
}

Prober::Prober() = default;
Prober::~Prober() { stop(); }

void Prober::start(const std::shared_ptr<Router::Impl>& router) {
  router_ = router;
  Router::Impl& r = *router;
  {
    std::lock_guard lock(mutex_);
    for (auto& t : r.targets) {
      const HealthCheckConfig& cfg = health_check_for(*t);
      if (!cfg.enabled) continue;
      t->health->set_probes(cfg);
      auto s = std::make_unique<Slot>();
      s->target = t.get();
      s->cfg = cfg;
      slots_.push_back(std::move(s));
    }
  }
  for (auto& s : slots_) schedule(r, *s);
}

void Prober::stop() {
  if (stopped_.exchange(true)) return;
  std::vector<std::shared_ptr<transport::Exchange>> pending;
  {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_)
      if (s->pending) pending.push_back(std::move(s->pending));
  }
  for (auto& p : pending) p->cancel();
}

std::size_t Prober::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

void Prober::keep(Slot& s, std::shared_ptr<transport::Exchange> handle) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      s.pending = std::move(handle);
      return;
    }
  }
  if (handle) handle->cancel();  // stop() ran meanwhile
}

void Prober::schedule(Router::Impl& r, Slot& s) {
  if (stopped_) return;
  auto at = s.target->health->next_probe_at();
  if (!at) return;
  auto delay = std::max(Millis{0}, std::chrono::ceil<Millis>(*at - r.time->now()));
  // A closed client runs the callback at once: it finds the Prober stopped (close() stops it first).
  auto timer = r.http->schedule(delay, [weak = router_, slot = &s] {
    if (auto router = weak.lock()) router->prober.fire_safely(*router, *slot);
  });
  keep(s, std::move(timer));
}

void Prober::fire_safely(Router::Impl& r, Slot& s) noexcept {
  try {
    fire(r, s);
  } catch (const std::exception& e) {  // the probe could not even start: a failed probe, rescheduled
    try {
      finish(r, s, ErrorClass::retryable, std::string("active probe failed to start: ") + e.what());
    } catch (...) {}
  }
}

void Prober::fire(Router::Impl& r, Slot& s) {
  if (stopped_) return;
  Target& t = *s.target;
  if (!t.credentials) return send(r, s, std::nullopt);
  r.fetch_credential(t, probe_timeouts(s.cfg), [weak = router_, slot = &s](auto token, auto error) {
    auto router = weak.lock();
    if (!router || router->prober.stopped()) return;
    if (token) return router->prober.send(*router, *slot, token);
    router->prober.finish(*router, *slot, error->cls, error->message);
  });
}

void Prober::send(Router::Impl& r, Slot& s, const std::optional<Secret>& token) {
  if (stopped_) return;
  Target& t = *s.target;
  providers::Endpoint ep = t.endpoint;  // the probe's own copy: the target's Endpoint is shared
  if (token) ep.api_key = *token;
  HttpRequest request;
  try {
    request = probe_request(t, ep, s.cfg);
  } catch (const std::exception& e) {  // TranslationError, or a value of the wrong type in the adapter
    // A setting the provider needs is missing: not the target's health. Reported once, retried later.
    if (!std::exchange(s.reported_unsendable, true))
      r.record_event({"probe", t.id, "", "", std::string("active probe cannot be sent: ") + e.what(),
                      r.ms_since_start(r.time->now())});
    return finish(r, s, ErrorClass::ignored, e.what());
  }
  if (t.deployment->proxy) request.proxy = t.deployment->proxy->reveal();
  const bool data_plane = s.cfg.path.empty();
  auto answer = std::make_shared<Answer>();
  auto sink = [weak = router_, slot = &s, answer, data_plane](Event&& e) {
    switch (e.kind) {
      case Event::Kind::head:
        answer->status = e.status;
        answer->headers = std::move(e.headers);
        return;
      case Event::Kind::body:
      case Event::Kind::sse:
        if (answer->body.size() < kMaxBody) answer->body += e.data.substr(0, kMaxBody - answer->body.size());
        return;
      case Event::Kind::end:
      case Event::Kind::error: break;
    }
    auto router = weak.lock();
    if (!router || router->prober.stopped()) return;
    if (e.kind == Event::Kind::error && e.error.code == Errc::cancelled) return;  // only stop() or close() cancel
    auto [cls, detail] = judge(*slot->target, *answer, e, data_plane);
    router->prober.finish(*router, *slot, cls, detail);
  };
  keep(s, r.http->start(std::move(request), std::move(sink)));
}

void Prober::finish(Router::Impl& r, Slot& s, ErrorClass cls, const std::string& detail) {
  if (stopped_) return;
  s.target->health->on_probe_result(cls, detail);  // notes reach the router's listener (events, sync)
  r.sync(*s.target);
  schedule(r, s);
}

}  // namespace llmfailover
