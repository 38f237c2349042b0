// Hedged requests (issue 11; policy/failover.hpp hedge()) on virtual time: group "main" holds the
// primary (host a, weight 3: the draw 0.5 picks it first) and a sibling (host s), falling back to
// "backup" (host b). With hedging on, a primary without a first token after the delay gets a
// hedge on the sibling; the first to answer wins and the other is cancelled. Exact attempt times
// per host and the route log are asserted, and no exchange or timer is left behind.
#include <gtest/gtest.h>

#include "router/sim_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

class Hedging : public SimWorld {
 protected:
  static RouterConfig hedged(std::optional<Millis> delay) {
    RouterConfig c = chain();
    c.deployments[0].weight = 3;
    c.deployments.push_back(deployment("sibling", "main", "s"));
    c.defaults.hedge.enabled = true;
    c.defaults.hedge.delay = delay;
    return c;
  }
  void fresh(RouterConfig c) {
    sim = std::make_shared<SimTransport>(clock);
    build(std::move(c));
  }
  // Nothing left running once the call ended: every exchange and timer of it is gone.
  void expect_quiet() {
    sim->advance(Millis{60000});
    EXPECT_EQ(sim->pending(), 0u);
  }
};

TEST_F(Hedging, ASlowPrimaryLosesToTheHedgeAtDelayPlusItsLatency) {
  for (auto [delay, latency] : {std::pair{300ms, 40ms}, {1000ms, 0ms}, {50ms, 700ms}}) {
    SCOPED_TRACE(std::to_string(delay.count()) + " ms delay, " + std::to_string(latency.count()) + " ms sibling");
    fresh(hedged(delay));
    sim->script("a", {SimReply::answer(all_words(), 20s)});
    sim->script("s", {SimReply::answer(all_words(), latency)});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(o.served->target, "sibling");
    EXPECT_EQ(o.took, delay + latency);
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("s", t0), Ms{delay});
    ASSERT_EQ(o.log.size(), 2u);
    EXPECT_EQ(o.log[0].target, "primary");
    EXPECT_EQ(o.log[0].decision, "hedge_cancelled");
    EXPECT_EQ(o.log[0].elapsed_ms, static_cast<double>((delay + latency).count()));
    EXPECT_EQ(o.log[1].pick, "hedge");
    EXPECT_EQ(o.log[1].started_ms, static_cast<double>(delay.count()));
    EXPECT_EQ(o.log[1].decision, "served");
    expect_quiet();
  }
}

TEST_F(Hedging, AStreamWithoutAFirstTokenLosesToTheHedgesFirstToken) {
  for (auto [delay, latency] : {std::pair{300ms, 40ms}, {2000ms, 10ms}}) {
    fresh(hedged(delay));
    sim->script("a", {words(15s)});  // headers at once, the first token after 15 s
    sim->script("s", {words(latency, 5ms)});
    const Millis t0 = sim->elapsed();
    auto o = call(true);
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(o.served->target, "sibling");
    EXPECT_EQ(since("s", t0), Ms{delay});
    EXPECT_EQ(o.took, delay + latency + 7 * 5ms);
    EXPECT_EQ(o.log[0].decision, "hedge_cancelled");
    EXPECT_EQ(o.log[0].elapsed_ms, static_cast<double>((delay + latency).count()));
    EXPECT_EQ(o.log[1].elapsed_ms, static_cast<double>(latency.count()));  // a stream's attempt ends at its first token
    expect_quiet();
  }
}

TEST_F(Hedging, AFastPrimarySendsNoHedge) {
  for (bool stream : {false, true}) {
    fresh(hedged(300ms));
    sim->script("a", {stream ? words(299ms, 400ms) : SimReply::answer(all_words(), 299ms)});
    auto o = call(stream);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "primary");
    EXPECT_EQ(sim->count("s"), 0u);  // committed (stream) or answered before the delay
    EXPECT_EQ(o.log.size(), 1u);
    expect_quiet();
  }
}

TEST_F(Hedging, OffByDefault) {
  auto c = hedged(300ms);
  c.defaults.hedge = HedgePolicyConfig{};
  fresh(c);
  sim->script("a", {SimReply::answer("hi", 5s)});
  auto o = call(false);
  EXPECT_EQ(o.served->target, "primary");
  EXPECT_EQ(o.took, 5s);
  EXPECT_EQ(sim->count("s"), 0u);
}

