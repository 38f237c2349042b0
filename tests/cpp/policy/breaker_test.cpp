// The breaker beyond resilience4j's scenarios: Finagle's consecutive-failure trip, the growing and
// jittered open wait, cooldowns, explicit trips, windows, config checks and concurrency.
#include "llmfailover/policy/breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace llmfailover::policy {
namespace {

using S = BreakerState;
using std::chrono::seconds;

struct BreakerTest : ::testing::Test {
  BreakerPolicyConfig cfg;  // the llmfailover defaults: time window 60 s, 10 calls, 5 in a row
  ManualClock clock;
  SequenceRandom random{{0.5}};  // 0.5 = no jitter either way

  CircuitBreaker make() { return CircuitBreaker(cfg, clock, random); }
};

TEST_F(BreakerTest, ConsecutiveFailuresTripBelowMinimumCalls) {
  auto cb = make();
  std::vector<BreakerEvent> events;
  cb.set_listener([&](const BreakerEvent& e) { events.push_back(e); });
  for (int i = 0; i < 4; ++i) cb.on_failure(Millis{10});
  EXPECT_EQ(cb.consecutive_failures(), 4);
  EXPECT_EQ(cb.state(), S::closed);
  cb.on_failure(Millis{10});
  EXPECT_EQ(cb.state(), S::open);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "5 consecutive failures");
  EXPECT_EQ(cb.metrics().failure_rate, -1);  // the window alone would not have opened it
}

TEST_F(BreakerTest, SuccessResetsTheConsecutiveCount) {
  auto cb = make();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) cb.on_failure(Millis{0});
    cb.on_success(Millis{0});
  }
  EXPECT_EQ(cb.consecutive_failures(), 0);
  EXPECT_EQ(cb.state(), S::open);  // but 12 of 15 failed: the rate rule trips
}

TEST_F(BreakerTest, ConsecutiveZeroTurnsTheHybridRuleOff) {
  cfg.consecutive_failures = 0;
  auto cb = make();
  for (int i = 0; i < 9; ++i) cb.on_failure(Millis{0});
  EXPECT_EQ(cb.state(), S::closed);
}

TEST_F(BreakerTest, OpenWaitDoublesPerReopenUpToTheCap) {
  cfg.open_jitter = 0;
  cfg.open_cap = std::chrono::minutes(5);  // the default cap (10 s) would stop the doubling at once
  auto cb = make();
  std::vector<long long> waits;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    cb.transition_to(S::open);
    EXPECT_EQ(cb.attempts(), attempt);
    waits.push_back(std::chrono::duration_cast<Millis>(*cb.next_transition_at() - clock.now()).count());
    clock.set(*cb.next_transition_at());
    ASSERT_EQ(cb.state(), S::half_open);  // HALF_OPEN keeps attempts
  }
  EXPECT_EQ(waits, (std::vector<long long>{5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000}));
}

TEST_F(BreakerTest, ClosedResetsAttempts) {
  cfg.minimum_calls = 1;
  cfg.half_open_permits = 1;
  auto cb = make();
  cb.transition_to(S::open);
  clock.advance(seconds{10});
  ASSERT_TRUE(cb.try_acquire());
  cb.on_success(Millis{0});
  EXPECT_EQ(cb.state(), S::closed);
  EXPECT_EQ(cb.attempts(), 0);
  cb.transition_to(S::open);
  EXPECT_EQ(*cb.next_transition_at() - clock.now(), seconds{5});
}

TEST_F(BreakerTest, OpenWaitJitterIsDrawnFromRandom) {
  SequenceRandom draws({0.0, 0.999999, 0.25});
  CircuitBreaker cb(cfg, clock, draws);      // open_jitter 0.1
  EXPECT_EQ(cb.open_wait(1), Millis{4500});  // -10%
  EXPECT_EQ(cb.open_wait(1), Millis{5500});  // +10%
  EXPECT_EQ(cb.open_wait(2), Millis{9500});  // 10 s * 0.95
  cfg.open_cap = Millis{20000};
  CircuitBreaker capped(cfg, clock, draws);
  EXPECT_EQ(capped.open_wait(9), Millis{18000});  // 0.0 draw: 20 s - 10%
  EXPECT_EQ(capped.open_wait(9), Millis{20000});  // the cap is a hard maximum
}

TEST_F(BreakerTest, ResultsWhileOpenAreRecordedButDoNotMoveIt) {
  cfg.consecutive_failures = 0;
  cfg.minimum_calls = 2;
  auto cb = make();
  cb.transition_to(S::open);
  cb.on_success(Millis{0});
  cb.on_success(Millis{0});
  EXPECT_EQ(cb.state(), S::open);
  EXPECT_EQ(cb.metrics().buffered, 2);
}

TEST_F(BreakerTest, CooldownFromClosedReturnsToClosedWithItsWindow) {
  auto cb = make();
  std::vector<BreakerEvent> events;
  cb.set_listener([&](const BreakerEvent& e) { events.push_back(e); });
  cb.on_failure(Millis{0});
  ASSERT_TRUE(cb.cool_down(Millis{20000}, "429"));
  EXPECT_EQ(cb.state(), S::open);
  EXPECT_TRUE(cb.cooling());
  EXPECT_EQ(cb.attempts(), 0);
  EXPECT_FALSE(cb.try_acquire());
  clock.advance(Millis{19999});
  EXPECT_EQ(cb.state(), S::open);
  clock.advance(Millis{1});
  EXPECT_EQ(cb.state(), S::closed);
  EXPECT_EQ(cb.metrics().failed, 1);  // the window survived
  EXPECT_EQ(cb.consecutive_failures(), 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].reason, "cooldown over");
}

