// PeakEwma formulas with a manual clock (resilience.md 4.1, 8.8, 8.12).
#include "llmfailover/policy/ewma.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "llmfailover/clock.hpp"

namespace llmfailover::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(EwmaTest, NewTargetStartsAtDefaultRttWhichDecaysLikeASample) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 1000);
  clock.advance(seconds{10});
  EXPECT_NEAR(e.estimate(clock.now()), 1000 * std::exp(-1.0), 1e-9);
  EXPECT_FALSE(e.has_samples());
  EwmaConfig cfg;
  cfg.default_rtt = Millis{30};
  EXPECT_DOUBLE_EQ(PeakEwma(cfg, clock.now()).estimate(clock.now()), 30);
}

TEST(EwmaTest, FirstSampleReplacesThePrior) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  clock.advance(seconds{10});
  e.observe(clock.now(), 900.0);  // not mixed with the decayed prior
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 900);
  EXPECT_TRUE(e.has_samples());
}

TEST(EwmaTest, FirstSampleSetsEvenBelowTheDefault) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 200.0);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 200);
}

TEST(EwmaTest, PeakJumpsUpAtOnce) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 200.0);
  clock.advance(milliseconds{1});
  e.observe(clock.now(), 9000.0);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 9000);
}

TEST(EwmaTest, DecaysTowardZeroWithTau) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 1000.0);
  clock.advance(seconds{10});
  EXPECT_NEAR(e.estimate(clock.now()), 1000 * std::exp(-1.0), 1e-9);
  clock.advance(seconds{10});
  EXPECT_NEAR(e.estimate(clock.now()), 1000 * std::exp(-2.0), 1e-9);
}

TEST(EwmaTest, LowerSampleMovesTowardItByElapsedTime) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 1000.0);
  // Right away: w = 1, the estimate does not move.
  e.observe(clock.now(), 100.0);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 1000);
  // After tau: d = 1000/e, then d*w + 100*(1-w).
  clock.advance(seconds{10});
  e.observe(clock.now(), 100.0);
  double w = std::exp(-1.0), d = 1000 * w;
  EXPECT_NEAR(e.estimate(clock.now()), d * w + 100 * (1 - w), 1e-9);
}

TEST(EwmaTest, SampleAboveTheDecayedValueIsAPeak) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 1000.0);
  clock.advance(seconds{10});  // visible 367.9
  e.observe(clock.now(), 400.0);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 400);
}

TEST(EwmaTest, RateLimitPenaltyIsAtLeastFiveSeconds) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 300.0);
  e.observe_rate_limited(clock.now(), Millis{12}, std::nullopt);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 5000);
}

TEST(EwmaTest, RateLimitPenaltyUsesRetryAfterCappedAt300s) {
  ManualClock clock;
  PeakEwma a({}, clock.now()), b({}, clock.now()), c({}, clock.now());
  a.observe_rate_limited(clock.now(), Millis{12}, Millis{30000});
  EXPECT_DOUBLE_EQ(a.estimate(clock.now()), 30000);
  b.observe_rate_limited(clock.now(), Millis{12}, Millis{3'600'000});
  EXPECT_DOUBLE_EQ(b.estimate(clock.now()), 300000);
  c.observe_rate_limited(clock.now(), Millis{8000}, Millis{1000});  // the actual time wins
  EXPECT_DOUBLE_EQ(c.estimate(clock.now()), 8000);
}

TEST(EwmaTest, FailurePenaltyIsAtLeastFiveSeconds) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe_failure(clock.now(), Millis{3});
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 5000);
  e.observe_failure(clock.now(), Millis{30000});  // a first-token timeout
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 30000);
}

TEST(EwmaTest, CostIsEstimateTimesInFlightPlusOne) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 250.0);
  EXPECT_DOUBLE_EQ(e.cost(clock.now(), 0), 250);
  EXPECT_DOUBLE_EQ(e.cost(clock.now(), 3), 1000);
}

TEST(EwmaTest, StalePendingFloorKeepsADecayedTargetFromBeingFlooded) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), 2000.0);
  clock.advance(seconds{60});  // decayed to ~5 ms
  EXPECT_LT(e.cost(clock.now(), 0), 10);
  EXPECT_DOUBLE_EQ(e.cost(clock.now(), 1), 2 * 1000.0);  // >= default_rtt while requests are out
  // A fresh sample lifts the floor.
  e.observe(clock.now(), 50.0);
  EXPECT_DOUBLE_EQ(e.cost(clock.now(), 1), 100);
}

TEST(EwmaTest, NormalisationTtftAndPerOutputToken) {
  // A stream: its first token under ttft, its whole answer per token under per_output_token.
  LatencySample s{Millis{400}, Millis{4400}, 100, /*streamed=*/true};
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::ttft, s), 400);
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::per_output_token, s), 44);
  // A non-streamed answer has no first token: its time is normalised for the output length.
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::ttft, {Millis{4400}, Millis{4400}, 100}), 44);
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::ttft, {Millis{4400}, Millis{4400}, 0}), 4400);
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::ttft, {Millis{900}, Millis{0}, -1}), 900);  // no usage
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::per_output_token, {Millis{400}, Millis{4400}, 0}), 4400);
  EXPECT_DOUBLE_EQ(normalised_latency(LatencyMetric::per_output_token, {Millis{400}, Millis{0}, -1}), 400);

  ManualClock clock;
  EwmaConfig cfg;
  cfg.metric = LatencyMetric::per_output_token;
  PeakEwma e(cfg, clock.now());
  e.observe(clock.now(), s);
  EXPECT_DOUBLE_EQ(e.estimate(clock.now()), 44);
  EXPECT_EQ(parse_latency_metric("tpot"), LatencyMetric::per_output_token);
  EXPECT_EQ(parse_latency_metric("ttft"), LatencyMetric::ttft);
  EXPECT_FALSE(parse_latency_metric("e2e"));
}

TEST(EwmaTest, IgnoresNonsenseSamples) {
  ManualClock clock;
  PeakEwma e({}, clock.now());
  e.observe(clock.now(), -1.0);
  e.observe(clock.now(), std::nan(""));
  EXPECT_FALSE(e.has_samples());
}

}  // namespace
}  // namespace llmfailover::policy
