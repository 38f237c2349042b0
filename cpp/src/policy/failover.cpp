// failover.cpp — the failover decision (policy/failover.hpp): one function per event, the rules in
// the header's order.
#include "llmfailover/policy/failover.hpp"

#include <algorithm>

#include "llmfailover/policy/backoff.hpp"

namespace llmfailover::policy {

namespace {

using A = FailoverAction;

FailoverDecision make(A action, std::string_view log, std::string_view rule, Millis wait = Millis{0}) {
  FailoverDecision d;
  d.action = action;
  d.log = log;
  d.rule = rule;
  d.wait = wait;
  return d;
}

// The chain's next group, or the last error at its end.
FailoverDecision onward(const FailoverFacts& f, std::string_view log, std::string_view rule) {
  return make(f.later_group ? A::next_group : A::give_up,
              log.empty() ? (f.later_group ? "next_group" : "give_up") : log, rule);
}

bool fits(Millis wait, const FailoverFacts& f) { return wait < f.time_left; }

// The offered target was tried already: its backoff (no tight loop across targets), or the hint
// when it is the same target that gave one.
FailoverDecision back_to_tried(const FailoverFacts& f) {
  const bool same = f.offer_is_failed;
  const Millis wait = f.hint && same ? pushback_wait(*f.hint, f.jitter) : full_jitter(f.retry, f.offer_tries, f.jitter);
  if (!fits(wait, f)) return onward(f, "", "backoff");
  if (f.budget_refused) return onward(f, "budget_exhausted", "backoff");
  return make(A::retry, same ? "retry" : "failover", "backoff", wait);
}

// Nothing else in the group: prefer the requested model while the hint is short.
FailoverDecision no_offer(const FailoverFacts& f) {
  const bool spent = f.spent || f.silent || f.half_open_trial;
  const bool hinted = (f.cls == ErrorClass::rate_limited || f.cls == ErrorClass::retryable) && f.hint;
  if (hinted && !spent && f.tries < f.max_attempts && (!f.later_group || *f.hint <= f.retry.max_hint_wait)) {
    const Millis wait = pushback_wait(*f.hint, f.jitter);
    if (fits(wait, f)) {
      if (f.budget_refused) return onward(f, "budget_exhausted", "hint");
      return make(A::retry_after, "retry_after", "hint", wait);
    }
  }
  return onward(f, "", hinted ? "hint" : "chain");  // a hint considered and declined names its rule
}

// retry.style openai: the failed target again while openai-python would retry it.
FailoverDecision openai_rules(const FailoverFacts& f) {
  if (!f.openai_retry || f.tries >= f.max_attempts) return onward(f, "", "openai");
  const Millis wait = openai_backoff(f.tries - 1, f.openai_hint, f.jitter);
  if (!fits(wait, f)) return onward(f, "", "openai");
  FailoverDecision d = make(A::retry_after, "retry", "openai", wait);
  d.budget_free = true;
  return d;
}

FailoverDecision attempt_failed(const FailoverFacts& f) {
  if (f.cls == ErrorClass::ignored) return make(A::give_up, "give_up", "ignored");
  if (f.retry.style == RetryStyle::openai) return openai_rules(f);
  if (f.hedge_in_flight && f.cls != ErrorClass::fatal_request) {
    FailoverDecision d = make(A::adopt_hedge, "to_hedge", "hedge");
    d.spend = f.silent || f.half_open_trial;
    return d;
  }
  if (f.cls == ErrorClass::fatal_request) {
    if (f.resuming && f.prefill && !f.same_refused)
      return make(A::restart_without_prefill, "restart_without_prefill", "prefill");
    if (f.own_chain == RequestChain::context_window)
      return make(A::switch_chain, "context_window_fallback", "own_chain");
    if (f.own_chain == RequestChain::content_policy)
      return make(A::switch_chain, "content_policy_fallback", "own_chain");
    return make(A::give_up, "give_up", "own_chain");
  }
  if (f.cls == ErrorClass::transparent && !f.transparent_used && !f.same_refused)
    return make(A::retry_transparent, "retry_transparent", "transparent");
  switch (f.offer) {
    case Offer::not_asked: {
      FailoverDecision d = make(A::pick, "", f.silent ? "silent" : f.half_open_trial ? "trial" : "pick");
      d.spend = f.silent || f.half_open_trial;
      return d;
    }
    case Offer::fresh: return make(A::failover, "failover", "fresh");
    case Offer::tried: return back_to_tried(f);
    case Offer::none: break;
  }
  return no_offer(f);
}

FailoverDecision stream_cut(const FailoverFacts& f) {
  if (!f.recovery || f.resuming) return make(A::give_up, "interrupted", "recovery");
  if (f.offer == Offer::not_asked) {
    FailoverDecision d = make(A::pick, "", "recovery");
    d.exclude_failed = true;
    return d;
  }
  if (f.offer != Offer::none || f.later_group) return make(A::recover, "recover", "recovery");
  return make(A::give_up, "interrupted", "recovery");
}

}  // namespace

std::string_view to_string(FailoverAction action) noexcept {
  switch (action) {
    case A::pick: return "pick";
    case A::retry_transparent: return "retry_transparent";
    case A::restart_without_prefill: return "restart_without_prefill";
    case A::continuation_prompt: return "continuation_prompt";
    case A::switch_chain: return "switch_chain";
    case A::failover: return "failover";
    case A::retry: return "retry";
    case A::retry_after: return "retry_after";
    case A::recover: return "recover";
    case A::next_group: return "next_group";
    case A::adopt_hedge: return "adopt_hedge";
    case A::give_up: return "give_up";
  }
  return "?";
}

std::string describe(const FailoverDecision& d) {
  std::string out(to_string(d.action));
  if (d.action == A::retry || d.action == A::retry_after) out += " after " + std::to_string(d.wait.count()) + " ms";
  if (d.budget_free) out += ", not drawn from the budget";
  if (d.spend) out += ", spend";
  if (d.exclude_failed) out += ", not the failed target";
  out += " (rule " + std::string(d.rule) + ", log \"" + std::string(d.log) + "\")";
  return out;
}

RequestChain request_chain(std::string_view reason) noexcept {
  if (reason == "context_length_exceeded") return RequestChain::context_window;
  if (reason == "content_policy") return RequestChain::content_policy;
  return RequestChain::none;
}

FailoverDecision decide(const FailoverFacts& f) noexcept {
  switch (f.event) {
    case FailoverEvent::attempt_failed: return attempt_failed(f);
    case FailoverEvent::stream_cut: return stream_cut(f);
    case FailoverEvent::unsupported:
      if (f.offer == Offer::not_asked) return make(A::pick, "", "unsupported");
      if (f.offer != Offer::none) return make(A::failover, "skip", "unsupported");
      return onward(f, "skip", "unsupported");
    case FailoverEvent::wait_refused: return onward(f, "", "hint");
    case FailoverEvent::restart_differs:
      if (!f.continuation && !f.same_refused) return make(A::continuation_prompt, "continuation_prompt", "recovery");
      return make(A::give_up, "recovery_failed", "recovery");
  }
  return make(A::give_up, "give_up", "ignored");
}

std::size_t ttft_kind(bool stream, std::int64_t output_tokens) noexcept {
  if (stream) return 0;
  std::size_t kind = 1;
  for (std::int64_t bound = 256; kind + 1 < kTtftKinds && output_tokens > bound; bound *= 4) ++kind;
  return kind;
}

AttemptLimits attempt_limits(const AttemptLimitFacts& f) noexcept {
  AttemptLimits out{f.first_token, f.idle};
  if (!f.fallback_left) return out;
  if (!f.first_token_override && out.first_token.count() > 0 && f.normal_ttft && f.factor > 0) {
    const double scaled = static_cast<double>(f.normal_ttft->count()) * f.factor;  // no overflow: capped first
    const Millis adapted{static_cast<Millis::rep>(std::min(scaled, static_cast<double>(out.first_token.count())))};
    out.first_token = std::clamp(adapted, out.first_token / 4, out.first_token);
  }
  const Millis half = std::max(Millis{1}, std::chrono::floor<Millis>(f.time_left) / 2);
  if (out.first_token.count() == 0 || out.first_token > half) out.first_token = half;
  if (out.idle.count() == 0 || out.idle > half) out.idle = half;
  return out;
}

std::string_view to_string(HedgeAction action) noexcept {
  switch (action) {
    case HedgeAction::none: return "none";
    case HedgeAction::arm: return "arm";
    case HedgeAction::pick: return "pick";
    case HedgeAction::send: return "send";
  }
  return "?";
}

HedgeDecision hedge(const HedgeFacts& f) noexcept {
  auto make_h = [](HedgeAction a, std::string_view rule, Millis delay = Millis{0}) {
    HedgeDecision d;
    d.action = a;
    d.rule = rule;
    d.delay = delay;
    return d;
  };
  using H = HedgeAction;
  if (!f.hedge.enabled || f.hedge.max <= 0) return make_h(H::none, "off");
  if (f.resuming) return make_h(H::none, "recovery");
  if (f.sent >= f.hedge.max) return make_h(H::none, "max");
  if (f.committed) return make_h(H::none, "committed");
  if (f.stage == HedgeStage::fire) {
    if (f.time_left <= Clock::duration::zero()) return make_h(H::none, "deadline");
    switch (f.offer) {
      case Offer::not_asked: return make_h(H::pick, "pick");
      case Offer::fresh: break;
      case Offer::none:
      case Offer::tried: return make_h(H::none, "no_target");
    }
    if (f.budget_refused) return make_h(H::none, "budget");
    return make_h(H::send, "hedge");
  }
  std::string_view rule = f.hedge.delay ? "fixed" : f.p95 ? "p95" : "cold";
  const Millis delay = f.hedge.delay ? *f.hedge.delay : f.p95 ? std::max(*f.p95, kHedgeMinDelay) : kHedgeColdDelay;
  if (f.first_token.count() > 0 && delay >= f.first_token) return make_h(H::none, "limit");
  if (delay >= f.time_left) return make_h(H::none, "deadline");
  return make_h(H::arm, rule, delay);
}

bool silent_hangup(Errc code, bool before_head, Clock::duration waited) noexcept {
  return (code == Errc::connection_closed || code == Errc::connection_reset) && before_head && waited >= kSilentAfter;
}

}  // namespace llmfailover::policy
