// routed_call.cpp — one call through the router: attempts, decisions, the stream commit point.
//
// Every entry point (sink event, timer, cancel) takes the call's lock, updates the state and
// collects what must happen outside the lock (starting an exchange or a timer may run a sink at
// once); events from an attempt the call has moved past are recognised by their epoch and dropped.
#include <nlohmann/json.hpp>

#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/transport/url.hpp"
#include "router_impl.hpp"
#include "stream_inspect.hpp"

namespace llmfailover {

namespace {

using Deferred = std::vector<std::function<void()>>;

struct Verdict {
  ErrorClass cls = ErrorClass::retryable;
  std::string reason, message;
  std::optional<Millis> hint;  // the upstream's retry-after, if it gave one
  bool silent = false;         // no answer before the first-token timeout: not retried there
  Error error;                 // transport failure behind it, if any
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The characters of the request's text (message contents, names, tool arguments; embedding input)
// for the token estimate of the rpm / tpm quotas.
std::size_t text_chars(const nlohmann::json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().size();
  std::size_t n = 0;
  if (v.is_array()) {
    for (const auto& x : v) n += text_chars(x);
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "role" && it.key() != "type") n += text_chars(it.value());
  }
  return n;
}

policy::TokenEstimate request_estimate(const nlohmann::json& body, const std::string& path) {
  if (!body.is_object()) return policy::estimate_tokens(0, std::nullopt);
  std::size_t chars = 0;
  if (auto it = body.find("messages"); it != body.end()) chars += text_chars(*it);
  if (auto it = body.find("input"); it != body.end()) chars += text_chars(*it);
  std::optional<int> max_tokens;
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (auto it = body.find(key); !max_tokens && it != body.end() && it->is_number_integer())
      max_tokens = static_cast<int>(std::clamp<std::int64_t>(it->get<std::int64_t>(), 0, 1 << 30));
  if (path == "/embeddings") max_tokens = 0;
  return policy::estimate_tokens(chars, max_tokens);
}

class RoutedCallImpl final : public RoutedCall, public std::enable_shared_from_this<RoutedCallImpl> {
 public:
  RoutedCallImpl(std::shared_ptr<Router::Impl> router, RouteRequest request)
      : r_(std::move(router)), req_(std::move(request)), t0_(r_->time->now()) {
    body_ = nlohmann::json::parse(req_.call.body, nullptr, false);
    est_ = request_estimate(body_, req_.call.path);
  }

  ~RoutedCallImpl() override {
    release_slot();
    unsend();
  }

  void start() {
    channel_.on_cancel([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->cancel_from_caller();
    });
    Deferred later;
    {
      std::lock_guard lock(mutex_);
      Group* g = r_->group(req_.model);
      if (!g) {
        push_failure({Errc::no_target, "unknown model group '" + req_.model + "'", false});
        return;
      }
      const GroupPolicy& p = *g->policy;
      deadline_ = t0_ + req_.overrides.deadline.value_or(p.timeouts.deadline);
      chain_ = r_->chain(req_.model, req_.overrides);
      enter_group(0, later);
    }
    for (auto& f : later) f();
  }

  Channel& channel() override { return channel_; }
  std::vector<AttemptRecord> attempts() const override {
    std::lock_guard lock(mutex_);
    std::vector<AttemptRecord> out;
    for (const auto& a : log_) {
      AttemptRecord rec;
      rec.attempt = a.attempt;
      rec.url = a.target;
      rec.status = a.status;
      rec.error.message = a.message;
      rec.started_ms = a.started_ms;
      rec.elapsed_ms = a.elapsed_ms;
      rec.waited_ms = a.waited_ms;
      rec.retry_after_ms = a.retry_after_ms;
      out.push_back(rec);
    }
    return out;
  }
  int retries_taken() const override {
    std::lock_guard lock(mutex_);
    return log_.empty() ? 0 : static_cast<int>(log_.size()) - 1;
  }
  std::optional<RouteAttempt> served() const override {
    std::lock_guard lock(mutex_);
    return served_;
  }
  std::vector<RouteAttempt> route_log() const override {
    std::lock_guard lock(mutex_);
    return log_;
  }
  bool degraded() const override {
    std::lock_guard lock(mutex_);
    return degraded_;
  }

 private:
  enum class Mode { idle, head, error_body, body, stream_pre, stream_live, done };

  // ---- moving through groups and targets --------------------------------------------------