TEST_F(Hedging, AnEmptyRetryBudgetSendsNoHedge) {
  auto c = hedged(300ms);
  c.defaults.budget.percent_can_retry = 0;
  c.defaults.budget.min_retries_per_sec = 0;
  fresh(c);
  sim->script("a", {SimReply::answer("hi", 5s)});
  auto o = call(false);
  EXPECT_EQ(o.served->target, "primary");
  EXPECT_EQ(o.took, 5s);
  EXPECT_EQ(sim->count("s"), 0u);
  expect_quiet();
}

TEST_F(Hedging, TheDelayIsThePrimarysP95WithAFloor) {
  for (Millis normal : {20ms, 400ms}) {
    fresh(hedged(std::nullopt));
    warm(false, normal);  // three answers in `normal`: the p95 is `normal`
    sim->script("a", {SimReply::answer("late", 20s)});
    sim->script("s", {SimReply::answer("hi", 30ms)});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.served->target, "sibling");
    const Millis delay = std::max(normal, policy::kHedgeMinDelay);
    EXPECT_EQ(since("s", t0), Ms{delay});
    EXPECT_EQ(o.took, delay + 30ms);
  }
}

TEST_F(Hedging, AColdPrimaryIsHedgedAfterTheColdDelay) {
  fresh(hedged(std::nullopt));
  sim->script("a", {SimReply::answer("late", 20s)});
  sim->script("s", {SimReply::answer("hi", 30ms)});
  auto o = call(false);
  EXPECT_EQ(o.served->target, "sibling");
  EXPECT_EQ(o.took, policy::kHedgeColdDelay + 30ms);
}

TEST_F(Hedging, AFailedHedgeLeavesThePrimaryRunning) {
  fresh(hedged(300ms));
  sim->script("a", {SimReply::answer("hi", 2s)});
  sim->script("s", {SimReply::error(503, 100ms)});
  auto o = call(false);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.served->target, "primary");
  EXPECT_EQ(o.took, 2s);
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].decision, "served");
  EXPECT_EQ(o.log[1].decision, "hedge_failed");
  EXPECT_EQ(o.log[1].status, 503);
  expect_quiet();
}

TEST_F(Hedging, APrimaryFailingWhileTheHedgeRunsHandsOverToIt) {
  fresh(hedged(300ms));
  sim->script("a", {SimReply::error(500, 500ms)});
  sim->script("s", {SimReply::answer("hi", 1000ms)});
  const Millis t0 = sim->elapsed();
  auto o = call(false);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.served->target, "sibling");
  EXPECT_EQ(o.took, 1300ms);  // the hedge's own answer: no new attempt, no backoff
  EXPECT_EQ(since("a", t0), Ms{0ms});
  EXPECT_EQ(since("s", t0), Ms{300ms});
  EXPECT_EQ(o.log[0].decision, "to_hedge");
  EXPECT_EQ(o.log[1].decision, "served");
  expect_quiet();
}

TEST_F(Hedging, BothFailingContinueTheNormalFailover) {
  fresh(hedged(300ms));
  sim->set_default("a", SimReply::error(503, 500ms));
  sim->set_default("s", SimReply::error(503, 1000ms));
  sim->script("b", {SimReply::answer("hi", 50ms)});
  const Millis t0 = sim->elapsed();
  auto o = call(false);
  ASSERT_EQ(o.status(), 200) << o.text();
  EXPECT_EQ(o.served->target, "backup");
  // a at 0 fails at 500 ms: the hedge (sent at 300 ms) is taken; it fails at 1300 ms; then the
  // ordinary rules over two tried targets: backoff 250 ms to the primary, 500 ms to it again,
  // 250 ms to the sibling (its second), 500 ms to it again, then the fallback group at once.
  EXPECT_EQ(since("a", t0), (Ms{0ms, 1550ms, 2550ms}));
  EXPECT_EQ(since("s", t0), (Ms{300ms, 3300ms, 4800ms}));
  EXPECT_EQ(since("b", t0), Ms{5800ms});
  EXPECT_EQ(o.took, 5850ms);
  EXPECT_EQ(o.log[0].decision, "to_hedge");
  EXPECT_EQ(o.log[1].pick, "hedge");
  expect_quiet();
}

TEST_F(Hedging, ACallerCancelEndsBothAttempts) {
  fresh(hedged(300ms));
  sim->script("a", {SimReply::answer("late", 20s)});
  sim->script("s", {SimReply::answer("late", 20s)});
  auto c = router->send(request(false));
  sim->advance(500ms);
  c->channel().cancel();
  sim->advance(1s);
  const auto log = c->route_log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].decision, "cancelled");
  EXPECT_EQ(log[1].decision, "hedge_cancelled");
  c.reset();
  expect_quiet();
}

}  // namespace
}  // namespace llmfailover
