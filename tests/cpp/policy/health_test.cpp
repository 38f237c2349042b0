// TargetHealth: breaker + ramp + rate-limit cooldown per target, on a manual clock.
#include "llmfailover/policy/health.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace llmfailover::policy {
namespace {

using std::chrono::seconds;
using E = ErrorClass;

struct HealthTest : ::testing::Test {
  HealthTest() {
    breaker.open_jitter = 0;  // deterministic waits: 5 s, 10 s, 20 s, ...
  }

  TargetHealth& make() {
    health = std::make_unique<TargetHealth>(breaker, ramp, clock, random);
    health->set_listener([this](std::string_view from, std::string_view to, std::string_view why) {
      std::lock_guard lock(log_mutex);  // io threads deliver events concurrently
      log.push_back(std::string(from) + "->" + std::string(to) + ": " + std::string(why));
    });
    return *health;
  }

  // Five failures in a row trip the breaker (consecutive_failures = 5).
  void trip(TargetHealth& h) {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(h.try_acquire());
      h.on_result(E::retryable, Millis{100});
    }
    ASSERT_EQ(h.state(), BreakerState::open);
  }

  // Waits out the open period and passes the 3 half-open probes.
  void recover(TargetHealth& h) {
    clock.set(*h.available_at());
    ASSERT_EQ(h.state(), BreakerState::half_open);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(h.try_acquire());
      h.on_result(E::none, Millis{100});
    }
    ASSERT_EQ(h.state(), BreakerState::closed);
  }

  void succeed(TargetHealth& h, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(h.try_acquire());
      h.on_result(E::none, Millis{100});
    }
  }

  bool logged(const std::string& line) const { return std::find(log.begin(), log.end(), line) != log.end(); }

  // Three half-open probes and a long cap (not the defaults, 1 and 10 s): the mechanics under test.
  BreakerPolicyConfig breaker = [] {
    BreakerPolicyConfig b;
    b.half_open_permits = 3;
    b.open_cap = std::chrono::minutes(5);
    return b;
  }();
  RampPolicyConfig ramp;
  ManualClock clock;
  SequenceRandom random{{0.5}};
  std::unique_ptr<TargetHealth> health;
  std::mutex log_mutex;
  std::vector<std::string> log;
};

TEST_F(HealthTest, HealthyTargetTakesItsFullShare) {
  auto& h = make();
  EXPECT_TRUE(h.try_acquire());
  h.on_result(E::none, Millis{100});
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_EQ(h.available_at(), clock.now());
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "closed");
  EXPECT_EQ(s.ramp_step, -1);
  EXPECT_EQ(to_string(s).rfind("closed share=1", 0), 0u);
}

TEST_F(HealthTest, RateLimitCoolsDownOnlyForTheResetPeriod) {
  auto& h = make();
  ASSERT_TRUE(h.try_acquire());
  h.on_result(E::rate_limited, Millis{50}, Millis{20000});
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_FALSE(h.try_acquire());
  EXPECT_EQ(h.available_at(), clock.now() + Millis{20000});
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "open");
  EXPECT_TRUE(s.cooling);
  EXPECT_EQ(s.attempts, 0);  // not a breaker failure, no growth

  clock.advance(Millis{20000});
  EXPECT_EQ(h.share(), 1.0);  // straight back: no probes, no ramp
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_TRUE(h.try_acquire());
  s = h.snapshot();
  EXPECT_EQ(s.ramp_step, -1);
  EXPECT_EQ(s.not_permitted, 1);
  EXPECT_TRUE(logged("closed->open: rate_limited: cooling down for 20000ms"));
  EXPECT_TRUE(logged("open->closed: cooldown over"));
}

TEST_F(HealthTest, RepeatedRateLimitsNeverGrowAttemptsOrCountAsFailures) {
  auto& h = make();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(h.try_acquire());
    h.on_result(E::rate_limited, Millis{50});  // no hint: the breaker's next open wait, 5 s
    EXPECT_EQ(h.available_at(), clock.now() + seconds{5});
    clock.advance(seconds{5});
  }
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "closed");
  EXPECT_EQ(s.attempts, 0);
  EXPECT_EQ(s.consecutive_failures, 0);
}