  const GroupPolicy& policy() const { return *group_->policy; }
  int max_attempts() const { return std::clamp(req_.overrides.max_attempts.value_or(policy().retry.max_attempts), 1, 5); }

  void enter_group(std::size_t pos, Deferred& later) {
    for (chain_pos_ = pos; chain_pos_ < chain_.size(); ++chain_pos_) {
      group_ = r_->group(chain_[chain_pos_]);
      if (!group_) continue;
      group_->budget->deposit();  // a new logical request on this group
      tried_.clear();
      if (Target* t = pick_next(exhausted())) return begin_attempt(t, 0, later);
      note_skip("no available target in group '" + group_->name + "'");
    }
    surface(later);
  }

  std::set<const Target*> exhausted() const {
    std::set<const Target*> out;
    for (auto& [t, n] : tries_)
      if (n >= max_attempts()) out.insert(t);
    out.insert(unusable_.begin(), unusable_.end());
    return out;
  }

  // The group's balancer picks the next target; what it took (concurrency slot, quota ticket) is
  // held by the call until the attempt ends.
  Target* pick_next(const std::set<const Target*>& exclude) {
    std::string skipped;
    auto p = r_->pick(*group_, tried_, exclude, est_, &skipped);
    if (!skipped.empty()) {
      note_skip(skipped);
      next_skipped_ += (next_skipped_.empty() ? "" : "; ") + skipped;
    }
    if (!p) return nullptr;
    hold(p->target, p->ticket);
    next_pick_ = p->reason == policy::Pick::Reason::strategy ? "" : std::string(policy::to_string(p->reason));
    return p->target;
  }

  // Admission for a target chosen without a pick (a transparent retry, the retry-after wait).
  bool admit(Target* t) {
    std::optional<policy::RateWindow::Ticket> ticket;
    std::string why;
    if (!r_->admit(*t, est_, ticket, &why)) {
      note_skip(why);
      return false;
    }
    hold(t, ticket);
    return true;
  }

  void hold(Target* t, std::optional<policy::RateWindow::Ticket> ticket) {
    release_slot();
    unsend();
    slot_ = t;
    ticket_ = ticket;
    ticket_target_ = t;
    ticket_sent_ = false;
  }

  void release_slot() {
    if (slot_) slot_->dep->limiter.leave();
    slot_ = nullptr;
  }

  // A quota ticket for a request that was never sent goes back to the window.
  void unsend() {
    if (ticket_ && !ticket_sent_) ticket_target_->dep->window.cancel(*ticket_);
    ticket_.reset();
  }

  void drop_held() {
    release_slot();
    unsend();
  }

  void begin_attempt(Target* t, double waited_ms, Deferred& later) {
    std::uint64_t epoch = ++epoch_;
    if (slot_ != t) {  // every path admits first; never run without the target's slot
      release_slot();
      unsend();
    }
    target_ = t;
    permit_ = true;
    mode_ = Mode::head;
    status_ = 0;
    headers_.clear();
    body_buf_.clear();
    pending_.clear();
    inspect_ = StreamInspector{};
    translator_.reset();
    ttft_expired_ = false;
    // Recovery on a target that continues an assistant prefix: it is sent what the caller already
    // has and answers only the rest, so nothing needs to be matched and swallowed.
    prefill_ = resuming_ && t->provider->supports_prefill();
    matched_ = prefill_ ? delivered_.size() : 0;
    attempt_start_ = r_->time->now();
    tried_.insert(t);
    ++tries_[t];
    ++t->in_flight;
    t->owner->balancer->on_start(t->index);
    balancer_started_ = true;
    sample_.reset();
    RouteAttempt rec;
    rec.attempt = static_cast<int>(log_.size()) + 1;
    rec.group = group_->name;
    rec.target = t->id;
    rec.deployment = t->deployment->id;
    rec.provider = t->deployment->provider;
    rec.model = t->deployment->model;
    rec.key_index = t->key_index;
    rec.started_ms = ms(attempt_start_ - t0_);
    rec.waited_ms = waited_ms;
    rec.pick = std::move(next_pick_);
    rec.skipped = std::move(next_skipped_);
    next_pick_.clear();
    next_skipped_.clear();
    log_.push_back(rec);

    const auto& tp = policy().timeouts;
    Millis first_token = req_.overrides.first_token.value_or(tp.first_token);
    Timeouts timeouts;
    timeouts.connect = tp.connect;
    timeouts.first_byte = first_token;
    idle_ = req_.overrides.idle.value_or(tp.idle);
    // Before the first token the first-token limit governs a stream; the idle limit takes over at
    // the commit point (commit() tightens it).
    timeouts.idle = req_.stream && first_token.count() > 0 ? std::max(idle_, first_token) : idle_;
    HttpRequest http;
    try {
      http = translate(*t, timeouts);
    } catch (const providers::TranslationError& e) {
      return cannot_take(e, later);  // this provider cannot express the request; another may
    }
    http.deadline = deadline_;
    if (ticket_target_ == t) ticket_sent_ = true;
    t->rate->on_send(est_);
    auto self = shared_from_this();
    later.push_back([self, http = std::move(http), epoch] {
      auto ex = self->r_->http->start(http, [self, epoch](Event&& e) { self->on_event(epoch, std::move(e)); });
      self->keep(epoch, std::move(ex));
    });
    if (req_.stream && first_token.count() > 0) {
      // Headers may come fast and the first token never: the first-token limit covers both.
      later.push_back([self, first_token, epoch] {
        self->r_->http->schedule(first_token, [self, epoch] { self->on_first_token_timeout(epoch); });
      });
    }
  }

