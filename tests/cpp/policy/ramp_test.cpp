// The gradual return after recovery (resilience.md 8.9) on a manual clock.
#include "llmfailover/policy/ramp.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace llmfailover::policy {

void PrintTo(Ramp::Verdict v, std::ostream* os) { *os << to_string(v); }

namespace {

using V = Ramp::Verdict;
using std::chrono::seconds;

const Millis kSlow{30000};

struct RampTest : ::testing::Test {
  RampPolicyConfig cfg;  // 5/25/50/100%, hold 30 s, 20 requests, 50% / 100%
  ManualClock clock;

  // n results, `failures` of them failed; returns the last verdict.
  static V feed(Ramp& r, int n, int failures = 0, Millis duration = Millis{100}) {
    V v = V::hold;
    for (int i = 0; i < n; ++i) v = r.on_result(i < failures, duration, kSlow);
    return v;
  }
};

TEST_F(RampTest, NotRampingMeansFullFactor) {
  Ramp r(cfg, clock);
  EXPECT_FALSE(r.ramping());
  EXPECT_EQ(r.factor(), 1.0);
  EXPECT_EQ(r.step(), -1);
  EXPECT_EQ(r.on_result(true, Millis{0}, kSlow), V::hold);
  EXPECT_EQ(r.tick(), V::hold);
}

TEST_F(RampTest, StepsAdvanceAfterHoldAndRequests) {
  Ramp r(cfg, clock);
  r.start();
  EXPECT_TRUE(r.ramping());
  EXPECT_EQ(r.step(), 0);
  EXPECT_EQ(r.factor(), 0.05);
  EXPECT_EQ(r.reason(), "ramp step 0 (5%)");

  EXPECT_EQ(feed(r, 20), V::hold);  // enough requests, not enough time
  clock.advance(seconds{29});
  EXPECT_EQ(r.tick(), V::hold);
  clock.advance(seconds{1});
  EXPECT_EQ(r.tick(), V::advanced);
  EXPECT_EQ(r.factor(), 0.25);
  EXPECT_EQ(r.reason(), "ramp step 1 (25%)");

  clock.advance(seconds{60});  // enough time, not enough requests
  EXPECT_EQ(feed(r, 19), V::hold);
  EXPECT_EQ(r.on_result(false, Millis{100}, kSlow), V::advanced);
  EXPECT_EQ(r.step(), 2);
  EXPECT_EQ(r.factor(), 0.5);

  clock.advance(seconds{30});
  EXPECT_EQ(feed(r, 20), V::finished);
  EXPECT_EQ(r.reason(), "ramp finished (100%)");
  EXPECT_FALSE(r.ramping());
  EXPECT_EQ(r.factor(), 1.0);
}

TEST_F(RampTest, LowTrafficDoesNotAdvanceOnTimeAlone) {
  Ramp r(cfg, clock);
  r.start();
  feed(r, 5);
  clock.advance(std::chrono::hours{1});
  EXPECT_EQ(r.tick(), V::hold);
  EXPECT_EQ(r.step(), 0);
}

TEST_F(RampTest, NoMinimumRequestsAdvancesOnTime) {
  cfg.step_min_requests = 0;
  Ramp r(cfg, clock);
  r.start();
  clock.advance(seconds{30});
  EXPECT_EQ(r.tick(), V::advanced);
}

TEST_F(RampTest, FailureRateAtThresholdIsABreach) {
  Ramp r(cfg, clock);
  r.start();
  EXPECT_EQ(feed(r, 19, 10), V::hold);                           // not judged before 20 results
  EXPECT_EQ(r.on_result(false, Millis{100}, kSlow), V::breach);  // 10 of 20 = 50%
  EXPECT_EQ(r.reason(), "ramp breach at step 0 (5%): failure_rate 50% >= 50%");
  EXPECT_FALSE(r.ramping());
  EXPECT_EQ(r.factor(), 1.0);
  r.start();  // the next recovery begins again at 5%
  EXPECT_EQ(r.factor(), 0.05);
}

TEST_F(RampTest, BelowThresholdAdvancesAndCountsAreFreshPerStep) {
  Ramp r(cfg, clock);
  r.start();
  clock.advance(seconds{30});
  EXPECT_EQ(feed(r, 20, 9), V::advanced);  // 45% < 50%
  EXPECT_EQ(feed(r, 19, 0), V::hold);      // the 9 failures stayed behind in step 0
  EXPECT_EQ(r.step(), 1);
}

TEST_F(RampTest, BreachDoesNotWaitForTheHold) {
  Ramp r(cfg, clock);
  r.start();
  clock.advance(seconds{30});
  EXPECT_EQ(feed(r, 20), V::advanced);
  EXPECT_EQ(feed(r, 20, 15), V::breach);  // at once, 1 s into step 1
  EXPECT_EQ(r.reason(), "ramp breach at step 1 (25%): failure_rate 75% >= 50%");
}

TEST_F(RampTest, SlowRateBreach) {
  cfg.slow_call_rate_threshold = 50;
  Ramp r(cfg, clock);
  r.start();
  V v = V::hold;
  for (int i = 0; i < 20; ++i) v = r.on_result(false, i % 2 ? Millis{30001} : Millis{30000}, kSlow);
  EXPECT_EQ(v, V::breach);
  EXPECT_EQ(r.reason(), "ramp breach at step 0 (5%): slow_call_rate 50% >= 50%");
}

TEST_F(RampTest, StopAbandonsAndStartRestarts) {
  Ramp r(cfg, clock);
  r.start();
  clock.advance(seconds{30});
  feed(r, 20);
  ASSERT_EQ(r.step(), 1);
  r.start();
  EXPECT_EQ(r.step(), 0);
  r.stop();
  EXPECT_FALSE(r.ramping());
  EXPECT_EQ(r.factor(), 1.0);
}

TEST_F(RampTest, NothingToRampWithoutAStepBelowOne) {
  cfg.steps = {1.0};
  Ramp r(cfg, clock);
  r.start();
  EXPECT_FALSE(r.ramping());
  cfg.steps = {};
  Ramp none(cfg, clock);
  none.start();
  EXPECT_FALSE(none.ramping());
}

TEST_F(RampTest, LastStepBelowOneFinishesAfterItsHold) {
  cfg.steps = {0.1, 0.5};
  Ramp r(cfg, clock);
  r.start();
  clock.advance(seconds{30});
  EXPECT_EQ(feed(r, 20), V::advanced);
  clock.advance(seconds{30});
  EXPECT_EQ(feed(r, 20), V::finished);
}

TEST_F(RampTest, RejectsInvalidConfig) {
  auto bad = [&](auto change) {
    RampPolicyConfig c;
    change(c);
    EXPECT_THROW((void)Ramp(c, clock), std::invalid_argument);
  };
  bad([](auto& c) { c.steps = {0.5, 0.25}; });
  bad([](auto& c) { c.steps = {0.0, 1.0}; });
  bad([](auto& c) { c.steps = {0.5, 1.5}; });
  bad([](auto& c) { c.failure_rate_threshold = 0; });
  bad([](auto& c) { c.step_min_requests = -1; });
}

}  // namespace
}  // namespace llmfailover::policy
