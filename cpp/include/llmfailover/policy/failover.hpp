// failover.hpp — what a routed call does after an attempt fails: the failover decision as a pure
// policy (issue 11 item 1; tenacity's RetryCallState -> Attempt | Sleep | GiveUp, Envoy's
// RetryStateImpl::shouldRetry).
//
// The call (cpp/src/router/routed_*.cpp) gathers what happened into one FailoverFacts record and
// asks decide(); it carries out the FailoverDecision and keeps no rule of its own. The rules, in
// the order decide() applies them to a failed attempt (each FailoverDecision names its rule):
//   ignored        the caller's cancel or deadline: give up at once.
//   prefill        a recovery sent as an assistant prefill and refused (fatal_request): the same
//                  target again as a restart.
//   own_chain      a context-window or content-policy error goes to its own chain once; any other
//                  fatal_request gives up (no target will take it).
//   transparent    nothing reached the upstream: the same target once more at once, free.
//   silent, trial  a silent target (no answer before its first-token limit, or a long silence
//                  ended by a hang-up) and a failed half-open trial are not tried again.
//   fresh          a target of the group this call has not tried: at once, never a retry.
//   backoff        back to a tried target: after full jitter (or the hint, on the same target),
//                  if that fits the deadline and the group's retry budget allows it.
//   hint           nothing else in the group: a short Retry-After (retry.max_hint_wait; any hint
//                  at the end of the chain) is waited out on the same target before a fallback
//                  group, when it fits the deadline and the budget allows.
//   hedge          a hedge of the failed attempt is in flight (hedge() below): the call takes it
//                  as its attempt at once (a fatal_request still follows its own rules).
//   chain          otherwise the next group of the chain, or the last error when none is left.
// With retry.style openai (backoff.hpp: a plain client) a failed attempt follows openai-python's
// rules instead (rule `openai`): the caller's cancel or deadline gives up; an answer openai would
// retry goes to the same target again after openai_backoff() while attempts are left and the wait
// fits the deadline, never drawn from the budget; anything else is the chain's next group or the
// last error.
// A target whose provider cannot express the request (unsupported) is skipped for any other
// target the balancer offers, tried or not, at once (nothing was sent: no retry, no budget), else
// the next group; a retry-after wait whose target is still unavailable at its end (wait_refused)
// goes on to the next group.
// A committed stream that breaks (stream_cut) is continued on another target or the next group
// (stream_recovery: continue), else ends with the original interruption; a restart that cannot
// repeat what the caller has (restart_differs) is asked once more with a continuation prompt.
//
// Call order: the call fills FailoverFacts and calls decide() until the decision is not `pick`
// nor refused: `pick` asks it to consult the group's balancer (which takes permits and slots, so
// only the call may) and decide again with `offer` filled and a fresh `jitter` draw; a decision
// the call cannot carry out (the same target's permit refused, the retry budget refused) is
// recorded in the facts (same_refused, budget_refused) and decide() asked again. Each round is
// pure and at most four rounds happen. The call also asks attempt_limits() before each attempt
// and silent_hangup() when a connection closes before its answer.
//
// Pure: no clock reads, no randomness of its own (the draw is a fact), no I/O.
// Thread safety: stateless functions on values. Cost: a few comparisons.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/error.hpp"
#include "llmfailover/http.hpp"