  // The request in the target's dialect, with the caller's extra headers and query on top.
  HttpRequest translate(const Target& t, const Timeouts& timeouts) {
    nlohmann::json body = body_.is_object() ? body_ : nlohmann::json::object();
    body["model"] = t.deployment->model;
    if (prefill_ && body.contains("messages") && body["messages"].is_array())
      body["messages"].push_back({{"role", "assistant"}, {"content", delivered_}});
    providers::TranslatedRequest tr;
    if (req_.call.path == "/embeddings") {
      tr = t.provider->embeddings_request(t.endpoint, body, timeouts);
    } else if (req_.call.path == "/chat/completions") {
      tr = t.provider->chat_request(t.endpoint, body, req_.stream, timeouts);
      if (req_.stream) translator_ = t.provider->stream_translator(t.endpoint, body);
    } else {
      throw providers::TranslationError(std::string(t.provider->name()), "",
                                        "only chat completions and embeddings are routed, not " + req_.call.path);
    }
    for (const auto& w : tr.warnings) log_.back().message += (log_.back().message.empty() ? "" : "; ") + w;
    for (const auto& h : req_.call.headers) {
      auto it = std::find_if(tr.http.headers.begin(), tr.http.headers.end(), [&](auto& x) { return iequals(x.name, h.name); });
      if (it != tr.http.headers.end()) it->value = h.value;
      else tr.http.headers.push_back(h);
    }
    for (const auto& [k, v] : req_.call.query) {
      tr.http.url += tr.http.url.find('?') == std::string::npos ? '?' : '&';
      tr.http.url += transport::url_encode(k) + "=" + transport::url_encode(v);
    }
    return std::move(tr.http);
  }

  // The target's provider cannot express this request (an unsupported parameter, a missing
  // setting): not the target's fault. Try the others; if none can, answer 400 naming it.
  void cannot_take(const providers::TranslationError& e, Deferred& later) {
    RouteAttempt& rec = log_.back();
    rec.error_class = "fatal_request";
    rec.reason = "unsupported";
    rec.message = e.what();
    rec.decision = "skip";
    end_attempt(ErrorClass::ignored, std::nullopt);
    unusable_.insert(target_);
    nlohmann::json err = {{"error", {{"message", std::string(e.what())}, {"type", "invalid_request_error"},
                                     {"param", e.parameter().empty() ? nlohmann::json() : nlohmann::json(e.parameter())},
                                     {"code", "unsupported_parameter"}}}};
    if (!last_head_) {
      last_head_ = Event::head(400, {{"content-type", "application/json"}});
      last_body_ = err.dump();
    }
    mode_ = Mode::idle;
    if (Target* next = pick_next(exhausted())) return begin_attempt(next, 0, later);
    enter_group(chain_pos_ + 1, later);
  }

  void keep(std::uint64_t epoch, std::shared_ptr<transport::Exchange> ex) {
    std::lock_guard lock(mutex_);
    if (epoch == epoch_ && mode_ != Mode::done) current_ = std::move(ex);
  }

  // ---- events of the current attempt ------------------------------------------------------

  void on_event(std::uint64_t epoch, Event&& e) {
    Deferred later;
    {
      std::lock_guard lock(mutex_);
      if (epoch != epoch_ || mode_ == Mode::done || mode_ == Mode::idle) return;
      handle(std::move(e), later);
    }
    for (auto& f : later) f();
  }