TEST_F(HealthTest, FatalTargetForcesTheKeyOpenThenProbes) {
  auto& h = make();
  ASSERT_TRUE(h.try_acquire());
  h.on_result(E::fatal_target, Millis{30});  // 401
  EXPECT_EQ(h.state(), BreakerState::forced_open);
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_FALSE(h.try_acquire());
  EXPECT_EQ(h.available_at(), clock.now() + Millis{600000});
  clock.advance(Millis{599999});
  EXPECT_EQ(h.state(), BreakerState::forced_open);
  clock.advance(Millis{1});
  EXPECT_EQ(h.state(), BreakerState::half_open);
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_TRUE(logged("closed->forced_open: fatal_target: key forced open for 600000ms"));
  EXPECT_TRUE(logged("forced_open->half_open: fatal_target_open 600000ms elapsed"));
}

TEST_F(HealthTest, RecoveryRampsFivePercentToFull) {
  auto& h = make();
  trip(h);
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_EQ(h.available_at(), clock.now() + seconds{5});
  recover(h);
  EXPECT_EQ(h.share(), 0.05);
  EXPECT_EQ(h.snapshot().ramp_step, 0);
  for (double want : {0.25, 0.5, 1.0}) {
    succeed(h, 20);
    EXPECT_LT(h.share(), want);  // requests alone are not enough
    clock.advance(seconds{30});
    EXPECT_EQ(h.share(), want);  // share() applies the hold that is over
  }
  EXPECT_EQ(h.snapshot().ramp_step, -1);
  for (const char* line : {"closed->closed: ramp step 0 (5%)", "closed->closed: ramp step 1 (25%)",
                           "closed->closed: ramp step 2 (50%)", "closed->closed: ramp finished (100%)"})
    EXPECT_TRUE(logged(line)) << line;
}

TEST_F(HealthTest, RampBreachReopensWithALongerWait) {
  breaker.consecutive_failures = 0;  // leave the judgement to the ramp
  breaker.failure_rate_threshold = 100;
  auto& h = make();
  ASSERT_TRUE(h.try_acquire());
  h.on_result(E::fatal_target, Millis{0});
  clock.advance(Millis{600000});
  ASSERT_EQ(h.state(), BreakerState::half_open);
  EXPECT_EQ(h.snapshot().attempts, 1);
  succeed(h, 3);
  ASSERT_EQ(h.share(), 0.05);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.try_acquire());
    h.on_result(i % 2 ? E::retryable : E::none, Millis{100});
  }
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_EQ(h.snapshot().attempts, 2);
  EXPECT_EQ(h.available_at(), clock.now() + seconds{10});  // 5 s * 2
  EXPECT_TRUE(logged("closed->open: ramp breach at step 0 (5%): failure_rate 50% >= 50%"));
  recover(h);
  EXPECT_EQ(h.share(), 0.05);  // the ramp starts again at 5%
}

TEST_F(HealthTest, BreakerTripDuringRampAlsoWaitsLonger) {
  auto& h = make();
  trip(h);  // attempts 1: 5 s
  recover(h);
  ASSERT_EQ(h.share(), 0.05);
  trip(h);  // 5 in a row while ramping
  EXPECT_EQ(h.snapshot().attempts, 2);
  EXPECT_EQ(h.available_at(), clock.now() + seconds{10});
  recover(h);
  EXPECT_EQ(h.share(), 0.05);
}

TEST_F(HealthTest, IgnoredErrorsDoNotCount) {
  auto& h = make();
  for (int i = 0; i < 10; ++i) {
    for (E cls : {E::fatal_request, E::ignored, E::transparent}) {
      ASSERT_TRUE(h.try_acquire());
      h.on_result(cls, Millis{100000});
    }
  }
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "closed");
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_EQ(s.failure_rate, -1);
  EXPECT_TRUE(log.empty());
}

