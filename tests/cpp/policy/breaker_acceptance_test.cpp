// The 27 acceptance scenarios of resilience.md 5.4, re-expressed from resilience4j's
// CircuitBreakerStateMachineTest, as one parameterised table: each row names its scenario, adjusts
// base config B and drives the breaker on a manual clock.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "llmfailover/policy/breaker.hpp"

namespace llmfailover::policy {

void PrintTo(BreakerState s, std::ostream* os) { *os << to_string(s); }

namespace {

using S = BreakerState;
using K = BreakerEvent::Kind;

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Base config B of resilience.md 5.4: failure 50%, slow 50% over 4 s, 4 half-open permits, time
// window 20 s with 5 minimum calls, a constant 5 s open wait, and no consecutive-failure trip (that
// is Finagle's, tested separately).
inline BreakerPolicyConfig config_b() {
  BreakerPolicyConfig c;
  c.failure_rate_threshold = 50;
  c.slow_call_rate_threshold = 50;
  c.slow_call_duration = seconds{4};
  c.half_open_permits = 4;
  c.window = BreakerPolicyConfig::Window::time_based;
  c.window_size = 20;
  c.minimum_calls = 5;
  c.open_base = seconds{5};
  c.open_multiplier = 1.0;
  c.open_jitter = 0;
  c.consecutive_failures = 0;
  c.max_wait_in_half_open = Millis{0};
  return c;
}

struct Harness {
  explicit Harness(const BreakerPolicyConfig& cfg, std::vector<double> draws = {0.5})
      : random(std::move(draws)), cb(cfg, clock, random) {
    cb.set_listener([this](const BreakerEvent& e) { events.push_back(e); });
  }

  // One permitted call with the given outcome and (synthetic) duration.
  void call(bool failure, Millis duration = Millis{0}) {
    EXPECT_TRUE(cb.try_acquire());
    if (failure) cb.on_failure(duration);
    else cb.on_success(duration);
  }
  void fail(Millis d = Millis{0}) { call(true, d); }
  void succeed(Millis d = Millis{0}) { call(false, d); }
  void ignored() {
    EXPECT_TRUE(cb.try_acquire());
    cb.on_ignored();
  }

  // Opens the breaker, waits out the open wait, and forgets the events so far.
  void half_open() {
    cb.transition_to(BreakerState::open);
    clock.set(*cb.next_transition_at());
    ASSERT_EQ(cb.state(), BreakerState::half_open);
    events.clear();
  }

  int count(BreakerEvent::Kind kind) const {
    int n = 0;
    for (const auto& e : events) n += e.kind == kind ? 1 : 0;
    return n;
  }
  std::vector<std::pair<BreakerState, BreakerState>> transitions() const {
    std::vector<std::pair<BreakerState, BreakerState>> out;
    for (const auto& e : events)
      if (e.kind == BreakerEvent::Kind::state_transition) out.emplace_back(e.from, e.to);
    return out;
  }
  std::vector<bool> acquire(int n) {
    std::vector<bool> out;
    for (int i = 0; i < n; ++i) out.push_back(cb.try_acquire());
    return out;
  }