  void handle(Event&& e, Deferred& later) {
    switch (e.kind) {
      case Event::Kind::head: return on_head(std::move(e), later);
      case Event::Kind::body:
        if (translator_ && translator_->wants_bytes() && (mode_ == Mode::stream_pre || mode_ == Mode::stream_live))
          return on_stream_piece({}, e.data, true, e.id, later);
        body_buf_ += e.data;
        return;
      case Event::Kind::sse: return on_sse(std::move(e), later);
      case Event::Kind::end: return on_end(later);
      case Event::Kind::error: return on_error(std::move(e.error), later);
    }
  }

  void on_head(Event&& e, Deferred& later) {
    status_ = e.status;
    headers_ = std::move(e.headers);
    log_.back().status = status_;
    log_.back().first_byte_ms = ms(r_->time->now() - attempt_start_);
    // The provider's rate-limit headers steer the key's share before it answers 429.
    if (auto readings = policy::parse_rate_limit_headers(headers_, policy::WallClock::now()); !readings.empty()) {
      target_->rate->update(readings);
      r_->sync(*target_);
    }
    if (status_ >= 400) mode_ = Mode::error_body;
    else if (req_.stream) mode_ = Mode::stream_pre;
    else mode_ = Mode::body;
    (void)later;
  }

  void on_sse(Event&& e, Deferred& later) {
    if (mode_ == Mode::error_body) {
      body_buf_ += e.data;
      return;
    }
    on_stream_piece(e.event, e.data, false, e.id, later);
  }

  // One SSE event or a piece of a byte stream, through the provider's translator into OpenAI
  // chunks; each chunk then meets the commit point.
  void on_stream_piece(std::string_view event, std::string_view data, bool bytes, const std::string& id,
                       Deferred& later) {
    std::vector<std::string> chunks;
    std::optional<providers::ErrorVerdict> err;
    bool malformed = false;
    try {
      if (bytes) translator_->on_bytes(data, chunks, err);
      else if (translator_) translator_->on_sse(event, data, chunks, err);
      else chunks.emplace_back(data);
    } catch (const providers::TranslationError& x) {
      if (x.verdict()) err = *x.verdict();
      else malformed = true;
    }
    for (auto& c : chunks) {
      if (mode_ != Mode::stream_pre && mode_ != Mode::stream_live) return;
      on_chunk(Event::sse("", std::move(c), id), later);
    }
    if (mode_ != Mode::stream_pre && mode_ != Mode::stream_live) return;
    if (malformed) on_chunk(Event::sse("", "{malformed", id), later);  // counted as the inspector counts them
    else if (err) on_stream_error(*err, later);
  }

  void on_stream_error(const providers::ErrorVerdict& v, Deferred& later) {
    if (mode_ == Mode::stream_pre) return fail({v.cls, v.reason, v.message}, later);
    interrupted("the provider sent an error event: " + v.message, later);
  }

  void on_chunk(Event&& e, Deferred& later) {
    ChunkKind kind = inspect_.inspect(e.data);
    if (mode_ == Mode::stream_pre && resuming_ && (kind == ChunkKind::content || kind == ChunkKind::meta || kind == ChunkKind::done))
      return resume_chunk(std::move(e), kind, later);
    if (mode_ == Mode::stream_pre) {
      if (kind == ChunkKind::malformed)
        return fail({ErrorClass::retryable, "malformed_chunk", "the stream's first events were not valid JSON"}, later);
      if (kind == ChunkKind::error) return on_stream_error(providers::classify_stream_error(e.data), later);
      pending_.push_back(std::move(e));
      if (kind == ChunkKind::content) commit(later);
      return;
    }
    // Committed: the caller has text already.
    if (kind == ChunkKind::malformed) return;  // one bad chunk in a healthy stream: skipped, counted
    if (kind == ChunkKind::error) return on_stream_error(providers::classify_stream_error(e.data), later);
    channel_.push(std::move(e));
  }

