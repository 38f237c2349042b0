// routed_call.cpp — one call through the router: groups, picks, attempts and their requests.
// Events, timers and exception safety: routed_events.cpp; decisions and what the caller finally
// gets: routed_outcome.cpp; the stream's commit point and recovery: routed_stream.cpp.
#include "llmfailover/transport/url.hpp"
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
  for (const char* key : {"max_completion_tokens", "max_tokens", "max_output_tokens"})
    if (auto it = body.find(key); !max_tokens && it != body.end() && it->is_number_integer())
      max_tokens = static_cast<int>(std::clamp<std::int64_t>(it->get<std::int64_t>(), 0, 1 << 30));
  if (path == "/embeddings") max_tokens = 0;
  return policy::estimate_tokens(chars, max_tokens);
}

policy::TokenEstimate scan_estimate(const RequestScan& scan, const std::string& path) {
  std::optional<int> max_tokens;
  for (const auto& v : {scan.max_completion_tokens, scan.max_tokens, scan.max_output_tokens})
    if (!max_tokens && v) max_tokens = static_cast<int>(std::clamp<std::int64_t>(*v, 0, 1 << 30));
  if (path == "/embeddings") max_tokens = 0;
  return policy::estimate_tokens(scan.text_chars, max_tokens);
}

}  // namespace

RoutedCallImpl::RoutedCallImpl(std::shared_ptr<Router::Impl> router, RouteRequest request)
    : r_(std::move(router)), req_(std::move(request)), t0_(r_->time->now()) {
  if (req_.pass) {  // a verbatim request: its body is never parsed (quotas count it as empty)
    est_ = policy::estimate_tokens(0, std::nullopt);
  } else {
    // Chat and embeddings: a scan instead of a parse (json_scan.hpp); the parse only when unsure.
    if (req_.call.path == "/chat/completions" || req_.call.path == "/embeddings")
      scan_ = scan_request(req_.call.body, max_json_depth());
    est_ = scan_ ? scan_estimate(*scan_, req_.call.path) : request_estimate(parsed_body(), req_.call.path);
  }
  // Backpressure: an exchange stops reading while the caller is behind on this channel.
  const auto& o = r_->options;
  channel_.set_limits(o.max_queued_events, o.max_queued_bytes);
}

const nlohmann::json& RoutedCallImpl::parsed_body() {
  if (!parsed_) body_ = parse_json(req_.call.body);
  parsed_ = true;
  return body_;
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
  // The channel is ours: `this` outlives it. A pass-through call is not metered (meter_end()).
  if (!req_.pass) channel_.on_finish([this] { meter_end(); });
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (!req_.pass && !pin_stateful()) return;
    Group* g = r_->group(req_.model);
    if (!g) {
      push_failure({Errc::no_target, "unknown model group '" + req_.model + "'", false});
      return;
    }
    const GroupPolicy& p = *g->policy;
    deadline_ = t0_ + bounded(req_.overrides.deadline.value_or(p.timeouts.deadline));  // no overflow for "no limit"
    chain_ = r_->chain(req_.model, req_.overrides);
    if (pinned_) restrict_to_pinned();
    if (refuse_over_budget(*r_, req_, chain_, channel_)) {  // before any attempt (budgets.cpp)
      mode_ = Mode::done;
      return;
    }
    try {
      enter_group(0, later);
    } catch (const std::exception& x) {
      fault(x.what(), later);
    }
  }
  run(later);
}