TEST_F(BreakerTest, CooldownOnlyExtendsAndIsRefusedWhereTheBreakerIsNotInCharge) {
  auto cb = make();
  cb.transition_to(S::open);  // 5 s
  auto until = *cb.next_transition_at();
  EXPECT_TRUE(cb.cool_down(Millis{1000}, "429"));
  EXPECT_EQ(cb.next_transition_at(), until);
  EXPECT_TRUE(cb.cool_down(Millis{9000}, "429"));
  EXPECT_EQ(cb.next_transition_at(), clock.now() + Millis{9000});
  EXPECT_EQ(cb.attempts(), 1);
  cb.force_open();
  EXPECT_FALSE(cb.cool_down(Millis{1000}, "429"));
  cb.disable();
  EXPECT_FALSE(cb.cool_down(Millis{1000}, "429"));
  EXPECT_EQ(cb.state(), S::disabled);
}

TEST_F(BreakerTest, CooldownFromHalfOpenReturnsToHalfOpen) {
  auto cb = make();
  cb.transition_to(S::open);
  clock.set(*cb.next_transition_at());
  ASSERT_TRUE(cb.try_acquire());
  cb.cool_down(Millis{3000}, "429");
  EXPECT_EQ(cb.state(), S::open);
  clock.advance(Millis{3000});
  EXPECT_EQ(cb.state(), S::half_open);
  EXPECT_EQ(cb.attempts(), 1);
}

TEST_F(BreakerTest, TripSetsAttemptsExplicitly) {
  cfg.open_jitter = 0;
  cfg.open_cap = std::chrono::minutes(5);
  auto cb = make();
  cb.trip(3, "ramp breach");
  EXPECT_EQ(cb.state(), S::open);
  EXPECT_EQ(cb.attempts(), 3);
  EXPECT_EQ(*cb.next_transition_at() - clock.now(), seconds{20});
}

TEST_F(BreakerTest, CountWindowForgetsTheOldestCall) {
  cfg.window = BreakerPolicyConfig::Window::count_based;
  cfg.window_size = 3;
  cfg.minimum_calls = 3;
  cfg.consecutive_failures = 0;
  cfg.failure_rate_threshold = 100;
  auto cb = make();
  cb.on_failure(Millis{0});
  cb.on_success(Millis{0});
  cb.on_success(Millis{0});
  EXPECT_NEAR(cb.metrics().failure_rate, 33.33, 0.01);
  cb.on_success(Millis{0});  // the failure leaves the ring
  EXPECT_EQ(cb.metrics().failed, 0);
  EXPECT_EQ(cb.metrics().buffered, 3);
}

TEST_F(BreakerTest, InitialStates) {
  cfg.initial_state = "forced_open";
  auto forced = make();
  EXPECT_EQ(forced.state(), S::forced_open);
  EXPECT_FALSE(forced.try_acquire());
  cfg.initial_state = "open";
  EXPECT_THROW(make(), std::invalid_argument);
  cfg.initial_state = "bogus";
  EXPECT_THROW(make(), std::invalid_argument);
}

TEST_F(BreakerTest, RejectsInvalidConfig) {
  auto bad = [&](auto change) {
    BreakerPolicyConfig c;
    change(c);
    EXPECT_THROW((void)CircuitBreaker(c, clock, random), std::invalid_argument);
  };
  bad([](auto& c) { c.window_size = 0; });
  bad([](auto& c) { c.minimum_calls = 0; });
  bad([](auto& c) { c.failure_rate_threshold = 0; });
  bad([](auto& c) { c.slow_call_rate_threshold = 101; });
  bad([](auto& c) { c.half_open_permits = 0; });
  bad([](auto& c) { c.open_multiplier = 0.5; });
  bad([](auto& c) { c.open_jitter = 1.0; });
  bad([](auto& c) { c.open_cap = Millis{1000}; });
}

TEST_F(BreakerTest, NamesRoundTrip) {
  for (auto s : {S::closed, S::open, S::half_open, S::disabled, S::forced_open, S::metrics_only})
    EXPECT_EQ(breaker_state_from_string(to_string(s)), s);
  EXPECT_EQ(to_string(S::half_open), "half_open");
  BreakerEvent e{BreakerEvent::Kind::state_transition, S::closed, S::open, -1, "5 consecutive failures"};
  EXPECT_EQ(to_string(e), "state_transition closed -> open (5 consecutive failures)");
}

TEST_F(BreakerTest, ListenerRunsOutsideTheLockAndMayCallBack) {
  auto cb = make();
  std::vector<S> seen;
  cb.set_listener([&](const BreakerEvent&) { seen.push_back(cb.state()); });  // would deadlock under the lock
  cb.force_open();
  cb.set_listener([](const BreakerEvent&) { throw std::runtime_error("broken listener"); });
  EXPECT_NO_THROW(cb.reset());
  EXPECT_EQ(seen, (std::vector<S>{S::forced_open}));
}

TEST_F(BreakerTest, ConcurrentCallsKeepCountsConsistent) {
  cfg.consecutive_failures = 0;
  cfg.window = BreakerPolicyConfig::Window::count_based;
  cfg.window_size = 100000;
  cfg.minimum_calls = 100000;
  auto cb = make();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cb, t] {
      for (int i = 0; i < 2000; ++i) {
        if (cb.try_acquire()) (i + t) % 2 ? cb.on_failure(Millis{1}) : cb.on_success(Millis{1});
      }
    });
  }
  for (auto& th : threads) th.join();
  auto m = cb.metrics();
  EXPECT_EQ(m.buffered, 8000);
  EXPECT_EQ(m.failed, 4000);
}

}  // namespace
}  // namespace llmfailover::policy