TEST_F(HealthTest, IgnoredResultReleasesTheHalfOpenPermit) {
  auto& h = make();
  trip(h);
  clock.set(*h.available_at());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.try_acquire());
  EXPECT_EQ(h.share(), 0.0);  // HALF_OPEN with no permits left
  EXPECT_EQ(h.available_at(), std::nullopt);
  h.on_result(E::ignored, Millis{0});
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_TRUE(h.try_acquire());
  EXPECT_EQ(h.state(), BreakerState::half_open);
}

TEST_F(HealthTest, SlowTimeToFirstTokenCountsAsSlow) {
  breaker.slow_call_rate_threshold = 50;
  breaker.slow_call_duration = seconds{10};
  auto& h = make();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(h.try_acquire());
    h.on_result(E::none, i % 2 ? seconds{11} : seconds{1});
  }
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_EQ(h.snapshot().slow_rate, 50);
}

TEST_F(HealthTest, DisabledBreakerIgnoresRateLimitsAndFatals) {
  breaker.initial_state = "disabled";
  auto& h = make();
  h.on_result(E::rate_limited, Millis{0}, seconds{30});
  h.on_result(E::fatal_target, Millis{0});
  EXPECT_EQ(h.state(), BreakerState::disabled);
  EXPECT_EQ(h.share(), 1.0);
}

TEST_F(HealthTest, ResetRestoresFullService) {
  auto& h = make();
  h.on_result(E::fatal_target, Millis{0});
  h.reset();
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_EQ(h.share(), 1.0);
  clock.advance(Millis{600000});
  EXPECT_EQ(h.state(), BreakerState::closed);  // the forced period is gone too
}

TEST_F(HealthTest, ConcurrentUseFromIoThreads) {
  auto& h = make();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      const E classes[] = {E::none, E::retryable, E::rate_limited, E::ignored, E::none};
      for (int i = 0; i < 500; ++i) {
        if (h.try_acquire()) h.on_result(classes[(i + t) % 5], Millis{100}, Millis{1});
        (void)h.snapshot();
      }
    });
  }
  for (int i = 0; i < 200; ++i) clock.advance(Millis{10});
  for (auto& th : threads) th.join();
  EXPECT_GE(h.share(), 0.0);
  EXPECT_FALSE(log.empty());
}

// ---- active probes (probe.hpp): a hold beside passive health, recovery through the ramp --------

struct ProbedHealthTest : HealthTest {
  ProbedHealthTest() {
    check.enabled = true;
    check.interval_jitter_percent = 0;
  }

  TargetHealth& probed() {
    auto& h = make();
    h.set_probes(check);
    return h;
  }

  void probe_fail(TargetHealth& h, int n) {
    for (int i = 0; i < n; ++i) h.on_probe_result(E::retryable, "status 503");
  }
  void probe_pass(TargetHealth& h, int n) {
    for (int i = 0; i < n; ++i) h.on_probe_result(E::none, "status 200");
  }

  HealthCheckConfig check;  // thresholds 3 / 2
};

TEST_F(ProbedHealthTest, WithoutProbesNothingChanges) {
  auto& h = make();
  EXPECT_EQ(h.next_probe_at(), std::nullopt);
  EXPECT_EQ(h.on_probe_result(E::retryable), ProbeReport{});
  EXPECT_EQ(h.snapshot().probe, "");
  EXPECT_EQ(to_string(h.snapshot()).find("probe="), std::string::npos);
}

TEST_F(ProbedHealthTest, ScheduleComesFromTheProbe) {
  check.interval_jitter_percent = 10;  // U(0, 3 s) with u = 0.5
  auto& h = probed();
  EXPECT_EQ(h.next_probe_at(), clock.now() + Millis{1500});
  EXPECT_EQ(h.snapshot().probe, "unknown");
  clock.advance(seconds{2});
  h.on_probe_result(E::none);
  EXPECT_EQ(h.next_probe_at(), clock.now() + Millis{31500});
}

