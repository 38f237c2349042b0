// The failover decision (policy/failover.hpp) as one table: each row is a situation (what the
// failed attempt did, what the balancer offered, the budget, the time left), the rule it checks
// and the one decision expected. Then the attempt limits as a second table, and invariants over
// every combination of facts (the call's loop always ends; waits fit the deadline).
#include "llmfailover/policy/failover.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace llmfailover::policy {
namespace {

using namespace std::chrono_literals;
using A = FailoverAction;

// A 503 on the first attempt of a three-attempt target with 30 s left; backoff base 100 ms, cap
// 1 s; the draw 0.5 (full jitter on retry n: 0.5 * 100 ms * 2^(n-1); a hint h: 1.25 h).
FailoverFacts base() {
  FailoverFacts f;
  f.cls = ErrorClass::retryable;
  f.tries = 1;
  f.max_attempts = 3;
  f.jitter = 0.5;
  f.time_left = 30s;
  f.retry.backoff_base = 100ms;
  f.retry.backoff_cap = 1000ms;
  f.retry.max_hint_wait = 5000ms;
  return f;
}

struct Row {
  const char* name;  // the situation
  const char* rule;  // the rule it checks (failover.hpp)
  std::function<void(FailoverFacts&)> given;
  A action;
  const char* log;
  Millis wait{0};
  bool spend = false, exclude_failed = false;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

void offer(FailoverFacts& f, Offer o, bool failed = false, int tries = 0) {
  f.offer = o;
  f.offer_is_failed = failed;
  f.offer_tries = tries;
}

// retry.style openai with an answer openai-python retries.
void openai(FailoverFacts& f) {
  f.retry.style = RetryStyle::openai;
  f.openai_retry = true;
}

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      // ---- the caller's cancel or deadline
      {"cancelled", "ignored", [](auto& f) { f.cls = ErrorClass::ignored; }, A::give_up, "give_up"},
      {"cancelled_with_fresh_offer", "ignored",
       [](auto& f) {
         f.cls = ErrorClass::ignored;
         offer(f, Offer::fresh);
       },
       A::give_up, "give_up"},
      // ---- request errors
      {"bad_request", "own_chain", [](auto& f) { f.cls = ErrorClass::fatal_request; }, A::give_up, "give_up"},
      {"bad_request_with_later_group", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.later_group = true;
       },
       A::give_up, "give_up"},
      {"context_window_chain", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.own_chain = RequestChain::context_window;
       },
       A::switch_chain, "context_window_fallback"},
      {"content_policy_chain", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.own_chain = RequestChain::content_policy;
       },
       A::switch_chain, "content_policy_fallback"},
      {"prefill_refused", "prefill",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.resuming = f.prefill = true;
       },
       A::restart_without_prefill, "restart_without_prefill"},
      {"prefill_refused_restart_not_admitted", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.resuming = f.prefill = f.same_refused = true;
       },
       A::give_up, "give_up"},
      {"prefill_refused_restart_not_admitted_own_chain", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.resuming = f.prefill = f.same_refused = true;
         f.own_chain = RequestChain::context_window;
       },
       A::switch_chain, "context_window_fallback"},
      {"restart_refused_is_a_request_error", "own_chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_request;
         f.resuming = true;
       },
       A::give_up, "give_up"},
      // ---- nothing reached the upstream
      {"transparent_once_free", "transparent", [](auto& f) { f.cls = ErrorClass::transparent; }, A::retry_transparent,
       "retry_transparent"},
      {"transparent_twice_picks", "pick",
       [](auto& f) {
         f.cls = ErrorClass::transparent;
         f.transparent_used = true;
       },
       A::pick, ""},
      {"transparent_not_admitted_picks", "pick",
       [](auto& f) {
         f.cls = ErrorClass::transparent;
         f.same_refused = true;
       },
       A::pick, ""},
      {"transparent_with_offer_fails_over", "fresh",
       [](auto& f) {
         f.cls = ErrorClass::transparent;
         f.transparent_used = true;
         offer(f, Offer::fresh);
       },
       A::failover, "failover"},
      // ---- the balancer is asked; silent targets and failed trials are barred
      {"server_error_picks", "pick", [](auto&) {}, A::pick, ""},
      {"rate_limited_picks", "pick", [](auto& f) { f.cls = ErrorClass::rate_limited; }, A::pick, ""},
      {"fatal_target_picks", "pick", [](auto& f) { f.cls = ErrorClass::fatal_target; }, A::pick, ""},
      {"silent_is_spent", "silent", [](auto& f) { f.silent = true; }, A::pick, "", 0ms, true},
      {"failed_trial_is_spent", "trial", [](auto& f) { f.half_open_trial = true; }, A::pick, "", 0ms, true},
      // ---- an untried target: at once
      {"fresh_at_once", "fresh", [](auto& f) { offer(f, Offer::fresh); }, A::failover, "failover"},
      {"fresh_at_once_despite_hint", "fresh",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         offer(f, Offer::fresh);
       },
       A::failover, "failover"},
      {"fresh_at_once_with_budget_refused", "fresh",
       [](auto& f) {
         f.budget_refused = true;
         offer(f, Offer::fresh);
       },
       A::failover, "failover"},
      // ---- back to a tried target: backoff, deadline, budget
      {"same_after_first_backoff", "backoff", [](auto& f) { offer(f, Offer::tried, true, 1); }, A::retry, "retry",
       50ms},
      {"same_after_second_backoff", "backoff",
       [](auto& f) {
         f.tries = 2;
         offer(f, Offer::tried, true, 2);
       },
       A::retry, "retry", 100ms},
      {"backoff_capped", "backoff",
       [](auto& f) {
         f.tries = 5;
         f.max_attempts = 6;
         offer(f, Offer::tried, true, 5);
       },
       A::retry, "retry", 500ms},
      {"other_tried_target_after_its_backoff", "backoff", [](auto& f) { offer(f, Offer::tried, false, 1); }, A::retry,
       "failover", 50ms},
      {"same_after_its_hint", "backoff",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         offer(f, Offer::tried, true, 1);
       },
       A::retry, "retry", 2500ms},
      {"hint_is_not_another_targets_wait", "backoff",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         offer(f, Offer::tried, false, 1);
       },
       A::retry, "failover", 50ms},
      {"backoff_past_deadline_next_group", "backoff",
       [](auto& f) {
         f.time_left = 40ms;
         f.later_group = true;
         offer(f, Offer::tried, true, 1);
       },
       A::next_group, "next_group"},
      {"backoff_equal_to_time_left_does_not_fit", "backoff",
       [](auto& f) {
         f.time_left = 50ms;
         offer(f, Offer::tried, true, 1);
       },
       A::give_up, "give_up"},
      {"backoff_just_fits", "backoff",
       [](auto& f) {
         f.time_left = 51ms;
         offer(f, Offer::tried, true, 1);
       },
       A::retry, "retry", 50ms},
      {"budget_refused_next_group", "backoff",
       [](auto& f) {
         f.budget_refused = true;
         f.later_group = true;
         offer(f, Offer::tried, true, 1);
       },
       A::next_group, "budget_exhausted"},
      {"budget_refused_at_chain_end", "backoff",
       [](auto& f) {
         f.budget_refused = true;
         offer(f, Offer::tried, true, 1);
       },
       A::give_up, "budget_exhausted"},
      // ---- nothing else in the group: prefer the requested model while the hint is short
      {"short_hint_waited_before_fallback_group", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::retry_after, "retry_after", 2500ms},
      {"short_hint_503_waited", "hint",
       [](auto& f) {
         f.hint = 1500ms;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::retry_after, "retry_after", 1875ms},
      {"hint_at_max_hint_wait_waited", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 5s;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::retry_after, "retry_after", 6250ms},
      {"long_hint_falls_back_at_once", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 5001ms;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "next_group"},
      {"long_hint_waited_at_chain_end", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 8s;
         offer(f, Offer::none);
       },
       A::retry_after, "retry_after", 10000ms},
      {"hint_past_deadline", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.time_left = 2400ms;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "next_group"},
      {"hint_budget_refused", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.budget_refused = true;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "budget_exhausted"},
      {"hint_with_attempts_used_up", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.tries = 3;
         offer(f, Offer::none);
       },
       A::give_up, "give_up"},
      {"hint_from_silent_target_ignored", "hint",
       [](auto& f) {
         f.hint = 2s;
         f.silent = true;
         offer(f, Offer::none);
       },
       A::give_up, "give_up"},
      {"hint_from_failed_trial_ignored", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.half_open_trial = true;
         offer(f, Offer::none);
       },
       A::give_up, "give_up"},
      {"hint_from_spent_target_ignored", "hint",
       [](auto& f) {
         f.cls = ErrorClass::rate_limited;
         f.hint = 2s;
         f.spent = true;
         offer(f, Offer::none);
       },
       A::give_up, "give_up"},
      {"hint_on_fatal_target_ignored", "chain",
       [](auto& f) {
         f.cls = ErrorClass::fatal_target;
         f.hint = 2s;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "next_group"},
      {"no_hint_next_group", "chain",
       [](auto& f) {
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "next_group"},
      {"no_hint_chain_end", "chain", [](auto& f) { offer(f, Offer::none); }, A::give_up, "give_up"},
      // ---- a committed stream broke
      {"cut_stream_asks_for_another_target", "recovery", [](auto& f) { f.event = FailoverEvent::stream_cut; }, A::pick,
       "", 0ms, false, true},
      {"cut_stream_recovered_on_fresh", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         offer(f, Offer::fresh);
       },
       A::recover, "recover"},
      {"cut_stream_recovered_on_tried_at_once", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         offer(f, Offer::tried, false, 1);
       },
       A::recover, "recover"},
      {"cut_stream_recovered_in_next_group", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::recover, "recover"},
      {"cut_stream_nowhere_to_go", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         offer(f, Offer::none);
       },
       A::give_up, "interrupted"},
      {"cut_stream_opted_out", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         f.recovery = false;
         f.later_group = true;
       },
       A::give_up, "interrupted"},
      {"cut_recovery_is_not_recovered_again", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::stream_cut;
         f.resuming = true;
         f.later_group = true;
       },
       A::give_up, "interrupted"},
      // ---- retry.style openai (a plain client): openai-python's rules; the draw 0.5 scales its
      // backoff min(0.5 s * 2^n, 8 s) by 1 - 0.25 * 0.5 = 0.875
      {"openai_first_retry", "openai", [](auto& f) { openai(f); }, A::retry_after, "retry", 437ms},
      {"openai_second_retry", "openai",
       [](auto& f) {
         openai(f);
         f.tries = 2;
       },
       A::retry_after, "retry", 875ms},
      {"openai_backoff_capped_at_8s", "openai",
       [](auto& f) {
         openai(f);
         f.tries = 7;
         f.max_attempts = 10;
         f.time_left = 60s;
       },
       A::retry_after, "retry", 7000ms},
      {"openai_honours_retry_after", "openai",
       [](auto& f) {
         openai(f);
         f.openai_hint = 2000ms;
       },
       A::retry_after, "retry", 2000ms},
      {"openai_retry_after_over_60s_is_not_a_wait", "openai",
       [](auto& f) {
         openai(f);
         f.openai_hint = 61000ms;
       },
       A::retry_after, "retry", 437ms},
      {"openai_rate_limited_stays_on_the_target", "openai",
       [](auto& f) {
         openai(f);
         f.cls = ErrorClass::rate_limited;
         offer(f, Offer::fresh);
       },
       A::retry_after, "retry", 437ms},
      {"openai_budget_is_not_consulted", "openai",
       [](auto& f) {
         openai(f);
         f.budget_refused = true;
       },
       A::retry_after, "retry", 437ms},
      {"openai_not_retried", "openai",
       [](auto& f) {
         openai(f);
         f.openai_retry = false;
       },
       A::give_up, "give_up"},
      {"openai_not_retried_goes_to_the_next_group", "openai",
       [](auto& f) {
         openai(f);
         f.openai_retry = false;
         f.later_group = true;
       },
       A::next_group, "next_group"},
      {"openai_retries_spent", "openai",
       [](auto& f) {
         openai(f);
         f.tries = 3;
       },
       A::give_up, "give_up"},
      {"openai_wait_beyond_the_deadline", "openai",
       [](auto& f) {
         openai(f);
         f.time_left = 400ms;
       },
       A::give_up, "give_up"},
      {"openai_cancelled", "ignored",
       [](auto& f) {
         openai(f);
         f.cls = ErrorClass::ignored;
       },
       A::give_up, "give_up"},
      {"restart_differs_continuation_prompt", "recovery", [](auto& f) { f.event = FailoverEvent::restart_differs; },
       A::continuation_prompt, "continuation_prompt"},
      {"continuation_differs_gives_up", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::restart_differs;
         f.continuation = true;
       },
       A::give_up, "recovery_failed"},
      {"continuation_not_admitted_gives_up", "recovery",
       [](auto& f) {
         f.event = FailoverEvent::restart_differs;
         f.same_refused = true;
       },
       A::give_up, "recovery_failed"},
      // ---- an attempt that cannot be made (decided in the call before; now rows here)
      {"unsupported_picks", "unsupported", [](auto& f) { f.event = FailoverEvent::unsupported; }, A::pick, ""},
      {"unsupported_fresh_at_once", "unsupported",
       [](auto& f) {
         f.event = FailoverEvent::unsupported;
         offer(f, Offer::fresh);
       },
       A::failover, "skip"},
      {"unsupported_tried_at_once_no_budget", "unsupported",
       [](auto& f) {
         f.event = FailoverEvent::unsupported;
         f.budget_refused = true;
         offer(f, Offer::tried, false, 2);
       },
       A::failover, "skip"},
      {"unsupported_nothing_next_group", "unsupported",
       [](auto& f) {
         f.event = FailoverEvent::unsupported;
         f.later_group = true;
         offer(f, Offer::none);
       },
       A::next_group, "skip"},
      {"unsupported_nothing_gives_up", "unsupported",
       [](auto& f) {
         f.event = FailoverEvent::unsupported;
         offer(f, Offer::none);
       },
       A::give_up, "skip"},
      {"wait_refused_next_group", "hint",
       [](auto& f) {
         f.event = FailoverEvent::wait_refused;
         f.later_group = true;
       },
       A::next_group, "next_group"},
      {"wait_refused_at_chain_end", "hint", [](auto& f) { f.event = FailoverEvent::wait_refused; }, A::give_up,
       "give_up"},
  };
  return rows;
}

