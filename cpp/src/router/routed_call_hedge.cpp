// routed_call_hedge.cpp — hedged requests (issue 11; gRPC A6 "Hedging Policy",
// github.com/grpc/proposal/blob/master/A6-client-retries.md): after the group's hedge delay with
// no first token, the same request also goes to the target the group's balancer picks next (never
// one this call tried); the first to produce a first token wins, the other is cancelled. When
// and whether is policy::hedge() (failover.hpp); this file only carries it out.
//
// The hedge runs beside the current attempt: its events are held aside (nothing reaches the
// caller) until it wins, then it becomes the call's attempt and the held events are replayed
// through handle(), so the commit point, recovery and accounting are those of any attempt. When
// the current attempt fails while the hedge is in flight, policy::decide() says adopt_hedge and
// the hedge is taken the same way. Both appear in the route log: the hedge's entry has pick
// "hedge", the loser ends with decision "hedge_cancelled" (or the hedge "hedge_failed").
#include "routed_call_impl.hpp"

namespace llmfailover {

policy::HedgeFacts RoutedCallImpl::hedge_facts(policy::HedgeStage stage) const {
  policy::HedgeFacts f;
  f.stage = stage;
  f.hedge = policy().hedge;
  // Only chat completions: other endpoints translate per target with state of their own
  // (routed_responses.cpp), and a pinned call has one target.
  if (req_.call.path != "/chat/completions" || pinned_) f.hedge.enabled = false;
  if (!f.hedge.enabled) return f;  // policy::hedge() reads nothing else then: no clock, no p95 per call
  f.sent = hedges_sent_;
  f.resuming = resuming_;
  f.committed = (mode_ != Mode::head && mode_ != Mode::stream_pre) || awaiting_credential_;
  const auto samples = static_cast<std::size_t>(std::max(1, policy().timeouts.first_token_samples));
  if (target_) f.p95 = target_->normal_ttft(ttft_kind(), samples, 0.95);
  f.time_left = deadline_ - r_->time->now();
  return f;
}

void RoutedCallImpl::arm_hedge(std::uint64_t epoch, Millis first_token, Deferred& later) {
  policy::HedgeFacts f = hedge_facts(policy::HedgeStage::arm);
  f.committed = false;  // the attempt is being sent now
  f.first_token = first_token;
  const policy::HedgeDecision d = policy::hedge(f);
  if (d.action != policy::HedgeAction::arm) return;
  auto self = shared_from_this();
  later.push_back([self, epoch, delay = d.delay] {
    const auto armed = self->r_->http->now();
    auto timer = self->r_->http->schedule(delay, [weak = self->weak_from_this(), epoch, armed, delay] {
      auto call = weak.lock();
      if (!call || call->r_->http->now() - armed < delay) return;  // run early by a closing client
      call->on_hedge_timer(epoch);
    });
    self->keep_timer(epoch, &RoutedCallImpl::hedge_timer_, std::move(timer));
  });
}

void RoutedCallImpl::give_back_pick(const Picked& p) {
  p.target->health->on_result(ErrorClass::ignored, Millis{0}, std::nullopt);  // the permit back
  r_->leave(*p.target->dep);
  p.tickets.cancel(*p.target);
}

void RoutedCallImpl::on_hedge_timer(std::uint64_t epoch) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || mode_ == Mode::done || mode_ == Mode::idle) return;
    hedge_timer_.reset();  // this one fired
    std::optional<Picked> picked;
    policy::HedgeFacts f = hedge_facts(policy::HedgeStage::fire);
    try {
      for (int round = 0; round < 3; ++round) {  // pick, send, budget refused: at most three rounds
        const policy::HedgeDecision d = policy::hedge(f);
        if (d.action == policy::HedgeAction::pick) {
          std::set<const Target*> exclude = exhausted();
          exclude.insert(tried_.begin(), tried_.end());
          for (const Target* t : group_->targets)
            if (t->credentials) exclude.insert(t);  // a credential to fetch first: not hedged
          picked = r_->pick(*group_, tried_, exclude, est_);
          f.offer = picked ? policy::Offer::fresh : policy::Offer::none;
          continue;
        }
        if (d.action == policy::HedgeAction::send) {
          if (group_->budget->try_withdraw()) {
            Picked p = std::move(*picked);
            picked.reset();
            send_hedge(std::move(p), later);
            break;
          }
          f.budget_refused = true;
          continue;
        }
        break;
      }
    } catch (const std::exception& x) {
      note_skip(std::string("hedge not sent: ") + x.what());
    }
    if (picked) give_back_pick(*picked);
  }
  run(later);
}

