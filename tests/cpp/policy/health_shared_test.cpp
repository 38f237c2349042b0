// A breaker state told by another process (state/shared_state.hpp) through TargetHealth's hooks.
#include <gtest/gtest.h>

#include "llmfailover/policy/health.hpp"

namespace llmfailover::policy {
namespace {

struct SharedHealth : ::testing::Test {
  BreakerPolicyConfig breaker;
  RampPolicyConfig ramp;
  ManualClock clock;
  SequenceRandom random{{0.5}};
  TargetHealth h{breaker, ramp, clock, random};
};

TEST_F(SharedHealth, AdoptedOpenHoldsTheTargetOutForTheWaitThenClosesWithoutAFailure) {
  EXPECT_TRUE(h.adopt_shared_open(Millis{800}));
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_FALSE(h.try_acquire());
  EXPECT_EQ(h.available_at(), clock.now() + Millis{800});
  EXPECT_EQ(h.snapshot().attempts, 0);
  clock.advance(Millis{800});
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_EQ(h.share(), 1.0);
}

TEST_F(SharedHealth, CloseFromAnotherProcessEndsItEarly) {
  ASSERT_TRUE(h.adopt_shared_open(Millis{5000}));
  clock.advance(Millis{300});
  h.end_shared_open();
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_TRUE(h.try_acquire());
}

TEST_F(SharedHealth, ALocalOpenIsNeitherReplacedNorClosedByTheFleet) {
  ASSERT_TRUE(h.try_acquire());
  h.on_result(ErrorClass::rate_limited, Millis{10}, Millis{20000});  // local cool-down
  EXPECT_FALSE(h.adopt_shared_open(Millis{100}));
  h.end_shared_open();  // not ours to end
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_EQ(h.available_at(), clock.now() + Millis{20000});
}

}  // namespace
}  // namespace llmfailover::policy