  void on_end(Deferred& later) {
    if (mode_ == Mode::error_body) {
      auto v = target_->provider->classify(status_, headers_, body_buf_);
      std::optional<Millis> hint = policy::retry_hint(headers_, policy::WallClock::now(), policy().retry.max_retry_after);
      if (!hint) hint = target_->provider->body_retry_hint(body_buf_);
      last_head_ = Event::head(status_, headers_);
      last_body_ = body_buf_;
      last_error_.reset();
      return fail({v.cls, v.reason, v.message, hint}, later);
    }
    if (mode_ == Mode::body) {
      std::string answer;
      try {
        answer = req_.call.path == "/embeddings" ? target_->provider->embeddings_response(target_->endpoint, body_buf_)
                                                 : target_->provider->chat_response(target_->endpoint, body_buf_);
      } catch (const providers::TranslationError& x) {
        // An answer that does not fit the provider's schema: that provider's fault, named.
        if (x.verdict()) return fail({x.verdict()->cls, x.verdict()->reason, x.verdict()->message}, later);
        return fail({ErrorClass::retryable, "bad_response", x.what()}, later);
      }
      policy::LatencySample sample;
      sample.ttft = Millis{static_cast<Millis::rep>(std::max(0.0, log_.back().first_byte_ms))};
      sample.total = attempt_duration();
      if (auto doc = nlohmann::json::parse(answer, nullptr, false); doc.is_object()) {
        if (auto u = doc.find("usage"); u != doc.end() && u->is_object()) {
          std::int64_t prompt = u->value("prompt_tokens", std::int64_t{0});
          std::int64_t completion = u->value("completion_tokens", std::int64_t{0});
          std::int64_t total = u->value("total_tokens", prompt + completion);
          if (u->contains("completion_tokens")) sample.output_tokens = static_cast<int>(completion);
          if (ticket_ && ticket_target_ == target_ && total > 0) target_->dep->window.correct(*ticket_, total);
        }
      }
      sample_ = sample;
      succeed();
      channel_.push(Event::head(status_, served_headers()));
      channel_.push(Event::body(std::move(answer)));
      return finish_ok();
    }
    if (mode_ == Mode::stream_pre && resuming_) return give_up_recovery("the restarted answer ended early", later);
    if (mode_ == Mode::stream_pre) {
      // Ended before any content: an empty answer is an answer only if it says it finished.
      if (!inspect_.finished() && !inspect_.done())
        return fail({ErrorClass::retryable, "empty_stream", "the stream ended before any content"}, later);
      commit(later);
    }
    finish_ok();
  }

  void on_error(Error error, Deferred& later) {
    if (mode_ == Mode::stream_live) {
      if (inspect_.finished() || inspect_.done()) return finish_ok();  // the answer was complete
      return interrupted(std::string(to_string(error.code)) + ": " + error.message, later);
    }
    Verdict v{errc_class(error), std::string(to_string(error.code)), error.message};
    v.silent = error.code == Errc::first_byte_timeout;
    if (ttft_expired_) v = {ErrorClass::retryable, "first_token_timeout", "no first token in time", {}, true};
    if (!ttft_expired_ && error.code == Errc::cancelled) v.cls = ErrorClass::ignored;
    v.error = error;
    last_error_ = error;
    if (ttft_expired_) last_error_ = Error{Errc::first_byte_timeout, "no first token from " + target_->id + " in time", true};
    last_head_.reset();
    fail(std::move(v), later);
  }

  void on_first_token_timeout(std::uint64_t epoch) {
    Deferred later;
    {
      std::lock_guard lock(mutex_);
      if (epoch != epoch_ || (mode_ != Mode::head && mode_ != Mode::stream_pre)) return;
      ttft_expired_ = true;
      if (current_) later.push_back([ex = current_] { ex->cancel(); });  // its error event brings us on
    }
    for (auto& f : later) f();
  }

  // ---- outcomes -----------------------------------------------------------------------------

  Millis attempt_duration() const {
    return std::chrono::duration_cast<Millis>(r_->time->now() - attempt_start_);
  }

  void end_attempt(ErrorClass cls, std::optional<Millis> hint) {
    log_.back().elapsed_ms = ms(r_->time->now() - attempt_start_);
    Millis elapsed = attempt_duration();
    if (permit_) {
      target_->health->on_result(cls, elapsed, hint);
      permit_ = false;
    }
    --target_->in_flight;
    if (balancer_started_) {  // the latency (or the penalty) the balancer learns from
      balancer_started_ = false;
      policy::Outcome outcome = policy::Outcome::cancelled();
      switch (cls) {
        case ErrorClass::none: outcome = policy::Outcome::success(sample_.value_or(policy::LatencySample{elapsed})); break;
        case ErrorClass::rate_limited: outcome = policy::Outcome::rate_limited(elapsed, hint); break;
        case ErrorClass::retryable:
        case ErrorClass::fatal_target: outcome = policy::Outcome::failure(elapsed); break;
        default: break;
      }
      target_->owner->balancer->on_finish(target_->index, outcome);
    }
    if (cls == ErrorClass::transparent) {  // nothing reached the upstream
      ticket_sent_ = false;
      unsend();
    }
    if (!(cls == ErrorClass::none && req_.stream)) release_slot();  // a live stream keeps its slot to the end
    r_->sync(*target_);
  }

