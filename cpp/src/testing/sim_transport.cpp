// sim_transport.cpp — the simulated transport (testing/sim_transport.hpp): one queue of callbacks
// ordered by (virtual time, sequence); exchanges walk their scripted steps against their limits.
#include "llmfailover/testing/sim_transport.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

namespace llmfailover::testing {

namespace {

using Key = std::pair<Clock::time_point, std::uint64_t>;
constexpr auto kNever = Clock::time_point::max();

// `t + d` without overflow ("no limit" durations are huge).
Clock::time_point after(Clock::time_point t, Millis d) {
  const auto room = std::chrono::duration_cast<Millis>(kNever - t);
  return d >= room ? kNever : t + d;
}

// "http://a:8080/v1/chat" -> "a".
std::string host_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const auto stop = url.find_first_of(":/?", start);
  return url.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
}

std::string model_of(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("model") && doc["model"].is_string()) return doc["model"].get<std::string>();
  return "";
}

std::string with_model(std::string data, const std::string& model) {
  for (auto at = data.find("{model}"); at != std::string::npos; at = data.find("{model}", at + model.size()))
    data.replace(at, 7, model);
  return data;
}

nlohmann::json chunk(nlohmann::json delta, nlohmann::json finish = nullptr) {
  return {{"id", "chatcmpl-sim"},
          {"object", "chat.completion.chunk"},
          {"created", 1700000000},
          {"model", "{model}"},
          {"choices", {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
}

nlohmann::json usage(std::size_t words) {
  const auto n = static_cast<int>(words);
  return {{"prompt_tokens", 10}, {"completion_tokens", n}, {"total_tokens", 10 + n}};
}

}  // namespace

// ---- SimReply ----------------------------------------------------------------------------------

SimReply& SimReply::head(Millis at, int status, Headers headers) {
  steps.push_back({at, SimStep::Kind::head, status, std::move(headers), "", Errc::ok});
  return *this;
}
SimReply& SimReply::body(Millis at, std::string bytes) {
  steps.push_back({at, SimStep::Kind::body, 0, {}, std::move(bytes), Errc::ok});
  return *this;
}
SimReply& SimReply::sse(Millis at, std::string data) {
  steps.push_back({at, SimStep::Kind::sse, 0, {}, std::move(data), Errc::ok});
  return *this;
}
SimReply& SimReply::end(Millis at) {
  steps.push_back({at, SimStep::Kind::end, 0, {}, "", Errc::ok});
  return *this;
}
SimReply& SimReply::fail(Millis at, Errc code) {
  steps.push_back({at, SimStep::Kind::fail, 0, {}, "", code});
  return *this;
}
SimReply& SimReply::keep(std::size_t n) {
  if (steps.size() > n) steps.resize(n);
  return *this;
}
SimReply& SimReply::stall(std::size_t from, Millis by) {
  for (std::size_t i = from; i < steps.size(); ++i) steps[i].at += by;
  return *this;
}

SimReply SimReply::answer(std::string text, Millis at) {
  const auto words = static_cast<std::size_t>(std::count(text.begin(), text.end(), ' ') + 1);
  nlohmann::json doc = {{"id", "chatcmpl-sim"},
                        {"object", "chat.completion"},
                        {"created", 1700000000},
                        {"model", "{model}"},
                        {"choices",
                         {{{"index", 0},
                           {"message", {{"role", "assistant"}, {"content", std::move(text)}}},
                           {"logprobs", nullptr},
                           {"finish_reason", "stop"}}}},
                        {"usage", usage(words)}};
  SimReply r;
  r.head(at, 200, {{"content-type", "application/json"}}).body(at, doc.dump()).end(at);
  return r;
}

SimReply SimReply::error(int status, Millis at, Headers headers, const std::string& code) {
  headers.insert(headers.begin(), {"content-type", "application/json"});
  const char* type = status == 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  nlohmann::json doc = {{"error",
                         {{"message", "sim: HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code)},
                          {"type", type},
                          {"param", nullptr},
                          {"code", code.empty() ? nlohmann::json() : nlohmann::json(code)}}}};
  SimReply r;
  r.head(at, status, std::move(headers)).body(at, doc.dump()).end(at);
  return r;
}

SimReply SimReply::stream(const std::vector<std::string>& words, Millis first, Millis gap, Millis head_at) {
  SimReply r;
  r.head(head_at, 200, {{"content-type", "text/event-stream"}});
  r.sse(first, chunk({{"role", "assistant"}}).dump());
  Millis last = first;
  for (std::size_t i = 0; i < words.size(); ++i) {
    last = first + gap * static_cast<Millis::rep>(i);
    r.sse(last, chunk({{"content", words[i] + (i + 1 < words.size() ? " " : "")}}).dump());
  }
  nlohmann::json finish = chunk(nlohmann::json::object(), "stop");
  finish["usage"] = usage(words.size());
  r.sse(last, finish.dump()).sse(last, "[DONE]").end(last);
  return r;
}

// ---- the queue ---------------------------------------------------------------------------------

class SimExchange;

struct SimTransport::Core {
  enum class Kind : std::uint8_t { timer, wake, deliver };
  struct Entry {
    Kind kind;
    std::function<void()> fn;
  };

  explicit Core(std::shared_ptr<ManualClock> c) : clock(std::move(c)), origin(clock->now()) {}

  Key post(Clock::time_point at, Kind kind, std::function<void()> fn) {  // mutex held
    Key key{at, ++seq};
    queue.emplace(key, Entry{kind, std::move(fn)});
    return key;
  }
  Millis since_origin() const { return std::chrono::duration_cast<Millis>(clock->now() - origin); }

  std::shared_ptr<ManualClock> clock;
  Clock::time_point origin;
  mutable std::mutex mutex;
  std::map<Key, Entry> queue;
  std::uint64_t seq = 0;
  std::map<std::string, std::deque<SimReply>> scripts;
  std::map<std::string, SimReply> defaults;
  std::vector<Attempt> log;
  std::map<const SimExchange*, std::shared_ptr<SimExchange>> live;  // running: held as HttpClient holds them
  bool closed = false;
};

namespace {

// A timer, or the handle of an exchange refused at start (after shutdown).
class SimTimer final : public transport::Exchange {
 public:
  SimTimer(std::weak_ptr<SimTransport::Core> core, std::optional<Key> key) : core_(std::move(core)), key_(key) {}
  void cancel() override {
    auto core = core_.lock();
    if (!core || !key_) return;
    std::lock_guard lock(core->mutex);
    core->queue.erase(*key_);  // a no-op once it ran: keys are never reused
  }

 private:
  std::weak_ptr<SimTransport::Core> core_;
  std::optional<Key> key_;
};

}  // namespace

// One exchange: its steps against its limits (first byte before the head, idle between reads,
// the request's total and deadline), as HttpClient measures them.
class SimExchange final : public transport::Exchange, public std::enable_shared_from_this<SimExchange> {
 public:
  using Core = SimTransport::Core;
  SimExchange(std::weak_ptr<Core> core, HttpRequest request, transport::EventSink sink, SimReply reply,
              Clock::time_point sent)
      : core_(std::move(core)),
        request_(std::move(request)),
        sink_(std::move(sink)),
        steps_(std::move(reply.steps)),
        model_(model_of(request_.body)),
        sent_(sent),
        last_read_(sent),
        idle_(request_.timeouts.idle) {}

  void cancel() override {
    auto core = core_.lock();
    if (!core) return;
    std::lock_guard lock(core->mutex);
    if (done_) return;
    close_locked(*core);
    core->post(core->clock->now(), Core::Kind::deliver, [self = shared_from_this()] {
      self->deliver(Event::failure({Errc::cancelled, "cancelled by the caller", true}));
    });
  }

  void set_idle_timeout(Millis idle) override {
    auto core = core_.lock();
    if (!core) return;
    std::lock_guard lock(core->mutex);
    if (done_) return;
    idle_ = idle;
    arm_locked(*core);
  }

  // Ends it without an event (the caller delivers one); false when it had ended.
  bool close_locked(Core& core) {
    if (done_) return false;
    done_ = true;
    if (wake_) core.queue.erase(*wake_);
    wake_.reset();
    core.live.erase(this);  // may drop the last reference but the caller's
    return true;
  }

  void arm_locked(Core& core) {
    if (wake_) core.queue.erase(*wake_);
    wake_.reset();
    Clock::time_point at = limit().first;
    if (next_ < steps_.size()) at = std::min(at, after(sent_, steps_[next_].at));
    if (at == kNever) return;  // silent for ever, and no limit
    wake_ = core.post(at, Core::Kind::wake, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->wake();
    });
  }

  void deliver(Event e) {
    transport::EventSink sink = e.terminal() ? std::move(sink_) : sink_;  // a finished exchange holds no call
    if (!sink) return;
    try {
      sink(std::move(e));
    } catch (...) {  // the consumer failed: as HttpClient, one internal_error ends it
      auto core = core_.lock();
      bool end = false;
      if (core) {
        std::lock_guard lock(core->mutex);
        end = close_locked(*core);
      }
      if (end) try {
          sink(Event::failure({Errc::internal_error, "the consumer failed", true}));
        } catch (...) {}
    }
  }

 private:
  // When the exchange's current limit expires, and the error it ends with then.
  std::pair<Clock::time_point, Errc> limit() const {
    Clock::time_point phase = kNever;
    Errc code = head_seen_ ? Errc::idle_timeout : Errc::first_byte_timeout;
    const Millis window = head_seen_ ? idle_ : request_.timeouts.first_byte;
    if (window.count() > 0) phase = after(head_seen_ ? last_read_ : sent_, window);
    std::optional<Clock::time_point> deadline = request_.deadline;
    if (request_.timeouts.total.count() > 0)
      deadline = std::min(deadline.value_or(kNever), after(sent_, request_.timeouts.total));
    if (deadline && *deadline <= phase) return {*deadline, Errc::deadline_exceeded};
    return {phase, code};
  }

  void wake() {
    auto core = core_.lock();
    if (!core) return;
    Event e;
    {
      std::lock_guard lock(core->mutex);
      if (done_) return;
      wake_.reset();
      const auto now = core->clock->now();
      const auto [limit_at, code] = limit();
      const bool due = next_ < steps_.size() && after(sent_, steps_[next_].at) <= std::min(now, limit_at);
      if (due) {
        e = event_of(steps_[next_++]);
        last_read_ = now;
      } else if (limit_at <= now) {
        e = Event::failure({code, std::string(to_string(code)) + " (simulated, " + request_.url + ")", true});
      } else {
        return arm_locked(*core);  // not yet (the limit moved)
      }
      if (e.kind == Event::Kind::head) head_seen_ = true;
      if (e.terminal()) close_locked(*core);
      else arm_locked(*core);
    }
    deliver(std::move(e));
  }

  Event event_of(const SimStep& s) const {
    switch (s.kind) {
      case SimStep::Kind::head: return Event::head(s.status, s.headers);
      case SimStep::Kind::body: return Event::body(with_model(s.data, model_));
      case SimStep::Kind::sse: return Event::sse("", with_model(s.data, model_));
      case SimStep::Kind::end: return Event::end();
      case SimStep::Kind::fail: break;
    }
    return Event::failure({s.error, std::string(to_string(s.error)) + " (simulated, " + request_.url + ")", true});
  }

  std::weak_ptr<Core> core_;
  HttpRequest request_;
  transport::EventSink sink_;
  std::vector<SimStep> steps_;
  std::string model_;
  std::size_t next_ = 0;
  Clock::time_point sent_, last_read_;
  Millis idle_;
  bool head_seen_ = false, done_ = false;
  std::optional<Key> wake_;
};

// ---- SimTransport -------------------------------------------------------------------------------

SimTransport::SimTransport(std::shared_ptr<ManualClock> clock)
    : clock_(std::move(clock)), core_(std::make_shared<Core>(clock_)) {}

SimTransport::~SimTransport() { shutdown(); }

void SimTransport::script(const std::string& host, std::vector<SimReply> replies) {
  std::lock_guard lock(core_->mutex);
  auto& q = core_->scripts[host];
  for (auto& r : replies) q.push_back(std::move(r));
}

void SimTransport::set_default(const std::string& host, SimReply reply) {
  std::lock_guard lock(core_->mutex);
  core_->defaults[host] = std::move(reply);
}

std::vector<SimTransport::Attempt> SimTransport::attempts() const {
  std::lock_guard lock(core_->mutex);
  return core_->log;
}

std::vector<Millis> SimTransport::times(const std::string& host) const {
  std::lock_guard lock(core_->mutex);
  std::vector<Millis> out;
  for (const auto& a : core_->log)
    if (a.host == host) out.push_back(a.at);
  return out;
}

Millis SimTransport::elapsed() const { return core_->since_origin(); }

std::size_t SimTransport::pending() const {
  std::lock_guard lock(core_->mutex);
  return core_->queue.size();
}

bool SimTransport::run_until(const std::function<bool()>& done, Millis limit) {
  const auto horizon = after(clock_->now(), limit);
  while (!done()) {
    std::function<void()> fn;
    {
      std::lock_guard lock(core_->mutex);
      if (core_->queue.empty() || core_->queue.begin()->first.first > horizon) return false;
      auto it = core_->queue.begin();
      if (it->first.first > clock_->now()) clock_->set(it->first.first);
      fn = std::move(it->second.fn);
      core_->queue.erase(it);
    }
    fn();
  }
  return true;
}

void SimTransport::advance(Millis d) {
  const auto until = after(clock_->now(), d);
  run_until([] { return false; }, d);
  if (until > clock_->now()) clock_->set(until);
}

std::shared_ptr<transport::Exchange> SimTransport::start(HttpRequest request, transport::EventSink sink,
                                                         std::shared_ptr<FlowControl>) {
  std::lock_guard lock(core_->mutex);
  const std::string host = host_of(request.url);
  core_->log.push_back({host, core_->since_origin(), request});
  if (core_->closed) {
    core_->post(clock_->now(), Core::Kind::deliver, [sink = std::move(sink)] {
      sink(Event::failure({Errc::cancelled, "the simulated transport is closed", false}));
    });
    return std::make_shared<SimTimer>(core_, std::nullopt);
  }
  auto doc = nlohmann::json::parse(request.body, nullptr, false);
  const auto flag = doc.is_object() ? doc.find("stream") : doc.end();
  const bool stream = doc.is_object() && flag != doc.end() && flag->is_boolean() && flag->get<bool>();
  SimReply reply = stream ? SimReply::stream({"ok"}, Millis{0}, Millis{0}) : SimReply::answer("ok");
  if (auto it = core_->scripts.find(host); it != core_->scripts.end() && !it->second.empty()) {
    reply = std::move(it->second.front());
    it->second.pop_front();
  } else if (auto d = core_->defaults.find(host); d != core_->defaults.end()) {
    reply = d->second;
  }
  auto ex = std::make_shared<SimExchange>(core_, std::move(request), std::move(sink), std::move(reply), clock_->now());
  core_->live.emplace(ex.get(), ex);
  ex->arm_locked(*core_);
  return ex;
}

std::shared_ptr<transport::Exchange> SimTransport::schedule(Millis delay, std::function<void()> fn) {
  std::lock_guard lock(core_->mutex);
  if (core_->closed) return std::make_shared<SimTimer>(core_, std::nullopt);
  const Key key = core_->post(after(clock_->now(), std::max(delay, Millis{0})), Core::Kind::timer, std::move(fn));
  return std::make_shared<SimTimer>(core_, key);
}

void SimTransport::shutdown() {
  std::vector<std::function<void()>> run;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->closed) return;
    core_->closed = true;
    for (auto& [key, entry] : core_->queue)  // ends already decided (a cancel's) still arrive
      if (entry.kind == Core::Kind::deliver) run.push_back(std::move(entry.fn));
    core_->queue.clear();  // timers are dropped, not run early
    auto live = std::move(core_->live);
    core_->live.clear();
    for (auto& entry : live) {  // not a structured binding: clang 14 cannot capture one
      auto ex = entry.second;
      if (ex->close_locked(*core_))
        run.push_back([ex] { ex->deliver(Event::failure({Errc::cancelled, "the simulated transport closed", true})); });
    }
  }
  for (auto& fn : run) fn();
}

}  // namespace llmfailover::testing