  ManualClock clock;
  SequenceRandom random;
  CircuitBreaker cb;
  std::vector<BreakerEvent> events;
};

struct Scenario {
  const char* name;
  std::function<void(BreakerPolicyConfig&)> configure;
  std::function<void(Harness&)> run;
};

void keep_b(BreakerPolicyConfig&) {}

const std::vector<Scenario>& scenarios();

class BreakerAcceptance : public ::testing::TestWithParam<Scenario> {};

TEST_P(BreakerAcceptance, Scenario) {
  auto cfg = config_b();
  GetParam().configure(cfg);
  auto h = std::make_unique<Harness>(cfg);
  GetParam().run(*h);
}

INSTANTIATE_TEST_SUITE_P(BreakerResilience54, BreakerAcceptance, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return std::string(info.param.name); });

// clang-format off
const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> table = {
{"S01_BelowMinimumCallsRateUnknown", keep_b, [](Harness& h) {
  h.fail(); h.fail(); h.fail();
  EXPECT_EQ(h.cb.state(), S::closed);
  auto m = h.cb.metrics();
  EXPECT_EQ(m.failure_rate, -1);
  EXPECT_EQ(m.buffered, 3);
  EXPECT_EQ(m.failed, 3);
}},
{"S02_FailureRateOpensOnFifthCall", keep_b, [](Harness& h) {
  h.fail(); h.fail(); h.fail(); h.succeed();
  EXPECT_EQ(h.cb.state(), S::closed);
  h.succeed();
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.count(K::failure_rate_exceeded), 1);
  EXPECT_EQ(h.transitions(), (std::vector<std::pair<S, S>>{{S::closed, S::open}}));
  EXPECT_EQ(h.events.back().reason, "failure_rate 60% >= 50%");
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.metrics().not_permitted, 1);
  EXPECT_EQ(h.cb.metrics().failure_rate, 60);
}},
{"S03_ThresholdUsesGreaterOrEqual", keep_b, [](Harness& h) {
  for (bool failure : {false, false, false, true, true}) {
    h.call(failure);
    h.clock.advance(seconds{1});
  }
  EXPECT_EQ(h.cb.state(), S::closed);
  EXPECT_EQ(h.cb.metrics().failure_rate, 40);
  h.fail();  // 3 of 6 = 50%
  EXPECT_EQ(h.cb.state(), S::open);
}},
{"S04_SlowCallRateOpens", keep_b, [](Harness& h) {
  h.fail(seconds{5}); h.succeed(seconds{5}); h.fail(milliseconds{100}); h.succeed(milliseconds{100});
  EXPECT_EQ(h.cb.state(), S::closed);
  h.succeed(seconds{5});
  EXPECT_EQ(h.cb.state(), S::open);
  auto m = h.cb.metrics();
  EXPECT_EQ(m.slow_rate, 60);
  EXPECT_EQ(m.failure_rate, 40);
  EXPECT_EQ(h.count(K::slow_call_rate_exceeded), 1);
  EXPECT_EQ(h.count(K::failure_rate_exceeded), 0);
}},
{"S05_MeasuredDurationsClassifySlowCalls", keep_b, [](Harness& h) {
  for (auto d : {seconds{5}, seconds{5}, seconds{1}, seconds{1}, seconds{5}}) {
    auto start = h.clock.now();
    ASSERT_TRUE(h.cb.try_acquire());
    h.clock.advance(d);  // the wrapped call takes this long
    h.cb.on_success(std::chrono::duration_cast<Millis>(h.clock.now() - start));
  }
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.cb.metrics().slow_rate, 60);
}},
{"S06_OpenRejects", keep_b, [](Harness& h) {
  h.cb.transition_to(S::open);
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.cb.metrics().not_permitted, 1);
}},
{"S07_ForcedOpenNeverHalfOpens", keep_b, [](Harness& h) {
  h.cb.force_open();
  h.clock.advance(seconds{6});
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::forced_open);
  EXPECT_EQ(h.cb.metrics().not_permitted, 2);
  EXPECT_EQ(h.cb.next_transition_at(), std::nullopt);
}},
{"S08_OpenWaitThenHalfOpen", keep_b, [](Harness& h) {
  h.cb.transition_to(S::open);
  h.clock.advance(seconds{3});
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::open);
  h.clock.advance(seconds{3});
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::half_open);
  EXPECT_EQ(h.cb.metrics(), BreakerMetrics{});  // fresh metrics
}},
{"S09_OpenFor", keep_b, [](Harness& h) {
  h.cb.open_for(hours{2});
  h.clock.advance(hours{1});
  EXPECT_FALSE(h.cb.try_acquire());
  h.clock.advance(hours{1} + seconds{1});
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::half_open);
}},
{"S10_OpenUntil", keep_b, [](Harness& h) {
  auto t0 = h.clock.now();
  h.cb.open_until(t0 + minutes{30});
  h.clock.advance(minutes{15});
  EXPECT_FALSE(h.cb.try_acquire());
  h.clock.set(t0 + minutes{30} + milliseconds{1});
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::half_open);
}},
{"S11_OpenWaitGrowsWithAttempts", [](BreakerPolicyConfig& c) { c.open_multiplier = 1.5; }, [](Harness& h) {
  h.cb.transition_to(S::open);
  EXPECT_EQ(h.cb.attempts(), 1);
  h.clock.advance(seconds{6});
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::half_open);
  h.cb.transition_to(S::open);  // re-open: attempts 2, wait 5 s * 1.5 = 7.5 s
  EXPECT_EQ(h.cb.attempts(), 2);
  EXPECT_EQ(h.cb.next_transition_at(), h.clock.now() + milliseconds{7500});
  h.clock.advance(seconds{6});
  EXPECT_FALSE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::open);
  h.clock.advance(seconds{5});
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_EQ(h.cb.state(), S::half_open);
}},
{"S12_HalfOpenPermitsAndRelease", keep_b, [](Harness& h) {
  h.half_open();
  EXPECT_EQ(h.acquire(6), (std::vector<bool>{true, true, true, true, false, false}));
  EXPECT_EQ(h.cb.metrics().not_permitted, 2);
  h.cb.release();
  EXPECT_TRUE(h.cb.try_acquire());
  EXPECT_FALSE(h.cb.try_acquire());
}},
{"S13_PermitCounterResetsOnReentry", keep_b, [](Harness& h) {
  h.half_open();
  EXPECT_EQ(h.acquire(4), (std::vector<bool>{true, true, true, true}));
  h.half_open();
  EXPECT_EQ(h.acquire(6), (std::vector<bool>{true, true, true, true, false, false}));
}},
{"S14_HalfOpenFailuresReopen", keep_b, [](Harness& h) {
  h.half_open();
  h.fail(); h.fail(); h.succeed(); h.fail();
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.cb.metrics().failure_rate, 75);
  EXPECT_EQ(h.transitions(), (std::vector<std::pair<S, S>>{{S::half_open, S::open}}));
}},
{"S15_HalfOpenSlowCallsReopen", keep_b, [](Harness& h) {
  h.half_open();
  h.succeed(seconds{5}); h.succeed(seconds{5}); h.succeed(seconds{5}); h.succeed(seconds{1});
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.cb.metrics().slow_rate, 75);
  EXPECT_EQ(h.cb.metrics().failure_rate, 0);
}},
{"S16_HalfOpenClosesBelowThreshold", keep_b, [](Harness& h) {
  h.half_open();
  h.fail(); h.succeed(); h.succeed(); h.succeed();
  EXPECT_EQ(h.cb.state(), S::closed);
  EXPECT_EQ(h.events.back().reason, "half_open: failure_rate 25% < 50%, slow_call_rate 0% < 50%");
  EXPECT_EQ(h.cb.metrics().buffered, 0);
  EXPECT_EQ(h.cb.attempts(), 0);
  h.succeed();
  EXPECT_EQ(h.cb.metrics().buffered, 1);
}},
{"S17_IgnoredReleasesPermitWithoutCounting", keep_b, [](Harness& h) {
  h.half_open();
  h.succeed(); h.succeed(); h.succeed();
  h.ignored();
  EXPECT_EQ(h.cb.state(), S::half_open);
  EXPECT_EQ(h.cb.metrics().buffered, 3);
  h.fail();
  EXPECT_EQ(h.cb.state(), S::closed);  // 4 calls, 25%
}},
{"S18_OnlyIgnoredKeepsHalfOpen", keep_b, [](Harness& h) {
  h.half_open();
  for (int i = 0; i < 4; ++i) h.ignored();
  EXPECT_EQ(h.cb.state(), S::half_open);
  EXPECT_EQ(h.cb.metrics().buffered, 0);
  for (int i = 0; i < 3; ++i) h.succeed();
  EXPECT_EQ(h.cb.state(), S::half_open);
  h.succeed();
  EXPECT_EQ(h.cb.state(), S::closed);
}},
{"S19_ClosedToHalfOpenIsIllegal", keep_b, [](Harness& h) {
  EXPECT_THROW(h.cb.transition_to(S::half_open), std::logic_error);
  EXPECT_EQ(h.cb.state(), S::closed);
  EXPECT_TRUE(h.events.empty());
  h.cb.metrics_only();
  EXPECT_THROW(h.cb.transition_to(S::open), std::logic_error);
  EXPECT_THROW(h.cb.open_for(seconds{1}), std::logic_error);
  EXPECT_THROW(h.cb.transition_to(S::half_open), std::logic_error);
  EXPECT_EQ(h.cb.state(), S::metrics_only);
}},
{"S20_ResetClosesWithFreshMetrics", keep_b, [](Harness& h) {
  h.fail(); h.fail(); h.fail(); h.fail(); h.fail();
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_FALSE(h.cb.try_acquire());
  h.events.clear();
  h.cb.reset();
  EXPECT_EQ(h.cb.state(), S::closed);
  EXPECT_EQ(h.cb.metrics(), BreakerMetrics{});
  EXPECT_EQ(h.cb.attempts(), 0);
  EXPECT_EQ(h.count(K::reset), 1);
  EXPECT_EQ(h.transitions(), (std::vector<std::pair<S, S>>{{S::open, S::closed}}));
}},
{"S21_DisabledPermitsAndRecordsNothing", [](BreakerPolicyConfig& c) { c.initial_state = "disabled"; },
 [](Harness& h) {
  for (int i = 0; i < 10; ++i) h.fail();
  EXPECT_EQ(h.cb.state(), S::disabled);
  EXPECT_EQ(h.cb.metrics(), BreakerMetrics{});
  EXPECT_TRUE(h.events.empty());
}},
{"S22_MetricsOnlyNeverOpensPublishesOnce", [](BreakerPolicyConfig& c) { c.initial_state = "metrics_only"; },
 [](Harness& h) {
  h.fail(); h.fail(); h.fail(); h.succeed(); h.succeed();
  EXPECT_EQ(h.cb.metrics().failure_rate, 60);
  h.fail();
  EXPECT_EQ(h.cb.state(), S::metrics_only);
  EXPECT_EQ(h.count(K::failure_rate_exceeded), 1);
  EXPECT_TRUE(h.transitions().empty());
}},
{"S23_MaxWaitInHalfOpenReopens", [](BreakerPolicyConfig& c) { c.max_wait_in_half_open = seconds{1}; },
 [](Harness& h) {
  h.half_open();
  EXPECT_EQ(h.cb.next_transition_at(), h.clock.now() + seconds{1});
  h.clock.advance(milliseconds{999});
  EXPECT_EQ(h.cb.state(), S::half_open);
  h.clock.advance(milliseconds{1});
  EXPECT_EQ(h.cb.state(), S::open);
  EXPECT_EQ(h.cb.attempts(), 2);
}},
{"S24_TimerIsCancelledByForceOpen", [](BreakerPolicyConfig& c) { c.open_base = seconds{2}; }, [](Harness& h) {
  auto t0 = h.clock.now();
  h.cb.transition_to(S::open);
  EXPECT_EQ(h.cb.next_transition_at(), t0 + milliseconds{2000});  // the timer, 2000 ms
  h.clock.set(*h.cb.next_transition_at());                         // it fires
  EXPECT_EQ(h.cb.state(), S::half_open);

  h.cb.transition_to(S::open);
  ASSERT_TRUE(h.cb.next_transition_at().has_value());
  h.cb.force_open();
  EXPECT_EQ(h.cb.next_transition_at(), std::nullopt);  // cancelled
  h.clock.advance(seconds{2});
  EXPECT_EQ(h.cb.state(), S::forced_open);  // it never fires
}},
{"S25_CallerClassifiesRecordedAndIgnored",
 [](BreakerPolicyConfig& c) { c.window = BreakerPolicyConfig::Window::count_based; c.window_size = 5; },
 [](Harness& h) {
  h.fail();     // a recorded error
  h.succeed();  // an error that record_if rejects counts as a success
  auto m = h.cb.metrics();
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.successes, 1);
  EXPECT_EQ(m.buffered, 2);
  h.cb.reset();
  h.fail();
  h.ignored();  // an ignored error
  m = h.cb.metrics();
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.buffered, 1);
}},
{"S26_TimeWindowEvictsBuckets", [](BreakerPolicyConfig& c) { c.window_size = 5; }, [](Harness& h) {
  h.succeed(); h.fail(); h.succeed();
  h.clock.advance(seconds{4});
  EXPECT_EQ(h.cb.metrics().buffered, 3);
  h.clock.advance(seconds{1});
  EXPECT_EQ(h.cb.metrics().buffered, 0);
  EXPECT_EQ(h.cb.metrics().failed, 0);
  h.succeed();
  EXPECT_EQ(h.cb.metrics().buffered, 1);
}},
{"S27_CountWindowClampsMinimumCalls",
 [](BreakerPolicyConfig& c) {
   c.window = BreakerPolicyConfig::Window::count_based; c.window_size = 5; c.minimum_calls = 100;
 },
 [](Harness& h) {
  h.fail(); h.fail(); h.fail(); h.succeed();
  EXPECT_EQ(h.cb.metrics().failure_rate, -1);
  h.succeed();
  EXPECT_EQ(h.cb.metrics().failure_rate, 60);
  EXPECT_EQ(h.cb.state(), S::open);
}},
  };
  return table;
}
// clang-format on

TEST(BreakerAcceptanceTable, HasAll27Scenarios) { EXPECT_EQ(scenarios().size(), 27u); }

}  // namespace
}  // namespace llmfailover::policy