TEST_F(ProbedHealthTest, UnhealthyByProbesTakesTheTargetOutUntilTheyPass) {
  auto& h = probed();
  probe_pass(h, 1);
  EXPECT_EQ(h.snapshot().probe, "healthy");
  probe_fail(h, 2);
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_TRUE(log.empty());
  probe_fail(h, 1);
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_EQ(h.available_at(), std::nullopt);  // no known time: until the probes pass
  EXPECT_FALSE(h.try_acquire());
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "open");
  EXPECT_EQ(s.probe, "unhealthy");
  EXPECT_EQ(s.share, 0.0);
  EXPECT_NE(to_string(s).find(" probe=unhealthy"), std::string::npos);
  EXPECT_EQ(h.state(), BreakerState::closed);  // the breaker itself is untouched
  EXPECT_TRUE(logged("closed->open: active probe: 3 consecutive failures (status 503)"))
      << ::testing::PrintToString(log);
  clock.advance(seconds{3600});
  EXPECT_EQ(h.share(), 0.0);  // time alone brings nothing back
}

TEST_F(ProbedHealthTest, BackThroughTheRampAtFivePercent) {
  auto& h = probed();
  probe_fail(h, 3);
  probe_pass(h, 1);
  EXPECT_EQ(h.share(), 0.0);  // healthy_threshold is 2
  probe_pass(h, 1);
  EXPECT_EQ(h.share(), 0.05);
  auto s = h.snapshot();
  EXPECT_EQ(s.state, "closed");
  EXPECT_EQ(s.probe, "healthy");
  EXPECT_EQ(s.ramp_step, 0);
  EXPECT_TRUE(logged("open->closed: active probe: 2 consecutive passes (status 200)")) << ::testing::PrintToString(log);
  EXPECT_TRUE(logged("closed->closed: ramp step 0 (5%)"));
  for (double want : {0.25, 0.5, 1.0}) {  // the normal ramp: requests and hold per step
    succeed(h, 20);
    clock.advance(seconds{30});
    EXPECT_EQ(h.share(), want);
  }
}

TEST_F(ProbedHealthTest, ARampBreachAfterAProbeRecoveryReopensTheBreaker) {
  breaker.consecutive_failures = 0;
  breaker.failure_rate_threshold = 100;
  auto& h = probed();
  probe_fail(h, 3);
  probe_pass(h, 2);
  ASSERT_EQ(h.share(), 0.05);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.try_acquire());
    h.on_result(i % 2 ? E::retryable : E::none, Millis{100});  // 50% >= the ramp's threshold
  }
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_EQ(h.snapshot().attempts, 1);
  EXPECT_EQ(h.available_at(), clock.now() + seconds{5});
}

TEST_F(ProbedHealthTest, ProbeResultsAreNotCountedByTheBreaker) {
  auto& h = probed();
  probe_fail(h, 10);
  probe_pass(h, 2);
  auto s = h.snapshot();
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_EQ(s.failure_rate, -1);
  EXPECT_EQ(s.attempts, 0);
  EXPECT_EQ(h.state(), BreakerState::closed);
}

TEST_F(ProbedHealthTest, FatalTargetProbeHoldsAtOnce) {
  auto& h = probed();
  h.on_probe_result(E::fatal_target, "status 401: invalid_api_key");
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_TRUE(logged("closed->open: active probe: fatal_target (status 401: invalid_api_key): unhealthy at once"))
      << ::testing::PrintToString(log);
}

TEST_F(ProbedHealthTest, HoldStopsARampAndTheNextRecoveryStartsItAgain) {
  auto& h = probed();
  trip(h);
  recover(h);
  succeed(h, 20);
  clock.advance(seconds{30});
  ASSERT_EQ(h.share(), 0.25);
  probe_fail(h, 3);
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_EQ(h.snapshot().ramp_step, -1);
  probe_pass(h, 2);
  EXPECT_EQ(h.share(), 0.05);
  EXPECT_EQ(h.snapshot().ramp_step, 0);
}