std::vector<AttemptRecord> RoutedCallImpl::attempts() const {
  std::lock_guard lock(mutex_);
  std::vector<AttemptRecord> out;
  for (const auto& a : log_) {
    AttemptRecord rec;
    rec.attempt = a.attempt;
    rec.url = req_.pass ? pass_url_ : a.target;
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
    // A new logical request on this group; a pass-through call's retries (openai's rules) never
    // draw on the budget, so it deposits nothing either.
    if (!req_.pass) group_->budget->deposit();
    tried_.clear();
    // Pass-through: the group's one deployment (plain.hpp), no balancer pick.
    if (req_.pass && group_->targets.size() == 1) return begin_attempt(group_->targets.front(), 0, later);
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
  out.insert(spent_.begin(), spent_.end());
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

bool RoutedCallImpl::is_exhausted(const Target* t) const {
  if (auto it = tries_.find(t); it != tries_.end() && it->second >= max_attempts()) return true;
  return unusable_.count(t) > 0 || spent_.count(t) > 0;
}

bool RoutedCallImpl::fallback_left() const {
  if (chain_pos_ + 1 < chain_.size()) return true;
  for (const Target* t : group_->targets)  // every attempt asks: no set built for it
    if (t != target_ && !tried_.count(t) && !is_exhausted(t)) return true;
  return false;
}

void RoutedCallImpl::begin_attempt(Target* t, double waited_ms, Deferred& later) {
  cancel_hedge("another attempt started", later);  // none in flight on every path today: decide() ends it first
  std::uint64_t epoch = ++epoch_;
  if (slot_ != t) {  // every path admits first; never run without the target's slot
    release_slot();
    unsend();
  }
  target_ = t;
  // A pass-through call takes no permit (its breaker is off, plain.hpp) and is not balanced.
  trial_ = !req_.pass && t->health->state() == policy::BreakerState::half_open;  // its permit is taken: the trial
  permit_ = !req_.pass;
  reset_attempt_state();
  translator_.reset();
  secrets_.clear();
  pass_secrets_ = false;
  secrets_.add(t->endpoint.api_key.reveal());
  // Recovery on a target that continues an assistant prefix: it is sent what the caller already
  // has and answers only the rest, so nothing needs to be matched and swallowed.
  prefill_ = resuming_ && !continuation_ && t->provider->supports_prefill() && !no_prefill_.count(t);
  matched_ = prefill_ || continuation_ ? delivered_.size() : 0;
  attempt_start_ = r_->time->now();
  tried_.insert(t);
  ++tries_[t];
  if (!req_.pass) {
    ++t->in_flight;
    t->owner->balancer->on_start(t->index);
    balancer_started_ = true;
  }
  log_.push_back(new_record(*t, waited_ms, attempt_start_));
  cur_ = log_.size() - 1;
  Timeouts timeouts;
  std::tie(timeouts, idle_) = attempt_timeouts(*t, attempt_start_);
  if (t->credentials) return send_with_credential(t, timeouts, epoch, later);  // a credential to fetch first
  send(t, timeouts, epoch, later);
}

void RoutedCallImpl::reset_attempt_state() {
  mode_ = Mode::head;
  status_ = 0;
  headers_.clear();
  body_buf_.clear();
  pending_.clear();
  inspect_ = StreamInspector{};
  ttft_expired_ = false;
  sample_.reset();
}

RouteAttempt RoutedCallImpl::new_record(const Target& t, double waited_ms, Clock::time_point start) {
  RouteAttempt rec;
  rec.attempt = static_cast<int>(log_.size()) + 1;
  rec.group = group_->name;
  rec.target = t.id;
  rec.deployment = t.deployment->id;
  rec.provider = t.deployment->provider;
  rec.model = t.deployment->model;
  rec.key_index = t.key_index;
  rec.started_ms = ms(start - t0_);
  rec.waited_ms = waited_ms;
  rec.pick = std::move(next_pick_);
  rec.skipped = std::move(next_skipped_);
  next_pick_.clear();
  next_skipped_.clear();
  return rec;
}

std::pair<Timeouts, Millis> RoutedCallImpl::attempt_timeouts(Target& t, Clock::time_point start) {
  if (req_.pass) return {req_.pass->timeouts, Millis{0}};  // the caller's, per attempt (openai's)
  const auto& tp = policy().timeouts;
  policy::AttemptLimitFacts lf;
  lf.first_token = bounded(req_.overrides.first_token.value_or(tp.first_token));
  lf.first_token_override = req_.overrides.first_token.has_value();
  lf.idle = bounded(req_.overrides.idle.value_or(tp.idle));
  lf.normal_ttft = t.normal_ttft(ttft_kind(), static_cast<std::size_t>(std::max(1, tp.first_token_samples)));
  lf.factor = tp.first_token_factor;
  lf.fallback_left = fallback_left();
  lf.time_left = deadline_ - start;
  const policy::AttemptLimits limits = policy::attempt_limits(lf);
  Timeouts timeouts;
  timeouts.connect = bounded(tp.connect);
  timeouts.first_byte = limits.first_token;
  // Before the first token the first-token limit governs a stream; the idle limit takes over at
  // the commit point (commit() tightens it).
  timeouts.idle =
      req_.stream && limits.first_token.count() > 0 ? std::max(limits.idle, limits.first_token) : limits.idle;
  return {timeouts, limits.idle};
}

void RoutedCallImpl::send(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later) {
  const Millis first_token = timeouts.first_byte;
  HttpRequest http;
  try {
    http = req_.pass ? pass_request(*t, timeouts) : translate(*t, timeouts);
  } catch (const providers::TranslationError& e) {
    return cannot_take(e, later);      // this provider cannot express the request; another may
  } catch (const std::exception& e) {  // a value of the wrong type where the adapter reads one
    return cannot_take(providers::TranslationError(std::string(t->provider->name()), "",
                                                   std::string("cannot translate the request: ") + e.what()),
                       later);
  }
  // Pass-through: the caller's per-attempt limits only, as openai's, unless it set a deadline.
  if (!req_.pass || req_.overrides.deadline) http.deadline = deadline_;
  if (!req_.pass && req_.stream && first_token.count() > 0) {
    // Before a stream's first token the router's own timer (arm_first_token) decides; the
    // transport's head and idle limits are its backstop, a little later, so that the two never
    // race to name the cause (a loaded machine could otherwise report idle_timeout).
    const Millis backstop = first_token + std::max(Millis{50}, first_token / 8);
    http.timeouts.first_byte = std::max(http.timeouts.first_byte, backstop);
    http.timeouts.idle = std::max(http.timeouts.idle, backstop);
  }
  if (t->deployment->proxy) http.proxy = t->deployment->proxy->reveal();
  if (!req_.pass) {  // pass-through: gathered when an error needs them (routed_pass.cpp)
    secrets_.add_from_request(http);
    t->rate->on_send(est_);
  }
  if (ticket_target_ == t) ticket_sent_ = true;
  auto self = shared_from_this();
  later.push_back([self, http = std::move(http), epoch]() mutable {  // runs once: the request moves on
    std::shared_ptr<FlowControl> flow(self, &self->channel_);
    auto ex = self->r_->http->start(
        std::move(http), [self, epoch](Event&& e) { self->on_event(epoch, std::move(e)); }, std::move(flow));
    self->keep(epoch, std::move(ex));
  });
  if (req_.pass) return;  // the transport's first-byte limit is the caller's; no hedging
  if (req_.stream && first_token.count() > 0) arm_first_token(epoch, first_token, later);
  arm_hedge(epoch, first_token, later);
}

void RoutedCallImpl::arm_first_token(std::uint64_t epoch, Millis first_token, Deferred& later) {
  // Headers may come fast and the first token never: the first-token limit covers both. The
  // timer holds the call weakly and is cancelled when the attempt ends (disarm()). A closing
  // client runs pending timers early (HttpClient::shutdown): that is the close, which cancels
  // the exchange, never the limit (asio timers never fire before their expiry).
  auto self = shared_from_this();
  later.push_back([self, first_token, epoch] {
    const auto armed = self->r_->http->now();
    auto timer = self->r_->http->schedule(first_token, [weak = self->weak_from_this(), epoch, armed, first_token] {
      auto call = weak.lock();
      if (!call || call->r_->http->now() - armed < first_token) return;
      call->on_first_token_timeout(epoch);
    });
    self->keep_timer(epoch, &RoutedCallImpl::ttft_timer_, std::move(timer));
  });
}

void RoutedCallImpl::send_with_credential(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later) {
  if (auto token = t->credentials->ready()) {
    credential_ = std::move(token);
    return send(t, timeouts, epoch, later);
  }
  auto self = shared_from_this();
  // The fetch is shared with other calls and has its own limit; this call's deadline still holds.
  awaiting_credential_ = true;
  const Millis left = std::max(Millis{0}, std::chrono::ceil<Millis>(deadline_ - r_->time->now()));
  later.push_back([self, left, epoch] {
    const auto armed = self->r_->http->now();
    auto timer = self->r_->http->schedule(left, [weak = self->weak_from_this(), epoch, armed, left] {
      auto call = weak.lock();
      if (!call || call->r_->http->now() - armed < left) return;  // run early by a closing client: not the deadline
      call->on_credential_deadline(epoch);
    });
    self->keep_timer(epoch, &RoutedCallImpl::credential_timer_, std::move(timer));
  });
  later.push_back([self, t, timeouts, epoch] {
    self->r_->fetch_credential(*t, timeouts, [self, t, timeouts, epoch](auto token, auto error) {
      Deferred later2;
      {
        std::lock_guard lock(self->mutex_);
        if (epoch != self->epoch_ || self->mode_ != Mode::head || !self->awaiting_credential_)
          return;  // moved on meanwhile
        self->awaiting_credential_ = false;
        if (self->credential_timer_)
          later2.push_back([timer = std::move(self->credential_timer_)] { timer->cancel(); });
        try {
          if (token) {
            self->credential_ = std::move(token);
            self->send(t, timeouts, epoch, later2);
          } else {
            self->fail_answered({error->cls, error->reason, error->message}, later2);
          }
        } catch (const std::exception& x) {
          self->fault(x.what(), later2);
        }
      }
      self->run(later2);
    });
  });
}

void RoutedCallImpl::on_credential_deadline(std::uint64_t epoch) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || mode_ != Mode::head || !awaiting_credential_) return;
    awaiting_credential_ = false;
    credential_timer_.reset();  // this one fired
    try {
      on_error(
          {Errc::deadline_exceeded,
           std::string("the call's deadline passed while waiting for ") + std::string(target_->credentials->kind()),
           false},
          later);
    } catch (const std::exception& x) {
      fault(x.what(), later);
    }
  }
  run(later);
}