  void succeed() {
    end_attempt(ErrorClass::none, std::nullopt);
    log_.back().decision = "served";
    log_.back().error_class = "none";
    served_ = log_.back();
  }

  Headers served_headers() const {
    Headers h;
    for (const auto& x : headers_)  // the body may be a translation: its length is not the provider's
      if (!iequals(x.name, "content-length")) h.push_back(x);
    h.push_back({"x-llmfailover-target", target_->id});
    h.push_back({"x-llmfailover-deployment", target_->deployment->id});
    h.push_back({"x-llmfailover-model", target_->deployment->model});
    h.push_back({"x-llmfailover-attempts", std::to_string(log_.size())});
    return h;
  }

  void commit(Deferred& later) {
    succeed();  // time to first token is what the breaker's slow-call rule measures
    mode_ = Mode::stream_live;
    if (current_) later.push_back([ex = current_, idle = idle_] { ex->set_idle_timeout(idle); });
    channel_.push(Event::head(status_, served_headers()));
    for (auto& e : pending_) channel_.push(std::move(e));
    pending_.clear();
  }

  void finish_ok() {
    release_slot();
    mode_ = Mode::done;
    current_.reset();
    channel_.push(Event::end());
  }

  void interrupted(const std::string& cause, Deferred& later) {
    release_slot();
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
    target_->health->on_result(ErrorClass::retryable, attempt_duration(), std::nullopt);  // it broke: a failure
    log_.back().reason = "stream_interrupted";
    log_.back().message = cause;
    Error original{Errc::stream_interrupted,
                   "the stream from " + target_->id + " was interrupted after " +
                       std::to_string(inspect_.text().size()) + " characters (" + cause + ")",
                   true};
    if (r_->config.stream_recovery != "continue" || resuming_) {
      log_.back().decision = "interrupted";
      mode_ = Mode::done;
      return channel_.push(Event::failure(original));
    }
    // Opt-in recovery: finish the answer on another target, streaming only the part not yet
    // delivered. A target that accepts an assistant prefill (Provider::supports_prefill:
    // Anthropic, Mistral) continues from the delivered text; any other gets a clean restart whose
    // delivered prefix must come back identically. Whatever fails, the original error surfaces.
    log_.back().decision = "recover";
    original_error_ = original;
    delivered_ = inspect_.text();
    resuming_ = true;
    matched_ = 0;
    mode_ = Mode::idle;
    std::set<const Target*> exclude = exhausted();
    exclude.insert(target_);
    if (Target* next = pick_next(exclude)) return begin_attempt(next, 0, later);
    enter_group(chain_pos_ + 1, later);
  }

  // A chunk of the restarted stream: swallow what the caller already has, then stream the rest.
  void resume_chunk(Event&& e, ChunkKind kind, Deferred& later) {
    if (kind != ChunkKind::content) {
      if (kind == ChunkKind::done) return give_up_recovery("the restarted answer ended early", later);
      return;  // role and other meta chunks were delivered the first time
    }
    const std::string& piece = inspect_.last_text();
    std::size_t left = delivered_.size() - matched_;
    std::size_t same = std::min(left, piece.size());
    if (delivered_.compare(matched_, same, piece, 0, same) != 0)
      return give_up_recovery("the restarted answer differs from what was delivered", later);
    matched_ += same;
    if (matched_ < delivered_.size()) return;
    succeed();
    log_.back().decision = "served_recovered";
    mode_ = Mode::stream_live;
    if (current_) later.push_back([ex = current_, idle = idle_] { ex->set_idle_timeout(idle); });
    if (same < piece.size()) channel_.push(Event::sse(e.event, strip_content_prefix(e.data, same), e.id));
  }

  void give_up_recovery(const std::string& why, Deferred& later) {
    log_.back().message = why;
    log_.back().decision = "recovery_failed";
    end_attempt(ErrorClass::ignored, std::nullopt);
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
    mode_ = Mode::done;
    channel_.push(Event::failure(*original_error_));
  }

