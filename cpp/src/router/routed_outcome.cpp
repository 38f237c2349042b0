// routed_outcome.cpp — how a routed call's attempt ends (health, balancer and quota accounting),
// the failover decision carried out (policy::decide(), failover.hpp: permits, the balancer's
// offer, the retry budget, waits), and what the caller finally gets (the answer, the upstream's
// last error, the degraded answer, a cancel).
#include <cstdio>

#include "routed_call_impl.hpp"

namespace llmfailover {

policy::Outcome failed_outcome(ErrorClass cls, Millis elapsed, std::optional<Millis> hint) {
  switch (cls) {
    case ErrorClass::rate_limited: return policy::Outcome::rate_limited(elapsed, hint);
    case ErrorClass::retryable:
    case ErrorClass::fatal_target: return policy::Outcome::failure(elapsed);
    default: return policy::Outcome::cancelled();
  }
}

void RoutedCallImpl::end_attempt(ErrorClass cls, std::optional<Millis> hint) {
  current_rec().elapsed_ms = ms(r_->time->now() - attempt_start_);
  meter_attempt(cls, target_, current_rec());
  Millis elapsed = attempt_duration();
  if (permit_) {
    target_->health->on_result(cls, elapsed, hint);
    permit_ = false;
  }
  // The latency (or the penalty) the balancer learns: a stream's first token (commit), or a whole
  // answer (sample_).
  const policy::Outcome outcome =
      cls == ErrorClass::none
          ? policy::Outcome::success(sample_.value_or(policy::LatencySample{elapsed, Millis{0}, -1, req_.stream}))
          : failed_outcome(cls, elapsed, hint);
  // A live stream stays in flight (and its latency unknown) until it ends: end_load() then.
  if (cls == ErrorClass::none && req_.stream) live_outcome_ = outcome;
  else end_load(outcome);
  if (cls == ErrorClass::transparent) {  // nothing reached the upstream
    ticket_sent_ = false;
    unsend();
  }
  if (!(cls == ErrorClass::none && req_.stream)) release_slot();  // a live stream keeps its slot to the end
  if (!req_.pass) r_->sync(*target_);  // a pass-through call changed no health or balancer state
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

void RoutedCallImpl::succeed(Deferred& later) {
  if (hedge_) cancel_hedge("'" + target_->id + "' answered first", later);  // this attempt won the race
  if (!resuming_)  // a recovery's time to its first new token is not the target's normal
    target_->learn_ttft(ttft_kind(),
                        req_.stream ? attempt_duration()
                                    : Millis{static_cast<Millis::rep>(std::max(0.0, current_rec().first_byte_ms))});
  end_attempt(ErrorClass::none, std::nullopt);
  current_rec().decision = "served";
  current_rec().error_class = "none";
  served_ = current_rec();
}

Headers RoutedCallImpl::served_headers() const {
  Headers h;
  h.reserve(headers_.size() + 4);
  for (const auto& x : headers_)  // the body may be a translation: its length is not the provider's
    if (!iequals(x.name, "content-length")) h.push_back(x);
  h.push_back({"x-llmfailover-target", target_->id});
  h.push_back({"x-llmfailover-deployment", target_->deployment->id});
  h.push_back({"x-llmfailover-model", target_->deployment->model});
  h.push_back({"x-llmfailover-attempts", std::to_string(log_.size())});
  return h;
}

void RoutedCallImpl::finish_ok(Deferred& later) {
  if (req_.stream && mode_ == Mode::stream_live) {
    correct_quota(inspect_.usage_total().value_or(est_.input + inspect_.estimated_output_tokens()));
    end_stream_load(/*complete=*/true);
  }
  release_slot();
  disarm(later);
  mode_ = Mode::done;
  current_.reset();
  channel_.push(Event::end());
}

void RoutedCallImpl::fail(Verdict v, Deferred& later) {
  RouteAttempt& rec = current_rec();
  rec.error = v.error ? std::string(to_string(v.error.code)) : "";
  rec.error_class = std::string(to_string(v.cls));
  rec.reason = v.reason;
  v.message = scrubbed(std::move(v.message));
  rec.message = v.message;
  if (v.hint) rec.retry_after_ms = static_cast<double>(v.hint->count());
  end_attempt(v.cls, v.hint);
  disarm(later);
  if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
  mode_ = Mode::idle;
  decide(v, later);
}

void RoutedCallImpl::fail_answered(Verdict v, Deferred& later) {
  v.message = scrubbed(std::move(v.message));
  auto [status, body] = verdict_answer(target_->provider->name(), {v.cls, v.reason, v.message});
  last_head_ = Event::head(status, {{"content-type", "application/json"}});
  last_body_ = std::move(body);
  last_error_.reset();
  fail(std::move(v), later);
}

void RoutedCallImpl::decide(const Verdict& v, Deferred& later) {
  using A = policy::FailoverAction;
  RouteAttempt& rec = current_rec();
  Target* t = target_;
  Target* next = nullptr;  // the balancer's offer, held until used or given back
  policy::FailoverFacts f = facts(policy::FailoverEvent::attempt_failed, &v);
  if (f.retry.style == RetryStyle::openai && f.openai_retry) f.jitter = r_->random->uniform();  // no pick
  if (hedge_ && policy::decide(f).action != A::adopt_hedge) {  // the hedge cannot help: a request error, a cancel
    cancel_hedge("the call moved on", later);
    f.hedge_in_flight = false;
  }
  for (int round = 0; round < 4; ++round) {  // failover.hpp: at most four rounds
    const policy::FailoverDecision d = policy::decide(f);
    if (d.action != A::pick) rec.decision = std::string(d.log);
    switch (d.action) {
      case A::pick:
        if (d.spend) spent_.insert(t);
        next = offer(f, d.exclude_failed);
        continue;
      case A::retry_transparent:
        if (readmit(t)) {
          transparent_used_.insert(t);  // nothing reached the upstream: once more at once, free
          --tries_[t];
          return begin_attempt(t, 0, later);
        }
        f.same_refused = true;
        continue;
      case A::restart_without_prefill:
        if (recover_again(std::string(d.log), later)) return;
        f.same_refused = true;
        continue;
      case A::switch_chain: return switch_chain(f.own_chain, later);
      case A::failover: return begin_attempt(next, 0, later);
      case A::retry:
      case A::retry_after:
        if (!d.draws_budget() || group_->budget->try_withdraw()) {
          if (d.action == A::retry) return schedule_attempt(next, d.wait, later);
          give_back(next);
          return schedule_attempt(t, d.wait, later, /*acquire=*/true);
        }
        f.budget_refused = true;
        continue;
      case A::adopt_hedge:
        if (d.spend) spent_.insert(t);
        return take_hedge(later);  // the hedge in flight is the failover (routed_call_hedge.cpp)
      case A::next_group: give_back(next); return enter_group(chain_pos_ + 1, later);  // an untried group: free
      case A::give_up: give_back(next); return surface(later);
      case A::continuation_prompt:
      case A::recover: break;  // not decisions on a failed attempt
    }
    break;
  }
  give_back(next);
  surface(later);
}

void RoutedCallImpl::move_on(policy::FailoverEvent event, Deferred& later) {
  using A = policy::FailoverAction;
  policy::FailoverFacts f = facts(event);
  Target* next = nullptr;  // the balancer's offer, held until used or given back
  for (int round = 0; round < 2; ++round) {
    const policy::FailoverDecision d = policy::decide(f);
    if (d.action == A::pick) {
      next = offer(f, false);
      continue;
    }
    if (d.action == A::failover && next) return begin_attempt(next, 0, later);
    give_back(next);
    if (d.action == A::next_group) return enter_group(chain_pos_ + 1, later);
    break;
  }
  surface(later);
}

policy::FailoverFacts RoutedCallImpl::facts(policy::FailoverEvent event, const Verdict* v) const {
  policy::FailoverFacts f;
  f.event = event;
  if (v) {
    f.cls = v->cls;
    f.silent = v->silent;
    f.hint = v->hint;
    const auto kind = policy::request_chain(v->reason);
    const auto& chains = kind == policy::RequestChain::context_window ? r_->config.context_window_fallbacks
                                                                      : r_->config.content_policy_fallbacks;
    if (v->cls == ErrorClass::fatal_request && kind != policy::RequestChain::none && !switched_chain_)
      if (auto it = chains.find(group_->name); it != chains.end() && !it->second.empty()) f.own_chain = kind;
  }
  auto tries = tries_.find(target_);
  f.tries = tries == tries_.end() ? 0 : tries->second;
  f.max_attempts = max_attempts();
  f.half_open_trial = trial_;
  f.spent = spent_.count(target_) > 0;
  f.transparent_used = transparent_used_.count(target_) > 0;
  // A Responses stream is recovered when the cut came inside its message's output text: the
  // recovery's events are renumbered as the delivered ones (responses_resume.hpp). A delivered
  // tool call or refusal cannot be resumed: the stream ends with the StreamInterrupted error.
  f.recovery = r_->config.stream_recovery == "continue" &&
               (req_.call.path == "/chat/completions" ||
                (req_.call.path == "/responses" && resume_events_ && resume_events_->blocker().empty()));
  f.resuming = resuming_;
  f.prefill = prefill_;
  f.continuation = continuation_;
  f.later_group = chain_pos_ + 1 < chain_.size();
  f.time_left = deadline_ - r_->time->now();
  f.retry = policy().retry;
  if (v && f.retry.style == RetryStyle::openai) {  // policy/retry.hpp: what openai-python reads
    if (ttft_expired_) f.openai_retry = policy::openai_should_retry(Error{Errc::first_byte_timeout, "", true});
    else if (v->error) f.openai_retry = policy::openai_should_retry(v->error);
    else if (status_ >= 400) f.openai_retry = policy::openai_should_retry(status_, headers_);
    if (status_ >= 400) f.openai_hint = policy::parse_retry_after(headers_, policy::WallClock::now());
  }
  f.hedge_in_flight = hedge_.has_value();
  return f;
}

Target* RoutedCallImpl::offer(policy::FailoverFacts& f, bool exclude_failed) {
  std::set<const Target*> exclude = exhausted();
  if (exclude_failed) exclude.insert(target_);
  Target* next = pick_next(exclude);
  auto tries = next ? tries_.find(next) : tries_.end();
  f.offer = !next ? policy::Offer::none : tries == tries_.end() ? policy::Offer::fresh : policy::Offer::tried;
  f.offer_is_failed = next && next == target_;
  f.offer_tries = tries == tries_.end() ? 0 : tries->second;
  // A draw only where a wait may follow (back to a tried target, or a hint), so a call draws what
  // it did before the policy moved out (SequenceRandom tests count the draws).
  if (f.event == policy::FailoverEvent::attempt_failed && (f.offer == policy::Offer::tried || (!next && f.hint)))
    f.jitter = r_->random->uniform();
  return next;
}

void RoutedCallImpl::give_back(Target* offered) {
  if (!offered) return;
  offered->health->on_result(ErrorClass::ignored, Millis{0}, std::nullopt);  // give the permit back
  drop_held();
}

bool RoutedCallImpl::readmit(Target* t) {
  if (!t->health->try_acquire()) return false;
  if (admit(t)) return true;
  t->health->release();
  return false;
}

void RoutedCallImpl::switch_chain(policy::RequestChain kind, Deferred& later) {
  const auto& chains = kind == policy::RequestChain::context_window ? r_->config.context_window_fallbacks
                                                                    : r_->config.content_policy_fallbacks;
  switched_chain_ = true;  // a request error moves to its own chain, once
  chain_ = chains.at(group_->name);
  enter_group(0, later);
}

void RoutedCallImpl::schedule_attempt(Target* t, Millis wait, Deferred& later, bool acquire) {
  std::uint64_t epoch = ++epoch_;
  auto self = shared_from_this();
  double waited = static_cast<double>(wait.count());
  later.push_back([self, t, wait, waited, epoch, acquire] {
    // Held weakly: a call cancelled meanwhile is freed at once (its cancel also stops this timer).
    auto timer = self->r_->http->schedule(wait, [weak = self->weak_from_this(), t, waited, epoch, acquire] {
      auto call = weak.lock();
      if (!call) return;
      Deferred later2;
      {
        std::lock_guard lock(call->mutex_);
        if (epoch != call->epoch_ || call->mode_ == Mode::done) return;
        try {
          if (acquire && !call->req_.pass && !t->health->try_acquire()) {
            call->note_skip("'" + t->id + "' was still unavailable after its retry-after wait");
            call->move_on(policy::FailoverEvent::wait_refused, later2);
          } else if (acquire && !call->admit(t)) {
            if (!call->req_.pass) t->health->release();
            call->move_on(policy::FailoverEvent::wait_refused, later2);
          } else {
            call->begin_attempt(t, waited, later2);
          }
        } catch (const std::exception& x) {
          call->fault(x.what(), later2);
        }
      }
      call->run(later2);
    });
    self->keep(epoch, std::move(timer));
  });
}

void RoutedCallImpl::note_skip(const std::string& why) {
  if (!skips_.empty()) skips_ += "; ";
  skips_ += why;
}

void RoutedCallImpl::surface(Deferred& later) {
  cancel_hedge("the call ended", later);
  drop_held();
  disarm(later);
  mode_ = Mode::done;
  current_.reset();
  if (resuming_) return channel_.push(Event::failure(*original_error_));  // never hide the original error
  if (r_->config.degraded_answer && degradable()) {
    degraded_ = true;
    for (auto& e : degraded_events(*r_->config.degraded_answer, req_.stream, req_.model)) channel_.push(std::move(e));
    return;
  }
  // Errors say what happened (issue 11): with more than one target tried, the message opens
  // with the route ("all 2 targets failed: primary silent for 10.0 s, backup 503").
  const std::string summary = route_summary();
  if (last_head_) {
    channel_.push(Event::head(last_head_->status, last_head_->headers));
    channel_.push(Event::body(summary.empty() ? last_body_ : with_summary(last_body_, summary)));
    channel_.push(Event::end());
  } else if (last_error_) {
    Error e = *last_error_;
    if (!summary.empty()) e.message = summary + "; last: " + e.message;
    channel_.push(Event::failure(std::move(e)));
  } else {
    push_failure({Errc::no_target, "no target could take the call for model '" + req_.model + "': " + skips_, false});
  }
}

std::string RoutedCallImpl::route_summary() const {
  std::vector<std::string> order;
  std::map<std::string, std::pair<const RouteAttempt*, int>> last;  // per target: its last attempt, count
  for (const auto& a : log_) {
    if (!last.count(a.target)) order.push_back(a.target);
    auto& [rec, n] = last[a.target];
    rec = &a;
    ++n;
  }
  if (order.size() < 2) return "";
  std::string out = "all " + std::to_string(order.size()) + " targets failed: ";
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& [a, n] = last[order[i]];
    std::string what;
    if (a->reason == "silent" || a->reason == "first_token_timeout" || a->error == "first_byte_timeout") {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", a->elapsed_ms / 1000.0);
      what = std::string("silent for ") + secs + " s";
    } else if (a->status >= 400) {
      what = std::to_string(a->status);
    } else {
      what = a->reason.empty() ? a->error : a->reason;
    }
    out += (i ? ", " : "") + a->target + " " + what + (n > 1 ? " (" + std::to_string(n) + " attempts)" : "");
  }
  return out;
}

std::string RoutedCallImpl::with_summary(const std::string& body, const std::string& summary) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object()) {
    auto it = doc.find("error");
    if (it != doc.end() && it->is_object()) {
      auto m = it->find("message");
      if (m != it->end() && m->is_string()) {
        *m = summary + "; last: " + m->get<std::string>();
        return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
  }
  return body;  // not the OpenAI error shape: as the upstream sent it
}

bool RoutedCallImpl::degradable() const {
  if (req_.call.path != "/chat/completions") return false;
  if (log_.empty()) return true;
  const std::string& cls = current_rec().error_class;
  return cls != "fatal_request" && cls != "ignored";
}

void RoutedCallImpl::push_failure(Error e) {
  mode_ = Mode::done;
  channel_.push(Event::failure(std::move(e)));
}

void RoutedCallImpl::cancel_from_caller() {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (mode_ == Mode::done) return;
    // The attempt in progress ends as the caller's cancel, never as a time-out or a failure of
    // the target (its first-token timer is cancelled with it).
    if (mode_ != Mode::idle && !log_.empty() && current_rec().decision.empty()) {
      RouteAttempt& rec = current_rec();
      rec.error = std::string(to_string(Errc::cancelled));
      rec.error_class = std::string(to_string(ErrorClass::ignored));
      rec.reason = "cancelled";
      rec.message = "cancelled by the caller";
      rec.decision = "cancelled";
    }
    if (mode_ != Mode::idle && target_ && permit_) end_attempt(ErrorClass::ignored, std::nullopt);
    cancel_hedge("cancelled by the caller", later);
    end_stream_load(/*complete=*/false);   // a live stream the caller closed: as measured at its first token
    if (mode_ == Mode::idle) drop_held();  // a pick waiting for its backoff: never sent
    else release_slot();
    disarm(later);
    mode_ = Mode::done;
    meter_end();  // counted now: the channel's own cancel event is pushed without this call's lock
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
  }
  run(later);
}

}  // namespace llmfailover