void RoutedCallImpl::send_hedge(Picked p, Deferred& later) {
  Target* t = p.target;
  HedgeAttempt h;
  h.start = r_->time->now();
  log_.push_back(new_record(*t, 0, h.start));
  log_.back().pick = "hedge";
  h.rec = log_.size() - 1;
  std::tie(h.timeouts, h.idle) = attempt_timeouts(*t, h.start);
  HttpRequest http;
  {
    // translate() writes the attempt's translator and warnings: the hedge's, for now.
    auto translator = std::move(translator_);
    const std::size_t cur = cur_;
    cur_ = h.rec;
    try {
      http = translate(*t, h.timeouts);
    } catch (const std::exception& x) {
      cur_ = cur;
      translator_ = std::move(translator);
      log_.pop_back();
      give_back_pick(p);
      note_skip("hedge to '" + t->id + "' not sent: " + x.what());
      return;
    }
    cur_ = cur;
    h.translator = std::move(translator_);
    translator_ = std::move(translator);
  }
  http.deadline = deadline_;
  if (t->deployment->proxy) http.proxy = t->deployment->proxy->reveal();
  secrets_.add(t->endpoint.api_key.reveal());
  secrets_.add_from_request(http);
  t->rate->on_send(est_);
  h.id = ++hedge_seq_;
  h.target = t;
  h.tickets = p.tickets;
  h.trial = t->health->state() == policy::BreakerState::half_open;
  tried_.insert(t);
  ++tries_[t];
  ++t->in_flight;
  t->owner->balancer->on_start(t->index);
  ++hedges_sent_;
  const std::uint64_t id = h.id;
  hedge_ = std::move(h);
  auto self = shared_from_this();
  later.push_back([self, http = std::move(http), id] {
    std::shared_ptr<FlowControl> flow(self, &self->channel_);
    auto ex = self->r_->http->start(
        http, [self, id](Event&& e) { self->on_hedge_event(id, std::move(e)); }, std::move(flow));
    self->keep_hedge(id, std::move(ex));
  });
}

void RoutedCallImpl::keep_hedge(std::uint64_t id, std::shared_ptr<transport::Exchange> ex) {
  {
    std::lock_guard lock(mutex_);
    if (mode_ != Mode::done) {
      if (hedge_ && hedge_->id == id) std::swap(hedge_->ex, ex);
      else if (adopted_ && adopted_->first == id && adopted_->second == epoch_) std::swap(current_, ex);
    }
  }
  if (ex) ex->cancel();  // the race ended while it was being started
}

void RoutedCallImpl::on_hedge_event(std::uint64_t id, Event&& e) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (adopted_ && adopted_->first == id) {
      deliver(adopted_->second, std::move(e), later);  // the hedge was taken: its events are the attempt's
    } else if (hedge_ && hedge_->id == id) {
      try {
        if (mode_ == Mode::done) cancel_hedge("the call ended", later);  // every end cancels it first; a guard
        else hedge_event(std::move(e), later);
      } catch (const std::exception& x) {
        end_hedge(ErrorClass::retryable, "bad_response", x.what(), "hedge_failed", later);
      }
    }
  }
  run(later);
}

