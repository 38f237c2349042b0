// HealthProbe: the schedule (initial jitter, interval + jitter), the thresholds, fail-at-once on
// fatal_target and the startup rule, on a manual clock with a scripted random source.
#include "llmfailover/policy/probe.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace llmfailover::policy {
namespace {

using std::chrono::seconds;
using E = ErrorClass;
using P = ProbeStatus;

struct ProbeTest : ::testing::Test {
  HealthCheckConfig cfg;  // interval 30 s, jitter 10% (0..3 s), thresholds 3 / 2
  ManualClock clock;
  SequenceRandom random{{0.5}};

  ProbeTest() { cfg.enabled = true; }

  void fail(HealthProbe& p, int n) {
    for (int i = 0; i < n; ++i) p.on_result(E::retryable, "status 503");
  }
  void pass(HealthProbe& p, int n) {
    for (int i = 0; i < n; ++i) p.on_result(E::none);
  }
};

TEST_F(ProbeTest, FirstProbeComesWithinTheInitialJitter) {
  for (double u : {0.0, 0.5, 0.999}) {
    SequenceRandom r{{u}};
    HealthProbe p(cfg, clock, r);
    auto delay = p.next_at() - clock.now();
    EXPECT_GE(delay, Millis{0});
    EXPECT_LT(delay, Millis{3000});  // U(0, 30 s * 10%)
    EXPECT_EQ(std::chrono::duration_cast<Millis>(delay), Millis{static_cast<Millis::rep>(u * 3000)});
  }
  cfg.interval_jitter_percent = 0;
  HealthProbe none(cfg, clock, random);
  EXPECT_EQ(none.next_at(), clock.now());  // no jitter: at once
}

TEST_F(ProbeTest, LaterProbesComeAnIntervalPlusJitterAfterTheResult) {
  SequenceRandom r{{0.0, 0.25, 0.999, 0.0}};
  HealthProbe p(cfg, clock, r);
  EXPECT_EQ(p.next_at(), clock.now());  // first draw 0.0
  clock.advance(Millis{1200});          // the probe took 1.2 s: the interval starts at its result
  p.on_result(E::none);
  EXPECT_EQ(p.next_at(), clock.now() + Millis{30000 + 750});
  clock.set(p.next_at());
  p.on_result(E::retryable);  // failures keep the same spacing (no unhealthy_interval)
  EXPECT_EQ(p.next_at(), clock.now() + Millis{30000 + 2997});
  p.on_result(E::rate_limited);  // inconclusive results too
  EXPECT_EQ(p.next_at(), clock.now() + Millis{30000});
}

TEST_F(ProbeTest, StartsUnknownAndOnePassMakesItHealthy) {
  HealthProbe p(cfg, clock, random);
  EXPECT_EQ(p.status(), P::unknown);
  auto r = p.on_result(E::none, "status 200");
  EXPECT_TRUE(r.changed());
  EXPECT_EQ(r.from, P::unknown);
  EXPECT_EQ(r.to, P::healthy);
  EXPECT_EQ(r.reason, "first pass");
  // A second pass changes nothing.
  r = p.on_result(E::none);
  EXPECT_FALSE(r.changed());
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(p.consecutive_passes(), 2);
}

TEST_F(ProbeTest, UnhealthyAfterThresholdConsecutiveFailures) {
  HealthProbe p(cfg, clock, random);
  pass(p, 1);
  fail(p, 2);
  EXPECT_EQ(p.status(), P::healthy);
  pass(p, 1);  // a pass resets the failure count
  fail(p, 2);
  EXPECT_EQ(p.status(), P::healthy);
  EXPECT_EQ(p.consecutive_failures(), 2);
  auto r = p.on_result(E::retryable, "status 503");
  EXPECT_EQ(r.from, P::healthy);
  EXPECT_EQ(r.to, P::unhealthy);
  EXPECT_EQ(r.reason, "3 consecutive failures (status 503)");
  r = p.on_result(E::retryable);  // already unhealthy: no second transition
  EXPECT_FALSE(r.changed());
}

TEST_F(ProbeTest, FailuresAtStartupAlsoNeedTheThreshold) {
  HealthProbe p(cfg, clock, random);
  fail(p, 2);
  EXPECT_EQ(p.status(), P::unknown);  // presumed healthy until the threshold
  fail(p, 1);
  EXPECT_EQ(p.status(), P::unhealthy);
}

TEST_F(ProbeTest, HealthyAgainAfterThresholdConsecutivePasses) {
  HealthProbe p(cfg, clock, random);
  fail(p, 3);
  ASSERT_EQ(p.status(), P::unhealthy);
  pass(p, 1);
  fail(p, 1);  // resets the passes
  pass(p, 1);
  EXPECT_EQ(p.status(), P::unhealthy);
  auto r = p.on_result(E::none, "status 200");
  EXPECT_EQ(r.from, P::unhealthy);
  EXPECT_EQ(r.to, P::healthy);
  EXPECT_EQ(r.reason, "2 consecutive passes (status 200)");
}

TEST_F(ProbeTest, TimeoutsAndRefusedConnectionsAreFailures) {
  HealthProbe p(cfg, clock, random);
  p.on_result(E::retryable, "first_byte_timeout");
  p.on_result(E::transparent, "connect_refused");
  auto r = p.on_result(E::retryable, "deadline_exceeded");
  EXPECT_EQ(r.to, P::unhealthy);
}

TEST_F(ProbeTest, FatalTargetIsUnhealthyAtOnceIgnoringTheThreshold) {
  HealthProbe p(cfg, clock, random);
  pass(p, 1);
  auto r = p.on_result(E::fatal_target, "status 401: invalid_api_key");
  EXPECT_EQ(r.outcome, ProbeOutcome::fail_at_once);
  EXPECT_EQ(r.from, P::healthy);
  EXPECT_EQ(r.to, P::unhealthy);
  EXPECT_EQ(r.reason, "fatal_target (status 401: invalid_api_key): unhealthy at once");
  pass(p, 1);
  EXPECT_EQ(p.status(), P::unhealthy);  // coming back still needs healthy_threshold passes
  pass(p, 1);
  EXPECT_EQ(p.status(), P::healthy);
}

TEST_F(ProbeTest, RateLimitsAndCancellationsAreInconclusive) {
  HealthProbe p(cfg, clock, random);
  fail(p, 2);
  for (auto cls : {E::rate_limited, E::ignored}) {
    auto r = p.on_result(cls);
    EXPECT_EQ(r.outcome, ProbeOutcome::inconclusive);
    EXPECT_FALSE(r.changed());
  }
  EXPECT_EQ(p.consecutive_failures(), 2);  // counts untouched
  EXPECT_EQ(p.status(), P::unknown);
}

TEST_F(ProbeTest, ARequestLevelRejectionMeansTheUpstreamIsServing) {
  HealthProbe p(cfg, clock, random);
  fail(p, 3);
  pass(p, 1);
  auto r = p.on_result(E::fatal_request, "status 400: invalid_request");  // e.g. max_tokens refused
  EXPECT_EQ(r.outcome, ProbeOutcome::pass);
  EXPECT_EQ(r.to, P::healthy);
}

TEST_F(ProbeTest, ThresholdsOfOneActOnTheFirstResult) {
  cfg.unhealthy_threshold = 1;
  cfg.healthy_threshold = 1;
  HealthProbe p(cfg, clock, random);
  fail(p, 1);
  EXPECT_EQ(p.status(), P::unhealthy);
  pass(p, 1);
  EXPECT_EQ(p.status(), P::healthy);
}

TEST_F(ProbeTest, ResetForgetsTheStatusButKeepsTheSchedule) {
  HealthProbe p(cfg, clock, random);
  fail(p, 3);
  auto next = p.next_at();
  p.reset();
  EXPECT_EQ(p.status(), P::unknown);
  EXPECT_EQ(p.consecutive_failures(), 0);
  EXPECT_EQ(p.next_at(), next);
}

TEST_F(ProbeTest, DataPlaneUnlessAPathIsProbed) {
  HealthProbe completion(cfg, clock, random);
  EXPECT_TRUE(completion.data_plane());
  cfg.path = "/models";
  HealthProbe get(cfg, clock, random);
  EXPECT_FALSE(get.data_plane());
}

TEST_F(ProbeTest, InvalidConfigsThrow) {
  auto bad = [&](auto change) {
    HealthCheckConfig c = cfg;
    change(c);
    EXPECT_THROW(HealthProbe(c, clock, random), std::invalid_argument);
  };
  bad([](HealthCheckConfig& c) { c.interval = Millis{0}; });
  bad([](HealthCheckConfig& c) { c.timeout = Millis{0}; });
  bad([](HealthCheckConfig& c) { c.unhealthy_threshold = 0; });
  bad([](HealthCheckConfig& c) { c.healthy_threshold = 0; });
  bad([](HealthCheckConfig& c) { c.interval_jitter_percent = 101; });
  bad([](HealthCheckConfig& c) { c.interval_jitter_percent = -1; });
}

TEST(ProbeNames, Print) {
  EXPECT_EQ(to_string(ProbeStatus::unhealthy), "unhealthy");
  EXPECT_EQ(to_string(ProbeOutcome::fail_at_once), "fail_at_once");
  EXPECT_EQ(probe_outcome_of(ErrorClass::fatal_target), ProbeOutcome::fail_at_once);
}

}  // namespace
}  // namespace llmfailover::policy