  void fail(Verdict v, Deferred& later) {
    RouteAttempt& rec = log_.back();
    rec.error = v.error ? std::string(to_string(v.error.code)) : "";
    rec.error_class = std::string(to_string(v.cls));
    rec.reason = v.reason;
    rec.message = v.message;
    if (v.hint) rec.retry_after_ms = static_cast<double>(v.hint->count());
    end_attempt(v.cls, v.hint);
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
    mode_ = Mode::idle;
    decide(v, later);
  }

  void decide(const Verdict& v, Deferred& later) {
    RouteAttempt& rec = log_.back();
    Target* t = target_;
    if (v.cls == ErrorClass::ignored) {
      rec.decision = "give_up";
      return surface(later);
    }
    if (v.cls == ErrorClass::fatal_request) return request_error(v, later);
    if (v.cls == ErrorClass::transparent && !transparent_used_.count(t) && t->health->try_acquire()) {
      if (admit(t)) {
        transparent_used_.insert(t);  // nothing reached the upstream: once more at once, free
        --tries_[t];
        rec.decision = "retry_transparent";
        return begin_attempt(t, 0, later);
      }
      t->health->release();
    }
    if (!group_->budget->try_withdraw()) {
      rec.decision = "budget_exhausted";
      return enter_group(chain_pos_ + 1, later);
    }
    std::set<const Target*> exclude = exhausted();
    if (v.silent) exclude.insert(t);
    if (Target* next = pick_next(exclude)) {
      if (!tries_.count(next)) {  // a fresh target: no reason to wait
        rec.decision = "failover";
        return begin_attempt(next, 0, later);
      }
      // Back to a target that failed already: its backoff applies (no tight loop across targets).
      Millis wait = v.hint && next == t ? policy::pushback_wait(*v.hint, r_->random->uniform())
                                        : policy::full_jitter(policy().retry, tries_[next], r_->random->uniform());
      if (r_->time->now() + wait < deadline_) {
        rec.decision = next == t ? "retry" : "failover";
        return schedule_attempt(next, wait, later);
      }
      next->health->on_result(ErrorClass::ignored, Millis{0}, std::nullopt);  // give the permit back
      drop_held();
    } else if (v.cls == ErrorClass::rate_limited && v.hint && chain_pos_ + 1 >= chain_.size() &&
               tries_[t] < max_attempts()) {
      // Nothing else is left: wait what the upstream asked for, if that fits the deadline.
      Millis wait = policy::pushback_wait(*v.hint, r_->random->uniform());
      if (r_->time->now() + wait < deadline_) {
        rec.decision = "retry_after";
        return schedule_attempt(t, wait, later, /*acquire=*/true);
      }
    }
    rec.decision = chain_pos_ + 1 < chain_.size() ? "next_group" : "give_up";
    enter_group(chain_pos_ + 1, later);
  }

  void request_error(const Verdict& v, Deferred& later) {
    RouteAttempt& rec = log_.back();
    const std::map<std::string, std::vector<std::string>>* chains = nullptr;
    if (v.reason == "context_length_exceeded") chains = &r_->config.context_window_fallbacks;
    if (v.reason == "content_policy") chains = &r_->config.content_policy_fallbacks;
    if (chains && !switched_chain_) {
      if (auto it = chains->find(group_->name); it != chains->end() && !it->second.empty()) {
        switched_chain_ = true;  // a request error moves to its own chain, once
        rec.decision = v.reason == "content_policy" ? "content_policy_fallback" : "context_window_fallback";
        chain_ = it->second;
        return enter_group(0, later);
      }
    }
    rec.decision = "give_up";
    surface(later);
  }

  // `acquire`: take the target's permit when the wait is over (it was cooling down meanwhile).
  void schedule_attempt(Target* t, Millis wait, Deferred& later, bool acquire = false) {
    std::uint64_t epoch = ++epoch_;
    auto self = shared_from_this();
    double waited = static_cast<double>(wait.count());
    later.push_back([self, t, wait, waited, epoch, acquire] {
      auto timer = self->r_->http->schedule(wait, [self, t, waited, epoch, acquire] {
        Deferred later2;
        {
          std::lock_guard lock(self->mutex_);
          if (epoch != self->epoch_ || self->mode_ == Mode::done) return;
          if (acquire && !t->health->try_acquire()) {
            self->note_skip("'" + t->id + "' was still unavailable after its retry-after wait");
            self->surface(later2);
          } else if (acquire && !self->admit(t)) {
            t->health->release();
            self->surface(later2);
          } else {
            self->begin_attempt(t, waited, later2);
          }
        }
        for (auto& f : later2) f();
      });
      self->keep(epoch, std::move(timer));
    });
  }