class FailoverTable : public ::testing::TestWithParam<Row> {};

TEST_P(FailoverTable, Decides) {
  const Row& row = GetParam();
  FailoverFacts f = base();
  row.given(f);
  const FailoverDecision d = decide(f);
  EXPECT_EQ(d.action, row.action) << describe(d);
  EXPECT_EQ(d.log, std::string_view(row.log)) << describe(d);
  EXPECT_EQ(d.rule, std::string_view(row.rule)) << describe(d);
  EXPECT_EQ(d.wait, row.wait) << describe(d);
  EXPECT_EQ(d.spend, row.spend) << describe(d);
  EXPECT_EQ(d.exclude_failed, row.exclude_failed) << describe(d);
}

INSTANTIATE_TEST_SUITE_P(Rules, FailoverTable, ::testing::ValuesIn(table()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- attempt limits ------------------------------------------------------------------------------

struct LimitRow {
  const char* name;
  AttemptLimitFacts given;
  Millis first_token, idle;
};

AttemptLimitFacts limits(Millis first_token, Millis idle, bool fallback, Clock::duration left,
                         std::optional<Millis> normal = std::nullopt, bool override_ft = false, double factor = 10) {
  AttemptLimitFacts f;
  f.first_token = first_token;
  f.idle = idle;
  f.fallback_left = fallback;
  f.time_left = left;
  f.normal_ttft = normal;
  f.first_token_override = override_ft;
  f.factor = factor;
  return f;
}

void PrintTo(const LimitRow& row, std::ostream* os) { *os << row.name; }

class AttemptLimitTable : public ::testing::TestWithParam<LimitRow> {};

TEST_P(AttemptLimitTable, Limits) {
  const LimitRow& row = GetParam();
  const AttemptLimits got = attempt_limits(row.given);
  EXPECT_EQ(got.first_token, row.first_token);
  EXPECT_EQ(got.idle, row.idle);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, AttemptLimitTable,
    ::testing::Values(LimitRow{"no_fallback_keeps_configured", limits(30s, 30s, false, 10s, 10ms), 30s, 30s},
                      LimitRow{"no_fallback_keeps_none", limits(0ms, 0ms, false, 10s), 0ms, 0ms},
                      LimitRow{"fallback_gets_half_of_time_left", limits(30s, 30s, true, 30s), 15s, 15s},
                      LimitRow{"no_limit_becomes_half", limits(0ms, 0ms, true, 2s), 1s, 1s},
                      LimitRow{"short_limits_stay", limits(5s, 2s, true, 60s), 5s, 2s},
                      LimitRow{"half_rounds_down_to_ms", limits(30s, 30s, true, 2001ms + 999us), 1000ms, 1000ms},
                      LimitRow{"at_least_one_ms", limits(30s, 30s, true, 1ms), 1ms, 1ms},
                      LimitRow{"past_deadline_one_ms", limits(30s, 30s, true, -5s), 1ms, 1ms},
                      LimitRow{"adaptive_fast_target_floor", limits(30s, 30s, true, 600s, 20ms), 7500ms, 30s},
                      LimitRow{"adaptive_ten_times_normal", limits(30s, 30s, true, 600s, 1200ms), 12s, 30s},
                      LimitRow{"adaptive_reasoning_model_ceiling", limits(30s, 30s, true, 600s, 20s), 30s, 30s},
                      LimitRow{"adaptive_then_half", limits(30s, 30s, true, 16s, 1200ms), 8s, 8s},
                      LimitRow{"override_not_adapted", limits(30s, 30s, true, 600s, 20ms, true), 30s, 30s},
                      LimitRow{"no_samples_not_adapted", limits(30s, 30s, true, 600s), 30s, 30s},
                      LimitRow{"adaptive_needs_a_fallback", limits(30s, 30s, false, 600s, 20ms), 30s, 30s},
                      LimitRow{"factor_zero_is_off", limits(30s, 30s, true, 600s, 20ms, false, 0), 30s, 30s},
                      LimitRow{"factor_four", limits(30s, 30s, true, 600s, 2500ms, false, 4), 10s, 30s},
                      LimitRow{"factor_fractional", limits(30s, 30s, true, 600s, 8s, false, 1.5), 12s, 30s},
                      LimitRow{"huge_normal_no_overflow", limits(30s, 30s, true, 600s, Millis::max() / 2, false, 1000),
                               30s, 30s}),
    [](const auto& info) { return std::string(info.param.name); });

// Which learnt normal an attempt reads: streams one, plain answers by requested output size.
TEST(FailoverPolicy, TtftKindsByStreamAndOutputSize) {
  const struct {
    bool stream;
    std::int64_t output;
    std::size_t kind;
  } rows[] = {{true, 16, 0},    {true, 100000, 0},   {false, 0, 1},    {false, 256, 1},
              {false, 257, 2},  {false, 1024, 2},    {false, 1025, 3}, {false, 4096, 3},
              {false, 4097, 4}, {false, 1 << 30, 4}, {false, -5, 1}};
  for (const auto& r : rows) EXPECT_EQ(ttft_kind(r.stream, r.output), r.kind) << r.stream << " " << r.output;
  EXPECT_EQ(ttft_kind(false, std::int64_t{1} << 62), kTtftKinds - 1);  // no overflow of the bound
}

TEST(FailoverPolicy, SilentHangupNeedsASecondOfSilenceBeforeTheHead) {
  EXPECT_TRUE(silent_hangup(Errc::connection_closed, true, 1000ms));
  EXPECT_TRUE(silent_hangup(Errc::connection_reset, true, 12s));
  EXPECT_FALSE(silent_hangup(Errc::connection_closed, true, 999ms));  // a stale pooled connection
  EXPECT_FALSE(silent_hangup(Errc::connection_closed, false, 12s));   // after the head: a cut
  EXPECT_FALSE(silent_hangup(Errc::first_byte_timeout, true, 12s));   // silent by its own verdict
  EXPECT_FALSE(silent_hangup(Errc::connect_refused, true, 12s));
}

TEST(FailoverPolicy, OpenAiStyleRetriesNeverDrawOnTheBudget) {
  FailoverFacts f = base();
  openai(f);
  const FailoverDecision d = decide(f);
  ASSERT_EQ(d.action, A::retry_after) << describe(d);
  EXPECT_FALSE(d.draws_budget()) << describe(d);
  f.retry.style = RetryStyle::router;
  f.hint = 200ms;
  offer(f, Offer::none);
  EXPECT_TRUE(decide(f).draws_budget()) << describe(decide(f));  // the router's retry_after does
}

TEST(FailoverPolicy, RequestChainsByReason) {
  EXPECT_EQ(request_chain("context_length_exceeded"), RequestChain::context_window);
  EXPECT_EQ(request_chain("content_policy"), RequestChain::content_policy);
  EXPECT_EQ(request_chain("invalid_request"), RequestChain::none);
}

// ---- invariants over every combination --------------------------------------------------------

// The call's loop (failover.hpp's call order) over a scripted world: the balancer offers `world`,
// re-admission and the budget are refused or not. It must end within four rounds, never ask the
// balancer twice, and every wait must fit the deadline.
TEST(FailoverPolicy, EveryCombinationEndsWithinFourRoundsAndWaitsFitTheDeadline) {
  const ErrorClass classes[] = {ErrorClass::transparent,  ErrorClass::retryable,     ErrorClass::rate_limited,
                                ErrorClass::fatal_target, ErrorClass::fatal_request, ErrorClass::ignored};
  const FailoverEvent events[] = {FailoverEvent::attempt_failed, FailoverEvent::stream_cut,
                                  FailoverEvent::restart_differs, FailoverEvent::unsupported,
                                  FailoverEvent::wait_refused};
  const Offer offers[] = {Offer::none, Offer::fresh, Offer::tried};
  const std::optional<Millis> hints[] = {std::nullopt, 1s, 8s};
  const Clock::duration lefts[] = {10ms, 3s, 60s};
  int cases = 0;
  for (auto ev : events)
    for (auto cls : classes)
      for (auto world : offers)
        for (auto hint : hints)
          for (auto left : lefts)
            for (int bits = 0; bits < (1 << 10); ++bits) {
              FailoverFacts f = base();
              f.event = ev;
              f.cls = cls;
              f.hint = hint;
              f.time_left = left;
              f.silent = bits & 1;
              f.half_open_trial = bits & 2;
              f.transparent_used = bits & 4;
              f.resuming = bits & 8;
              f.prefill = bits & 16;
              f.continuation = bits & 32;
              f.later_group = bits & 64;
              f.recovery = !(bits & 128);
              f.own_chain = bits & 256 ? RequestChain::context_window : RequestChain::none;
              const bool refuse = bits & 512;  // re-admission and the budget both refuse
              ++cases;
              int rounds = 0, picks = 0;
              for (;; ++rounds) {
                ASSERT_LT(rounds, 4) << "no end";
                const FailoverDecision d = decide(f);
                if (d.draws_budget()) ASSERT_LT(d.wait, f.time_left) << describe(d);
                if (d.action == A::failover || d.action == A::retry) ASSERT_NE(f.offer, Offer::none) << describe(d);
                if (d.action == A::retry) ASSERT_EQ(f.offer, Offer::tried) << describe(d);
                if (d.action == A::failover && ev != FailoverEvent::unsupported)  // nothing sent: any offer
                  ASSERT_EQ(f.offer, Offer::fresh) << describe(d);
                if (d.action == A::retry_after) ASSERT_EQ(f.offer, Offer::none) << describe(d);
                if (d.action == A::pick) {
                  ASSERT_EQ(++picks, 1);
                  offer(f, world, world == Offer::tried, 1);
                  continue;
                }
                const bool same = d.action == A::retry_transparent || d.action == A::restart_without_prefill ||
                                  d.action == A::continuation_prompt;
                if (same && refuse && !f.same_refused) {
                  f.same_refused = true;
                  continue;
                }
                if (d.draws_budget() && refuse && !f.budget_refused) {
                  f.budget_refused = true;
                  continue;
                }
                if (cls == ErrorClass::ignored && ev == FailoverEvent::attempt_failed) ASSERT_EQ(d.action, A::give_up);
                ASSERT_FALSE(d.log.empty()) << describe(d);
                break;
              }
            }
  EXPECT_EQ(cases, 5 * 6 * 3 * 3 * 3 * 1024);
}

}  // namespace
}  // namespace llmfailover::policy