namespace llmfailover {

// A group's hedging (issue 11; gRPC A6 "hedging policy", Envoy's hedge_policy): off unless set.
struct HedgePolicyConfig {
  bool enabled = false;
  std::optional<Millis> delay;  // a fixed delay; none: the target's p95 time to first token
  int max = 1;                  // hedges per call (only 1 is supported: config.hpp refuses more)
  bool operator==(const HedgePolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

// A connection that closes (or resets) before any response byte after at least this long was
// silent, not flaky: the upstream took the request and sat on it (issue 11, "silent targets"). A
// stale pooled connection fails within a round trip; the transport's stale-connection replay
// uses the same second.
inline constexpr Millis kSilentAfter{1000};

enum class FailoverEvent : std::uint8_t {
  attempt_failed,   // an attempt ended without an answer (a stream: before its commit point)
  stream_cut,       // a committed stream broke: cut, stalled, an unreadable chunk, an error event
  restart_differs,  // a recovery's restart did not repeat the text the caller already has
  unsupported,      // the target's provider cannot express the request (nothing was sent)
  wait_refused,     // the target was still unavailable after its retry-after wait (permit or slot refused)
};

// The chain a fatal request error has of its own (RouterConfig's context_window_fallbacks and
// content_policy_fallbacks).
enum class RequestChain : std::uint8_t { none, context_window, content_policy };
// Which one an error's reason ("context_length_exceeded", "content_policy") goes to.
RequestChain request_chain(std::string_view reason) noexcept;

// What the group's balancer offered when asked (FailoverAction::pick).
enum class Offer : std::uint8_t {
  not_asked,
  none,   // no target of the group can take it now
  fresh,  // a target this call has not tried
  tried,  // a target this call tried already (the failed one or another)
};

struct FailoverFacts {
  FailoverEvent event = FailoverEvent::attempt_failed;
  // What happened (attempt_failed).
  ErrorClass cls = ErrorClass::retryable;
  bool silent = false;                          // no answer before the first-token limit, or silent then hung up
  std::optional<Millis> hint;                   // the upstream's Retry-After, when it gave one
  RequestChain own_chain = RequestChain::none;  // a fatal_request's own chain, configured and unused
  // The failed target.
  int tries = 1;  // attempts on it in this call, the failed one included
  int max_attempts = 3;
  bool half_open_trial = false;   // the failed attempt was its half-open trial
  bool spent = false;             // already barred from this call (silent, failed trial)
  bool transparent_used = false;  // its one free transparent retry is taken
  bool same_refused = false;      // re-admitting it at once was refused (permit, slot, quota)
  // Streams and their recovery.
  bool recovery = true;       // stream_recovery: continue (false: error)
  bool resuming = false;      // the failed attempt was a recovery of a cut stream
  bool prefill = false;       // ... sent as an assistant prefill
  bool continuation = false;  // ... sent with the continuation prompt
  // Where else the call can go.
  bool later_group = false;  // the chain has a group after the current one
  Offer offer = Offer::not_asked;
  bool offer_is_failed = false;  // the offered target is the one that failed
  int offer_tries = 0;           // attempts this call made on the offered target
  double jitter = 0;             // a uniform draw in [0, 1) for the wait
  // Limits.
  bool budget_refused = false;   // the group's retry budget refused this decision's withdrawal
  Clock::duration time_left{0};  // until the call's deadline
  RetryPolicyConfig retry;       // the group's (style, backoff, max_hint_wait)
  // retry.style openai: what openai-python reads from the failed attempt (retry.hpp).
  bool openai_retry = false;          // openai_should_retry() of its status and headers, or its failure
  std::optional<Millis> openai_hint;  // parse_retry_after() of its headers
  bool hedge_in_flight = false;       // a hedge of the failed attempt was sent and has not ended
  bool operator==(const FailoverFacts&) const = default;
};

enum class FailoverAction : std::uint8_t {
  pick,                     // ask the balancer (see exclude_failed), then decide again with the offer
  retry_transparent,        // the failed target again at once, free; refused: decide again
  restart_without_prefill,  // the failed target again at once, as a plain restart; refused: decide again
  continuation_prompt,      // the failed target again at once, with the continuation prompt; refused: decide again
  switch_chain,             // the fatal request's own chain, from its first group
  failover,                 // the offered target at once
  retry,                    // the offered (tried) target after `wait`; draws on the budget
  retry_after,              // the failed target after `wait` (its hint); draws on the budget
  recover,                  // continue the cut stream on the offered target, else the next group
  next_group,               // the chain's next group (the last error when none is left)
  adopt_hedge,              // the hedge in flight becomes the call's attempt
  give_up,                  // the last error (after a stream cut: the original interruption)
};

std::string_view to_string(FailoverAction action) noexcept;

struct FailoverDecision {
  FailoverAction action = FailoverAction::give_up;
  Millis wait{0};               // retry, retry_after
  bool spend = false;           // the failed target is not tried again in this call
  bool exclude_failed = false;  // pick: not the failed target either (this pick only)
  std::string_view log;         // the route log's decision ("retry", "budget_exhausted", ...)
  std::string_view rule;        // the rule that decided (header comment)
  bool budget_free = false;     // retry_after that never draws (retry.style openai)
  bool draws_budget() const noexcept {
    return (action == FailoverAction::retry || action == FailoverAction::retry_after) && !budget_free;
  }
  bool operator==(const FailoverDecision&) const = default;
};

// "retry after 20 ms (backoff)": for test failures and traces.
std::string describe(const FailoverDecision& d);

FailoverDecision decide(const FailoverFacts& facts) noexcept;

// The kind of attempt a target's normal time to first token is learnt per (issue 11, "by output
// size where it matters"): a stream's first token comes before the answer is written, whatever
// its length (kind 0); a non-streamed answer's headers come once it is written, so that time grows
// with the output asked for: kinds 1-4 by the requested output (max_tokens, else the quota
// estimate's default): up to 256, 1024, 4096 tokens, more. A short answer's normal never cuts a
// long one, and a long one's never lets a short one sit.
inline constexpr std::size_t kTtftKinds = 5;
std::size_t ttft_kind(bool stream, std::int64_t output_tokens) noexcept;

// An attempt's first-token and idle limits (issue 11, deadline-aware and adaptive limits).
inline constexpr double kDefaultFirstTokenFactor = 10;  // timeouts.first_token_factor (config.hpp)
struct AttemptLimitFacts {
  Millis first_token{0};                     // configured, or the request's override (0 = none)
  bool first_token_override = false;         // the request set it: never adapted
  Millis idle{0};                            // configured or overridden (0 = none)
  std::optional<Millis> normal_ttft;         // the target's normal for this kind of attempt (ttft_kind();
                                             // timeouts.first_token_samples answers or more)
  double factor = kDefaultFirstTokenFactor;  // timeouts.first_token_factor (0: not adapted)
  bool fallback_left = false;                // an untried target of the group, or a later group
  Clock::duration time_left{0};              // until the call's deadline
};
struct AttemptLimits {
  Millis first_token{0}, idle{0};
  bool operator==(const AttemptLimits&) const = default;
};
// While a fallback is left: the first-token limit follows the target's normal (x factor, within
// [first_token / 4, first_token]: a reasoning model whose normal is slow keeps a long limit), and neither limit exceeds
// half of the time left, so the fallback still has the other half. Without a fallback the configured limits stand.
AttemptLimits attempt_limits(const AttemptLimitFacts& facts) noexcept;

// ---- hedged requests (issue 11; gRPC A6, github.com/grpc/proposal/blob/master/A6-client-retries.md,
// "Hedging Policy"; Envoy's hedge_on_per_try_timeout). After a delay without a first token, the
// same request goes to another target of the group (the one its balancer picks, never one the call
// tried); the first to produce a first token (a stream's first event after 2xx headers, or a whole
// non-streamed answer) wins and the other is cancelled. A hedge draws from the group's retry
// budget like a retry (budget.hpp); it is never sent once the caller has a token, nor for the
// recovery of a cut stream (its restart must match what the caller already has).
//
// Call order: when an attempt starts, the call asks hedge() with stage `arm`; `arm` says after
// which delay to ask again. When that timer fires (the attempt still before its first token),
// the call asks with stage `fire`: `pick` asks it to consult the balancer for an untried target
// and ask again with `offer` filled; `send` draws on the budget (refused: set budget_refused and
// ask again). Pure, like decide().

// The delay's floor: a p95 learnt from very fast answers does not hedge every call at once (a
// few milliseconds of scheduling jitter would double the load; gRPC A6 leaves the delay to the
// operator, Envoy hedges only on a per-try timeout).
inline constexpr Millis kHedgeMinDelay{100};
// A cold target (fewer samples than timeouts.first_token_samples): no p95 yet, this delay.
inline constexpr Millis kHedgeColdDelay{2000};

enum class HedgeStage : std::uint8_t { arm, fire };
enum class HedgeAction : std::uint8_t { none, arm, pick, send };
std::string_view to_string(HedgeAction action) noexcept;

struct HedgeFacts {
  HedgeStage stage = HedgeStage::arm;
  HedgePolicyConfig hedge;         // the group's
  int sent = 0;                    // hedges this call sent
  bool resuming = false;           // the attempt is a recovery of a cut stream
  bool committed = false;          // the caller has a first token (or the attempt ended)
  std::optional<Millis> p95;       // the attempt's target: p95 of its time to first token (warm)
  Millis first_token{0};           // the attempt's first-token limit (0 = none)
  Clock::duration time_left{0};    // until the call's deadline
  Offer offer = Offer::not_asked;  // fire: fresh (an untried target) or none
  bool budget_refused = false;     // fire: the group's retry budget refused the hedge
  bool operator==(const HedgeFacts&) const = default;
};

struct HedgeDecision {
  HedgeAction action = HedgeAction::none;
  Millis delay{0};        // arm: ask again (stage fire) after this
  std::string_view rule;  // off, recovery, max, committed, limit, deadline, fixed, p95, cold,
                          // pick, no_target, budget, hedge
  bool draws_budget() const noexcept { return action == HedgeAction::send; }
  bool operator==(const HedgeDecision&) const = default;
};

// The delay: the fixed one, else the target's p95 (at least kHedgeMinDelay), else kHedgeColdDelay.
// No hedge when it could not start before the first-token limit or the deadline: the limit fails
// the attempt over anyway.
HedgeDecision hedge(const HedgeFacts& facts) noexcept;

// A connection closed or reset before the response head after kSilentAfter or more: silent.
bool silent_hangup(Errc code, bool before_head, Clock::duration waited) noexcept;

}  // namespace llmfailover::policy