  void note_skip(const std::string& why) {
    if (!skips_.empty()) skips_ += "; ";
    skips_ += why;
  }

  // Nothing left: the last error as the upstream gave it, or the degraded answer.
  void surface(Deferred&) {
    drop_held();
    mode_ = Mode::done;
    current_.reset();
    if (resuming_) return channel_.push(Event::failure(*original_error_));  // never hide the original error
    if (r_->config.degraded_answer && degradable()) {
      degraded_ = true;
      for (auto& e : degraded_events(*r_->config.degraded_answer, req_.stream, req_.model)) channel_.push(std::move(e));
      return;
    }
    if (last_head_) {
      channel_.push(Event::head(last_head_->status, last_head_->headers));
      channel_.push(Event::body(last_body_));
      channel_.push(Event::end());
    } else if (last_error_) {
      channel_.push(Event::failure(*last_error_));
    } else {
      push_failure({Errc::no_target, "no target could take the call for model '" + req_.model + "': " + skips_, false});
    }
  }

  // The last-resort answer stands in for unavailable targets, not for a request the upstream
  // rejected nor for the caller's own deadline or cancel; and it is a chat answer.
  bool degradable() const {
    if (req_.call.path != "/chat/completions") return false;
    if (log_.empty()) return true;
    const std::string& cls = log_.back().error_class;
    return cls != "fatal_request" && cls != "ignored";
  }

  void push_failure(Error e) {
    mode_ = Mode::done;
    channel_.push(Event::failure(std::move(e)));
  }

  void cancel_from_caller() {
    std::shared_ptr<transport::Exchange> ex;
    {
      std::lock_guard lock(mutex_);
      if (mode_ != Mode::done && mode_ != Mode::idle && target_ && permit_) end_attempt(ErrorClass::ignored, std::nullopt);
      if (mode_ == Mode::idle) drop_held();  // a pick waiting for its backoff: never sent
      else release_slot();
      mode_ = Mode::done;
      ex = std::move(current_);
    }
    if (ex) ex->cancel();
  }

  std::shared_ptr<Router::Impl> r_;
  RouteRequest req_;
  nlohmann::json body_;
  Clock::time_point t0_, deadline_, attempt_start_;
  std::vector<std::string> chain_;
  std::size_t chain_pos_ = 0;
  bool switched_chain_ = false;
  Group* group_ = nullptr;
  std::set<const Target*> tried_, transparent_used_;
  std::map<const Target*, int> tries_;
  Target* target_ = nullptr;
  bool permit_ = false, ttft_expired_ = false, degraded_ = false, resuming_ = false, prefill_ = false;
  std::string delivered_;  // recovery: the content the caller already has
  std::size_t matched_ = 0;
  std::optional<Error> original_error_;
  std::uint64_t epoch_ = 0;
  Mode mode_ = Mode::idle;
  Millis idle_{0};
  int status_ = 0;
  Headers headers_;
  std::string body_buf_, skips_;
  std::vector<Event> pending_;
  StreamInspector inspect_;
  std::unique_ptr<providers::StreamTranslator> translator_;
  std::set<const Target*> unusable_;  // their provider cannot express this request
  std::optional<Event> last_head_;
  std::string last_body_;
  std::optional<Error> last_error_;
  std::shared_ptr<transport::Exchange> current_;
  std::vector<RouteAttempt> log_;
  std::optional<RouteAttempt> served_;
  // Balancing and quotas
  policy::TokenEstimate est_;
  Target* slot_ = nullptr;                          // whose concurrency slot the call holds
  std::optional<policy::RateWindow::Ticket> ticket_;  // in ticket_target_'s deployment window
  Target* ticket_target_ = nullptr;
  bool ticket_sent_ = false;
  bool balancer_started_ = false;                   // on_start called, on_finish not yet
  std::optional<policy::LatencySample> sample_;     // the served answer's measurement
  std::string next_pick_, next_skipped_;            // for the next attempt's log entry
  Channel channel_;
  mutable std::mutex mutex_;
};

}  // namespace

std::shared_ptr<RoutedCall> start_routed_call(std::shared_ptr<Router::Impl> router, RouteRequest request) {
  auto call = std::make_shared<RoutedCallImpl>(std::move(router), std::move(request));
  call->start();
  return call;
}

}  // namespace llmfailover