void RoutedCallImpl::hedge_event(Event&& e, Deferred& later) {
  HedgeAttempt& h = *hedge_;
  switch (e.kind) {
    case Event::Kind::head:
      h.status = e.status;
      log_[h.rec].status = e.status;
      log_[h.rec].first_byte_ms = ms(r_->time->now() - h.start);
      if (e.status >= 400)
        return end_hedge(status_class(e.status), "status_" + std::to_string(e.status),
                         "HTTP " + std::to_string(e.status), "hedge_failed", later);
      h.events.push_back(std::move(e));
      return;
    case Event::Kind::error:
      return end_hedge(errc_class(e.error), std::string(to_string(e.error.code)), e.error.message, "hedge_failed",
                       later);
    case Event::Kind::body:
    case Event::Kind::sse:
    case Event::Kind::end: {
      // The first token of a stream (its first event after 2xx headers), or a whole answer.
      const bool won = req_.stream || e.kind == Event::Kind::end;
      h.events.push_back(std::move(e));
      if (won) hedge_won(later);
      return;
    }
  }
}

void RoutedCallImpl::hedge_won(Deferred& later) {
  RouteAttempt& rec = current_rec();
  rec.error_class = std::string(to_string(ErrorClass::ignored));
  rec.reason = "hedge_cancelled";
  rec.message = "the hedge to '" + hedge_->target->id + "' answered first";
  rec.decision = "hedge_cancelled";
  end_attempt(ErrorClass::ignored, std::nullopt);  // not the target's failure: it was slower
  disarm(later);
  if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
  awaiting_credential_ = false;
  take_hedge(later);
}

void RoutedCallImpl::take_hedge(Deferred& later) {
  HedgeAttempt h = std::move(*hedge_);
  hedge_.reset();
  const std::uint64_t epoch = ++epoch_;
  adopted_ = {h.id, epoch};
  release_slot();
  unsend();
  slot_ = h.target;  // what the pick took for the hedge is now the call's
  tickets_ = h.tickets;
  ticket_target_ = h.target;
  ticket_sent_ = true;
  target_ = h.target;
  trial_ = h.trial;
  permit_ = true;
  reset_attempt_state();
  translator_ = std::move(h.translator);
  prefill_ = false;
  matched_ = 0;
  credential_.reset();
  idle_ = h.idle;
  attempt_start_ = h.start;
  balancer_started_ = true;
  cur_ = h.rec;
  current_ = std::move(h.ex);
  for (auto& e : h.events) {
    if (epoch != epoch_ || mode_ == Mode::done || mode_ == Mode::idle) return;
    handle(std::move(e), later);
  }
  // Still before its first token: the rest of its own first-token limit.
  const Millis first_token = h.timeouts.first_byte;
  if (req_.stream && first_token.count() > 0 && epoch == epoch_ && (mode_ == Mode::head || mode_ == Mode::stream_pre)) {
    const auto used = std::chrono::duration_cast<Millis>(r_->time->now() - h.start);
    arm_first_token(epoch, std::max(Millis{0}, first_token - used), later);
  }
}

void RoutedCallImpl::end_hedge(ErrorClass cls, const std::string& reason, const std::string& message,
                               const std::string& decision, Deferred& later) {
  HedgeAttempt h = std::move(*hedge_);
  hedge_.reset();
  Target* t = h.target;
  RouteAttempt& rec = log_[h.rec];
  const Millis elapsed = std::chrono::duration_cast<Millis>(r_->time->now() - h.start);
  rec.elapsed_ms = ms(r_->time->now() - h.start);
  rec.error = cls == ErrorClass::ignored ? "" : reason;
  rec.error_class = std::string(to_string(cls));
  rec.reason = reason;
  rec.message = scrubbed(message);
  rec.decision = decision;
  meter_attempt(cls, t, rec);
  t->health->on_result(cls, elapsed, std::nullopt);
  --t->in_flight;
  t->owner->balancer->on_finish(t->index, failed_outcome(cls, elapsed, std::nullopt));
  r_->leave(*t->dep);
  if (cls == ErrorClass::transparent) h.tickets.cancel(*t);  // nothing reached the upstream
  r_->sync(*t);
  if (h.ex) later.push_back([ex = std::move(h.ex)] { ex->cancel(); });
}

void RoutedCallImpl::cancel_hedge(std::string_view why, Deferred& later) {
  if (hedge_) end_hedge(ErrorClass::ignored, "hedge_cancelled", std::string(why), "hedge_cancelled", later);
}

}  // namespace llmfailover
