// routed_call.cpp — one call through the router: groups, picks, attempts, decisions and what
// the caller finally gets. The stream's commit point and recovery: routed_stream.cpp.
#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/transport/url.hpp"
#include "auth.hpp"
#include "routed_call_impl.hpp"

namespace llmfailover {

namespace {

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

}  // namespace

RoutedCallImpl::RoutedCallImpl(std::shared_ptr<Router::Impl> router, RouteRequest request)
    : r_(std::move(router)), req_(std::move(request)), t0_(r_->time->now()) {
  body_ = parse_json(req_.call.body);
  est_ = request_estimate(body_, req_.call.path);
}

RoutedCallImpl::~RoutedCallImpl() {
  end_stream_load(/*complete=*/false);  // abandoned without a cancel
  release_slot();
  unsend();
}

void RoutedCallImpl::start() {
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

std::vector<AttemptRecord> RoutedCallImpl::attempts() const {
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

int RoutedCallImpl::retries_taken() const {
  std::lock_guard lock(mutex_);
  return log_.empty() ? 0 : static_cast<int>(log_.size()) - 1;
}

std::optional<RouteAttempt> RoutedCallImpl::served() const {
  std::lock_guard lock(mutex_);
  return served_;
}

std::vector<RouteAttempt> RoutedCallImpl::route_log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

bool RoutedCallImpl::degraded() const {
  std::lock_guard lock(mutex_);
  return degraded_;
}

void RoutedCallImpl::enter_group(std::size_t pos, Deferred& later) {
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

std::set<const Target*> RoutedCallImpl::exhausted() const {
  std::set<const Target*> out;
  for (auto& [t, n] : tries_)
    if (n >= max_attempts()) out.insert(t);
  out.insert(unusable_.begin(), unusable_.end());
  return out;
}

Target* RoutedCallImpl::pick_next(const std::set<const Target*>& exclude) {
  std::string skipped;
  auto p = r_->pick(*group_, tried_, exclude, est_, &skipped);
  if (!skipped.empty()) {
    note_skip(skipped);
    next_skipped_ += (next_skipped_.empty() ? "" : "; ") + skipped;
  }
  if (!p) return nullptr;
  hold(p->target, p->tickets);
  next_pick_ = p->reason == policy::Pick::Reason::strategy ? "" : std::string(policy::to_string(p->reason));
  return p->target;
}

bool RoutedCallImpl::admit(Target* t) {
  QuotaTickets tickets;
  std::string why;
  if (!r_->admit(*t, est_, tickets, &why)) {
    note_skip(why);
    return false;
  }
  hold(t, tickets);
  return true;
}

void RoutedCallImpl::hold(Target* t, QuotaTickets tickets) {
  release_slot();
  unsend();
  slot_ = t;
  tickets_ = tickets;
  ticket_target_ = t;
  ticket_sent_ = false;
}

void RoutedCallImpl::release_slot() {
  if (slot_) r_->leave(*slot_->dep);
  slot_ = nullptr;
}

void RoutedCallImpl::unsend() {
  if (!tickets_.empty() && !ticket_sent_) tickets_.cancel(*ticket_target_);
  tickets_ = {};
}

void RoutedCallImpl::correct_quota(std::int64_t total) {
  if (!tickets_.empty() && ticket_target_ == target_ && total > 0) tickets_.correct(*target_, total);
}

void RoutedCallImpl::drop_held() {
  release_slot();
  unsend();
}

void RoutedCallImpl::begin_attempt(Target* t, double waited_ms, Deferred& later) {
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
  if (t->tokens) return send_with_token(t, timeouts, epoch, later);  // vertex: its access token first
  send(t, timeouts, epoch, later);
}

void RoutedCallImpl::send(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later) {
  const Millis first_token = timeouts.first_byte;
  HttpRequest http;
  try {
    http = translate(*t, timeouts);
  } catch (const providers::TranslationError& e) {
    return cannot_take(e, later);  // this provider cannot express the request; another may
  } catch (const std::exception& e) {  // a value of the wrong type where the adapter reads one
    return cannot_take(providers::TranslationError(std::string(t->provider->name()), "",
                                                   std::string("cannot translate the request: ") + e.what()),
                       later);
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

void RoutedCallImpl::send_with_token(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later) {
  if (auto token = t->tokens->valid()) {
    token_ = std::move(token);
    return send(t, timeouts, epoch, later);
  }
  auto self = shared_from_this();
  // The fetch is shared with other calls and has its own limit; this call's deadline still holds.
  awaiting_token_ = true;
  const Millis left = std::max(Millis{0}, std::chrono::ceil<Millis>(deadline_ - r_->time->now()));
  later.push_back([self, left, epoch] {
    self->keep(epoch, self->r_->http->schedule(left, [self, epoch] { self->on_token_deadline(epoch); }));
  });
  later.push_back([self, t, timeouts, epoch] {
    ensure_token(*self->r_, *t, timeouts, [self, t, timeouts, epoch](auto token, auto error) {
      Deferred later2;
      {
        std::lock_guard lock(self->mutex_);
        if (epoch != self->epoch_ || self->mode_ != Mode::head || !self->awaiting_token_) return;  // moved on meanwhile
        self->awaiting_token_ = false;
        if (token) {
          self->token_ = std::move(token);
          self->send(t, timeouts, epoch, later2);
        } else {
          self->fail_answered({error->cls, error->reason, error->message}, later2);
        }
      }
      for (auto& f : later2) f();
    });
  });
}

void RoutedCallImpl::on_token_deadline(std::uint64_t epoch) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || mode_ != Mode::head || !awaiting_token_) return;
    awaiting_token_ = false;
    on_error({Errc::deadline_exceeded, "the call's deadline passed while waiting for an access token", false}, later);
  }
  for (auto& f : later) f();
}

HttpRequest RoutedCallImpl::translate(const Target& t, const Timeouts& timeouts) {
  const providers::Endpoint* ep = &t.endpoint;
  providers::Endpoint with_token;  // the attempt's own copy: the target's Endpoint is shared
  if (t.tokens && token_) {
    with_token = t.endpoint;
    with_token.api_key = *token_;
    ep = &with_token;
  }
  nlohmann::json body = body_.is_object() ? body_ : nlohmann::json::object();
  body["model"] = t.deployment->model;
  if (prefill_ && body.contains("messages") && body["messages"].is_array())
    body["messages"].push_back({{"role", "assistant"}, {"content", delivered_}});
  providers::TranslatedRequest tr;
  if (req_.call.path == "/embeddings") {
    tr = t.provider->embeddings_request(*ep, body, timeouts);
  } else if (req_.call.path == "/chat/completions") {
    tr = t.provider->chat_request(*ep, body, req_.stream, timeouts);
    if (req_.stream) translator_ = t.provider->stream_translator(*ep, body);
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

void RoutedCallImpl::cannot_take(const providers::TranslationError& e, Deferred& later) {
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

void RoutedCallImpl::keep(std::uint64_t epoch, std::shared_ptr<transport::Exchange> ex) {
  std::lock_guard lock(mutex_);
  if (epoch == epoch_ && mode_ != Mode::done) current_ = std::move(ex);
}

void RoutedCallImpl::on_event(std::uint64_t epoch, Event&& e) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || mode_ == Mode::done || mode_ == Mode::idle) return;
    handle(std::move(e), later);
  }
  for (auto& f : later) f();
}

void RoutedCallImpl::handle(Event&& e, Deferred& later) {
  switch (e.kind) {
    case Event::Kind::head: return on_head(std::move(e), later);
    case Event::Kind::body:
      if (translator_ && translator_->wants_bytes() && (mode_ == Mode::stream_pre || mode_ == Mode::stream_live))
        return on_stream_piece({}, e.data, true, e.id, later);
      body_buf_ += e.data;
      return;
    case Event::Kind::sse: return on_sse(std::move(e), later);
    case Event::Kind::end: return on_end(later);
    case Event::Kind::error:
      if (e.replayed && mode_ == Mode::head) log_.back().replayed = true;
      return on_error(std::move(e.error), later);
  }
}

void RoutedCallImpl::on_head(Event&& e, Deferred& later) {
  status_ = e.status;
  headers_ = std::move(e.headers);
  log_.back().status = status_;
  log_.back().replayed = e.replayed;
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

void RoutedCallImpl::on_end(Deferred& later) {
  if (mode_ == Mode::error_body) {
    auto v = target_->provider->classify(status_, headers_, body_buf_);
    if (status_ == 401 && target_->tokens) target_->tokens->invalidate();  // refused: fetch a new one next time
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
      // An answer that means an error, or one that does not fit the provider's schema: that
      // provider's fault, named.
      if (x.verdict()) return fail_answered({x.verdict()->cls, x.verdict()->reason, x.verdict()->message}, later);
      return fail_answered({ErrorClass::retryable, "bad_response", x.what()}, later);
    } catch (const std::exception& x) {  // e.g. nlohmann's type_error on a null where a string belongs
      return fail_answered({ErrorClass::retryable, "bad_response",
                            std::string(target_->provider->name()) + ": the answer does not fit its schema (" +
                                x.what() + ")"},
                           later);
    }
    policy::LatencySample sample;
    sample.ttft = Millis{static_cast<Millis::rep>(std::max(0.0, log_.back().first_byte_ms))};
    sample.total = attempt_duration();
    if (auto doc = parse_json(answer); doc.is_object()) {
      if (auto u = doc.find("usage"); u != doc.end() && u->is_object()) {
        const Usage usage = read_usage(*u);
        if (usage.completion) sample.output_tokens = static_cast<int>(std::clamp<std::int64_t>(*usage.completion, 0, 1 << 30));
        correct_quota(usage.total.value_or(0));
      }
    }
    sample_ = sample;
    succeed();
    channel_.push(Event::head(status_, served_headers()));
    channel_.push(Event::body(std::move(answer)));
    return finish_ok();
  }
  if (mode_ == Mode::stream_live && !inspect_.finished() && !inspect_.done())
    return interrupted("the stream ended without a finish reason", later);  // never a truncated success
  if (mode_ == Mode::stream_pre && resuming_) return give_up_recovery("the restarted answer ended early", later);
  if (mode_ == Mode::stream_pre) {
    // Ended before any content: an empty answer is an answer only if it says it finished.
    if (!inspect_.finished() && !inspect_.done())
      return fail_answered({ErrorClass::retryable, "empty_stream", "the stream ended before any content"}, later);
    commit(later);
  }
  finish_ok();
}

void RoutedCallImpl::on_error(Error error, Deferred& later) {
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

void RoutedCallImpl::on_first_token_timeout(std::uint64_t epoch) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || (mode_ != Mode::head && mode_ != Mode::stream_pre)) return;
    ttft_expired_ = true;
    if (current_) later.push_back([ex = current_] { ex->cancel(); });  // its error event brings us on
  }
  for (auto& f : later) f();
}

void RoutedCallImpl::end_attempt(ErrorClass cls, std::optional<Millis> hint) {
  log_.back().elapsed_ms = ms(r_->time->now() - attempt_start_);
  Millis elapsed = attempt_duration();
  if (permit_) {
    target_->health->on_result(cls, elapsed, hint);
    permit_ = false;
  }
  policy::Outcome outcome = policy::Outcome::cancelled();  // the latency (or the penalty) the balancer learns
  switch (cls) {
    case ErrorClass::none:  // a stream's first token (commit), or a whole answer (sample_)
      outcome = policy::Outcome::success(sample_.value_or(policy::LatencySample{elapsed, Millis{0}, -1, req_.stream}));
      break;
    case ErrorClass::rate_limited: outcome = policy::Outcome::rate_limited(elapsed, hint); break;
    case ErrorClass::retryable:
    case ErrorClass::fatal_target: outcome = policy::Outcome::failure(elapsed); break;
    default: break;
  }
  // A live stream stays in flight (and its latency unknown) until it ends: end_load() then.
  if (cls == ErrorClass::none && req_.stream) live_outcome_ = outcome;
  else end_load(outcome);
  if (cls == ErrorClass::transparent) {  // nothing reached the upstream
    ticket_sent_ = false;
    unsend();
  }
  if (!(cls == ErrorClass::none && req_.stream)) release_slot();  // a live stream keeps its slot to the end
  r_->sync(*target_);
}

void RoutedCallImpl::end_load(policy::Outcome outcome) {
  if (!balancer_started_) return;
  balancer_started_ = false;
  live_outcome_.reset();
  --target_->in_flight;
  target_->owner->balancer->on_finish(target_->index, outcome);
}

void RoutedCallImpl::end_stream_load(bool complete) {
  if (!live_outcome_) return;
  policy::Outcome outcome = *live_outcome_;
  if (complete) {  // the whole answer is measured now: total time and output tokens
    outcome.latency.total = attempt_duration();
    const std::int64_t tokens = inspect_.completion_tokens().value_or(inspect_.estimated_output_tokens());
    outcome.latency.output_tokens = static_cast<int>(std::clamp<std::int64_t>(tokens, 0, 1 << 30));
  }
  end_load(outcome);
}

void RoutedCallImpl::succeed() {
  end_attempt(ErrorClass::none, std::nullopt);
  log_.back().decision = "served";
  log_.back().error_class = "none";
  served_ = log_.back();
}

Headers RoutedCallImpl::served_headers() const {
  Headers h;
  for (const auto& x : headers_)  // the body may be a translation: its length is not the provider's
    if (!iequals(x.name, "content-length")) h.push_back(x);
  h.push_back({"x-llmfailover-target", target_->id});
  h.push_back({"x-llmfailover-deployment", target_->deployment->id});
  h.push_back({"x-llmfailover-model", target_->deployment->model});
  h.push_back({"x-llmfailover-attempts", std::to_string(log_.size())});
  return h;
}

void RoutedCallImpl::finish_ok() {
  if (req_.stream && mode_ == Mode::stream_live) {
    correct_quota(inspect_.usage_total().value_or(est_.input + inspect_.estimated_output_tokens()));
    end_stream_load(/*complete=*/true);
  }
  release_slot();
  mode_ = Mode::done;
  current_.reset();
  channel_.push(Event::end());
}

void RoutedCallImpl::fail(Verdict v, Deferred& later) {
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

void RoutedCallImpl::fail_answered(Verdict v, Deferred& later) {
  auto [status, body] = verdict_answer(target_->provider->name(), {v.cls, v.reason, v.message});
  last_head_ = Event::head(status, {{"content-type", "application/json"}});
  last_body_ = std::move(body);
  last_error_.reset();
  fail(std::move(v), later);
}

void RoutedCallImpl::decide(const Verdict& v, Deferred& later) {
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

void RoutedCallImpl::request_error(const Verdict& v, Deferred& later) {
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

void RoutedCallImpl::schedule_attempt(Target* t, Millis wait, Deferred& later, bool acquire) {
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

void RoutedCallImpl::note_skip(const std::string& why) {
  if (!skips_.empty()) skips_ += "; ";
  skips_ += why;
}

void RoutedCallImpl::surface(Deferred&) {
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

bool RoutedCallImpl::degradable() const {
  if (req_.call.path != "/chat/completions") return false;
  if (log_.empty()) return true;
  const std::string& cls = log_.back().error_class;
  return cls != "fatal_request" && cls != "ignored";
}

void RoutedCallImpl::push_failure(Error e) {
  mode_ = Mode::done;
  channel_.push(Event::failure(std::move(e)));
}

void RoutedCallImpl::cancel_from_caller() {
  std::shared_ptr<transport::Exchange> ex;
  {
    std::lock_guard lock(mutex_);
    if (mode_ != Mode::done && mode_ != Mode::idle && target_ && permit_) end_attempt(ErrorClass::ignored, std::nullopt);
    end_stream_load(/*complete=*/false);  // a live stream the caller closed: as measured at its first token
    if (mode_ == Mode::idle) drop_held();  // a pick waiting for its backoff: never sent
    else release_slot();
    mode_ = Mode::done;
    ex = std::move(current_);
  }
  if (ex) ex->cancel();
}

std::shared_ptr<RoutedCall> start_routed_call(std::shared_ptr<Router::Impl> router, RouteRequest request) {
  auto call = std::make_shared<RoutedCallImpl>(std::move(router), std::move(request));
  call->start();
  return call;
}

}  // namespace llmfailover