TEST_F(ProbedHealthTest, DataPlanePassUnejectsAPassiveTripOntoTheRamp) {
  auto& h = probed();
  probe_pass(h, 1);
  trip(h);  // passive: OPEN for 5 s
  ASSERT_EQ(h.share(), 0.0);
  probe_pass(h, 1);  // resilience.md 8.7: a 1-token completion exercises the data plane
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_EQ(h.share(), 0.05);
  EXPECT_TRUE(logged("open->closed: active probe: pass; unejected by a data-plane probe"))
      << ::testing::PrintToString(log);
  trip(h);  // a trip during that ramp waits longer, as after any recovery
  EXPECT_EQ(h.snapshot().attempts, 2);
}

TEST_F(ProbedHealthTest, DataPlanePassAlsoEndsHalfOpen) {
  auto& h = probed();
  trip(h);
  clock.set(*h.available_at());
  ASSERT_EQ(h.state(), BreakerState::half_open);
  probe_pass(h, 1);
  EXPECT_EQ(h.state(), BreakerState::closed);
  EXPECT_EQ(h.share(), 0.05);
}

TEST_F(ProbedHealthTest, PathProbeNeverUnejects) {
  check.path = "/models";
  auto& h = probed();
  trip(h);
  auto at = h.available_at();
  probe_pass(h, 3);
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_EQ(h.available_at(), at);  // the breaker's own wait stands
  recover(h);
  EXPECT_EQ(h.share(), 0.05);
}

TEST_F(ProbedHealthTest, PathProbeRecoveryWhileOpenLeavesItToTheBreaker) {
  check.path = "/models";
  auto& h = probed();
  trip(h);
  probe_fail(h, 3);
  EXPECT_EQ(h.snapshot().state, "open");
  EXPECT_EQ(h.available_at(), std::nullopt);  // held by the probes as well
  probe_pass(h, 2);
  EXPECT_EQ(h.state(), BreakerState::open);
  EXPECT_NE(h.available_at(), std::nullopt);
  EXPECT_TRUE(
      logged("open->open: active probe: 2 consecutive passes (status 200); the breaker's own recovery brings "
             "it back"))
      << ::testing::PrintToString(log);
}

TEST_F(ProbedHealthTest, NoUnejectFromARateLimitCooldownOrAForcedOpen) {
  auto& h = probed();
  ASSERT_TRUE(h.try_acquire());
  h.on_result(E::rate_limited, Millis{0}, seconds{30});
  probe_pass(h, 1);
  EXPECT_TRUE(h.snapshot().cooling);
  EXPECT_EQ(h.share(), 0.0);
  h.reset();
  h.on_result(E::fatal_target, Millis{0});
  probe_pass(h, 1);
  EXPECT_EQ(h.state(), BreakerState::forced_open);
}

TEST_F(ProbedHealthTest, HoldAppliesWhenTheBreakerIsDisabledToo) {
  breaker.initial_state = "disabled";
  auto& h = probed();
  probe_fail(h, 3);
  EXPECT_EQ(h.share(), 0.0);
  EXPECT_EQ(h.snapshot().state, "open");
  probe_pass(h, 2);
  EXPECT_EQ(h.share(), 1.0);  // no ramp without a breaker in charge
  EXPECT_EQ(h.snapshot().state, "disabled");
}

TEST_F(ProbedHealthTest, ResetAndDisablingEndTheHold) {
  auto& h = probed();
  probe_fail(h, 3);
  h.reset();
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_EQ(h.snapshot().probe, "unknown");
  probe_fail(h, 3);
  check.enabled = false;
  h.set_probes(check);
  EXPECT_EQ(h.share(), 1.0);
  EXPECT_EQ(h.snapshot().probe, "");
}

}  // namespace
}  // namespace llmfailover::policy