HttpRequest RoutedCallImpl::translate(const Target& t, const Timeouts& timeouts) {
  const providers::Endpoint* ep = &t.endpoint;
  providers::Endpoint with_credential;  // the attempt's own copy: the target's Endpoint is shared
  if (t.credentials && credential_) {
    with_credential = t.endpoint;
    with_credential.api_key = *credential_;
    ep = &with_credential;
  }
  const std::string& model = t.deployment->model;
  const bool chat = req_.call.path == "/chat/completions", embeddings = req_.call.path == "/embeddings";
  providers::TranslatedRequest tr;
  // The hot path: an OpenAI-shaped provider sends the caller's bytes with only the model replaced
  // (provider.hpp verbatim_request); no parse, copy or dump of the request.
  std::optional<providers::TranslatedRequest> verbatim;
  std::unique_ptr<providers::StreamTranslator> verbatim_translator;
  if (scan_ && !prefill_ && !continuation_)
    verbatim = t.provider->verbatim_request(*ep, req_.call.path, req_.call.body, *scan_, model, req_.stream, timeouts,
                                            verbatim_translator);
  if (verbatim) {
    tr = std::move(*verbatim);
    if (req_.stream) translator_ = std::move(verbatim_translator);
  } else {
    parsed_body();
    // The deployment's model replaces the caller's. When it is the same, or unset (a plain client's
    // deployment, plain.hpp: the caller's model goes upstream), a chat or embeddings request is
    // translated from the parsed request itself: no copy of it per attempt (issue 14, hot path).
    const auto named = body_.is_object() ? body_.find("model") : body_.end();
    const bool same_model =
        model.empty() || (named != body_.end() && named->is_string() && named->get_ref<const std::string&>() == model);
    nlohmann::json copy;
    if (!(same_model && body_.is_object() && !prefill_ && !continuation_ && (chat || embeddings))) {
      copy = body_.is_object() ? body_ : nlohmann::json::object();
      if (!model.empty()) copy["model"] = model;
    }
    nlohmann::json& body = copy.is_null() ? body_ : copy;  // body_ only read below
    if ((prefill_ || continuation_) && body.contains("messages") && body["messages"].is_array()) {
      body["messages"].push_back({{"role", "assistant"}, {"content", delivered_}});
      if (continuation_)
        body["messages"].push_back(
            {{"role", "user"}, {"content", "Continue your answer exactly where it stops. Do not repeat anything."}});
    }
    if (embeddings) {
      tr = t.provider->embeddings_request(*ep, body, timeouts);
    } else if (chat) {
      tr = t.provider->chat_request(*ep, body, req_.stream, timeouts);
      if (req_.stream) translator_ = t.provider->stream_translator(*ep, body);
    } else {
      tr = translate_openai_path(t, *ep, body, timeouts);  // routed_responses.cpp
    }
  }
  for (const auto& w : tr.warnings) current_rec().message += (current_rec().message.empty() ? "" : "; ") + w;
  for (const auto& h : req_.call.headers) {
    auto it =
        std::find_if(tr.http.headers.begin(), tr.http.headers.end(), [&](auto& x) { return iequals(x.name, h.name); });
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
  RouteAttempt& rec = current_rec();
  rec.error_class = "fatal_request";
  rec.reason = "unsupported";
  rec.message = scrubbed(e.what());
  rec.decision = "skip";
  end_attempt(ErrorClass::ignored, std::nullopt);
  unusable_.insert(target_);
  nlohmann::json err = {{"error",
                         {{"message", rec.message},
                          {"type", "invalid_request_error"},
                          {"param", e.parameter().empty() ? nlohmann::json() : nlohmann::json(e.parameter())},
                          {"code", "unsupported_parameter"}}}};
  if (!last_head_) {
    last_head_ = Event::head(400, {{"content-type", "application/json"}});
    last_body_ = err.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  mode_ = Mode::idle;
  move_on(policy::FailoverEvent::unsupported, later);
}

std::shared_ptr<RoutedCall> start_routed_call(std::shared_ptr<Router::Impl> router, RouteRequest request) {
  const bool pass = request.pass.has_value();
  auto call = std::make_shared<RoutedCallImpl>(std::move(router), std::move(request));
  call->start();
  if (!pass) return call;
  // The exchange holds the call (its sink and flow control), so the call cannot notice being
  // dropped by itself; a pass-through call (a plain client's) is cancelled when its caller's last
  // handle goes (call.hpp), so a dropped stream does not stay paused (backpressure) with its
  // connection until close().
  struct Handle {
    std::shared_ptr<RoutedCallImpl> call;
    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
      // A call whose answer ended has nothing to cancel. Asked first because the caller usually
      // drops the handle right after taking the terminal event, while the io thread still holds
      // the call's lock finishing that delivery: cancel() would wait for it (a futex sleep in
      // about a third of plain calls, docs/performance.md "The sync client, per call").
      if (call && !call->channel().finished()) call->cancel();
    }
  };
  auto handle = std::make_shared<Handle>();
  handle->call = std::move(call);
  return {handle, handle->call.get()};
}

}  // namespace llmfailover
