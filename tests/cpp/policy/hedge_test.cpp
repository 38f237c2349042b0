// The hedge decision (policy/failover.hpp hedge()) as one table: each row a situation, the rule
// it checks and the one decision expected; then the failover rule that takes a hedge in flight
// when the current attempt fails, and the call's loop over every combination.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "llmfailover/policy/failover.hpp"

namespace llmfailover::policy {
namespace {

using namespace std::chrono_literals;
using H = HedgeAction;

// Hedging on with the p95 delay, a warm target whose p95 is 800 ms, a 30 s first-token limit and
// 60 s left, no hedge sent yet: arm.
HedgeFacts base() {
  HedgeFacts f;
  f.hedge.enabled = true;
  f.p95 = 800ms;
  f.first_token = 30s;
  f.time_left = 60s;
  return f;
}

HedgeFacts fire(std::function<void(HedgeFacts&)> more = {}) {
  HedgeFacts f = base();
  f.stage = HedgeStage::fire;
  if (more) more(f);
  return f;
}

struct Row {
  const char* name;
  const char* rule;
  HedgeFacts given;
  H action;
  Millis delay{0};
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

HedgeFacts with(std::function<void(HedgeFacts&)> change) {
  HedgeFacts f = base();
  change(f);
  return f;
}

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      // ---- arm: whether and after which delay
      {"off_by_default", "off", with([](auto& f) { f.hedge = HedgePolicyConfig{}; }), H::none},
      {"max_zero_is_off", "off", with([](auto& f) { f.hedge.max = 0; }), H::none},
      {"p95_delay", "p95", base(), H::arm, 800ms},
      {"p95_below_floor_is_floored", "p95", with([](auto& f) { f.p95 = 3ms; }), H::arm, kHedgeMinDelay},
      {"p95_zero_is_floored", "p95", with([](auto& f) { f.p95 = 0ms; }), H::arm, kHedgeMinDelay},
      {"cold_target_waits_the_cold_delay", "cold", with([](auto& f) { f.p95.reset(); }), H::arm, kHedgeColdDelay},
      {"fixed_delay_wins_over_p95", "fixed", with([](auto& f) { f.hedge.delay = 250ms; }), H::arm, 250ms},
      {"fixed_delay_is_not_floored", "fixed", with([](auto& f) { f.hedge.delay = 5ms; }), H::arm, 5ms},
      {"recovery_not_hedged", "recovery", with([](auto& f) { f.resuming = true; }), H::none},
      {"one_hedge_per_call", "max", with([](auto& f) { f.sent = 1; }), H::none},
      {"committed_not_hedged", "committed", with([](auto& f) { f.committed = true; }), H::none},
      {"delay_at_first_token_limit", "limit", with([](auto& f) { f.first_token = 800ms; }), H::none},
      {"delay_past_first_token_limit", "limit", with([](auto& f) { f.first_token = 500ms; }), H::none},
      {"delay_just_under_limit", "p95", with([](auto& f) { f.first_token = 801ms; }), H::arm, 800ms},
      {"no_first_token_limit", "p95", with([](auto& f) { f.first_token = 0ms; }), H::arm, 800ms},
      {"delay_past_deadline", "deadline", with([](auto& f) { f.time_left = 800ms; }), H::none},
      {"delay_fits_deadline", "p95", with([](auto& f) { f.time_left = 801ms; }), H::arm, 800ms},
      // ---- fire: the timer went off before a first token
      {"fire_asks_the_balancer", "pick", fire(), H::pick},
      {"fire_fresh_target_sends", "hedge", fire([](auto& f) { f.offer = Offer::fresh; }), H::send},
      {"fire_no_target", "no_target", fire([](auto& f) { f.offer = Offer::none; }), H::none},
      {"fire_only_a_tried_target", "no_target", fire([](auto& f) { f.offer = Offer::tried; }), H::none},
      {"fire_budget_empty", "budget", fire([](auto& f) {
         f.offer = Offer::fresh;
         f.budget_refused = true;
       }),
       H::none},
      {"fire_after_first_token", "committed", fire([](auto& f) { f.committed = true; }), H::none},
      {"fire_past_deadline", "deadline", fire([](auto& f) { f.time_left = 0ms; }), H::none},
      {"fire_hedge_already_sent", "max", fire([](auto& f) { f.sent = 1; }), H::none},
      {"fire_during_recovery", "recovery", fire([](auto& f) { f.resuming = true; }), H::none},
      {"fire_off", "off", fire([](auto& f) { f.hedge.enabled = false; }), H::none},
  };
  return rows;
}

class HedgeTable : public ::testing::TestWithParam<Row> {};

TEST_P(HedgeTable, Decides) {
  const Row& row = GetParam();
  const HedgeDecision d = hedge(row.given);
  EXPECT_EQ(d.action, row.action) << to_string(d.action) << " (rule " << d.rule << ")";
  EXPECT_EQ(d.rule, row.rule);
  EXPECT_EQ(d.delay, row.delay);
  EXPECT_EQ(d.draws_budget(), row.action == H::send);
}

INSTANTIATE_TEST_SUITE_P(Rules, HedgeTable, ::testing::ValuesIn(table()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- decide(): the current attempt fails while its hedge is in flight ---------------------

FailoverFacts failed(ErrorClass cls) {
  FailoverFacts f;
  f.cls = cls;
  f.time_left = 30s;
  f.hedge_in_flight = true;
  return f;
}

TEST(HedgeFailover, AFailureWithAHedgeInFlightTakesTheHedge) {
  for (auto cls :
       {ErrorClass::retryable, ErrorClass::rate_limited, ErrorClass::fatal_target, ErrorClass::transparent}) {
    const FailoverDecision d = decide(failed(cls));
    EXPECT_EQ(d.action, FailoverAction::adopt_hedge) << describe(d);
    EXPECT_EQ(d.rule, "hedge");
    EXPECT_EQ(d.log, "to_hedge");
    EXPECT_FALSE(d.spend);
    EXPECT_FALSE(d.draws_budget());  // the hedge drew when it was sent
  }
}

TEST(HedgeFailover, ASilentOrTrialFailureIsSpentAsItGoesToTheHedge) {
  FailoverFacts f = failed(ErrorClass::retryable);
  f.silent = true;
  EXPECT_TRUE(decide(f).spend);
  f.silent = false;
  f.half_open_trial = true;
  EXPECT_TRUE(decide(f).spend);
}

TEST(HedgeFailover, CancelAndRequestErrorsKeepTheirRules) {
  EXPECT_EQ(decide(failed(ErrorClass::ignored)).action, FailoverAction::give_up);
  FailoverFacts f = failed(ErrorClass::fatal_request);
  EXPECT_EQ(decide(f).action, FailoverAction::give_up);
  f.own_chain = RequestChain::context_window;
  EXPECT_EQ(decide(f).action, FailoverAction::switch_chain);
}

TEST(HedgeFailover, WithoutAHedgeNothingChanges) {
  FailoverFacts f = failed(ErrorClass::retryable);
  f.hedge_in_flight = false;
  EXPECT_EQ(decide(f).action, FailoverAction::pick);
}

// The call's loop at the timer (failover.hpp's hedge call order) over every combination: it ends
// within three rounds, sends only to a fresh target with the budget's consent, and arms only a
// delay that is positive, under the first-token limit and inside the deadline.
TEST(HedgePolicy, EveryCombinationEndsAndSendsOnlyWhenAllowed) {
  const Offer offers[] = {Offer::none, Offer::fresh, Offer::tried};
  const std::optional<Millis> p95s[] = {std::nullopt, 0ms, 800ms, 40s};
  const std::optional<Millis> fixed[] = {std::nullopt, 1ms, 3s};
  const Millis limits[] = {0ms, 500ms, 30s};
  const Clock::duration lefts[] = {-1ms, 0ms, 700ms, 60s};
  int cases = 0;
  for (auto world : offers)
    for (auto p95 : p95s)
      for (auto delay : fixed)
        for (auto limit : limits)
          for (auto left : lefts)
            for (int bits = 0; bits < (1 << 5); ++bits) {
              HedgeFacts f = base();
              f.p95 = p95;
              f.hedge.delay = delay;
              f.first_token = limit;
              f.time_left = left;
              f.hedge.enabled = !(bits & 1);
              f.resuming = bits & 2;
              f.committed = bits & 4;
              f.sent = bits & 8 ? 1 : 0;
              const bool refuse = bits & 16;
              ++cases;
              const HedgeDecision armed = hedge(f);
              if (armed.action == H::arm) {
                ASSERT_GT(armed.delay, 0ms);
                ASSERT_LT(armed.delay, left);
                if (limit.count() > 0) ASSERT_LT(armed.delay, limit);
                if (!delay) ASSERT_GE(armed.delay, kHedgeMinDelay);
              } else {
                ASSERT_EQ(armed.action, H::none);
              }
              f.stage = HedgeStage::fire;
              for (int round = 0;; ++round) {
                ASSERT_LT(round, 3) << "no end";
                const HedgeDecision d = hedge(f);
                if (d.action == H::pick) {
                  f.offer = world;
                  continue;
                }
                if (d.action == H::send && refuse && !f.budget_refused) {
                  f.budget_refused = true;
                  continue;
                }
                if (d.action == H::send) {
                  ASSERT_EQ(f.offer, Offer::fresh);
                  ASSERT_FALSE(f.budget_refused || f.committed || f.resuming || f.sent > 0 || !f.hedge.enabled);
                } else {
                  ASSERT_EQ(d.action, H::none);
                }
                break;
              }
            }
  EXPECT_EQ(cases, 3 * 4 * 3 * 3 * 4 * 32);
}

}  // namespace
}  // namespace llmfailover::policy
