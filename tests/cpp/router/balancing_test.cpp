// Load balancing through the router (issue 4) against the in-process FakeProvider: weights,
// latency-aware picks, the 429 penalty, shedding at a concurrency cap, rpm quotas, header-driven
// steering and the pick reasons in the route log. Real clock: bounds are generous.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "llmfailover/router.hpp"
#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using testing::FakeProvider;
using testing::Fault;

struct Result {
  std::vector<Event> events;
  std::vector<RouteAttempt> log;
  std::optional<RouteAttempt> served;
};

class BalancingTest : public ::testing::Test {
 protected:
  FakeProvider fp;

  DeploymentConfig deployment(const std::string& model, double weight = 1.0) {
    DeploymentConfig d;
    d.id = model;
    d.group = "smart";
    d.model = model;
    d.base_url = fp.base_url();
    d.api_keys = {Secret("sk-test")};
    d.weight = weight;
    return d;
  }

  RouterConfig config(std::vector<DeploymentConfig> deps) {
    RouterConfig c;
    c.deployments = std::move(deps);
    c.defaults.timeouts.first_token = 2s;
    c.defaults.timeouts.deadline = 5s;
    c.defaults.retry.backoff_base = 10ms;
    c.defaults.retry.backoff_cap = 50ms;
    return c;
  }

  static std::shared_ptr<Random> first() { return std::make_shared<SequenceRandom>(std::vector<double>{0.0}); }

  static std::shared_ptr<RoutedCall> start(Router& router) {
    RouteRequest r;
    r.model = "smart";
    r.call.path = "/chat/completions";
    r.call.body = R"({"model":"smart","messages":[{"role":"user","content":"hello there"}],"max_tokens":10})";
    return router.send(r);
  }

  static Result finish(const std::shared_ptr<RoutedCall>& call) {
    Result o;
    auto until = Clock::now() + 10s;
    while ((o.events.empty() || !o.events.back().terminal()) && Clock::now() < until)
      call->channel().wait(o.events, 1s);
    o.log = call->route_log();
    o.served = call->served();
    return o;
  }

  static Result run(Router& router) { return finish(start(router)); }

  static std::string served_by(Router& router) {
    auto o = run(router);
    return o.served ? o.served->target : "";
  }

  static TargetSnapshot snap(Router& router, const std::string& target) {
    for (auto& s : router.snapshot())
      if (s.target == target) return s;
    ADD_FAILURE() << "no target " << target;
    return {};
  }
};

TEST_F(BalancingTest, WeightsSplitTrafficWithinStatisticalBounds) {
  Router router(config({deployment("a", 3), deployment("b", 1)}), {}, nullptr, std::make_shared<SeededRandom>(7));
  std::map<std::string, int> n;
  const int total = 400;
  for (int i = 0; i < total; ++i) ++n[served_by(router)];
  EXPECT_EQ(n["a"] + n["b"], total);
  // P(a) = 0.75; sd = sqrt(400 * 0.75 * 0.25) = 8.7: +-5 sd
  EXPECT_GT(n["a"], 300 - 44) << n["a"];
  EXPECT_LT(n["a"], 300 + 44) << n["a"];
  EXPECT_EQ(snap(router, "a").strategy, "weighted_random");
}

TEST_F(BalancingTest, RoundRobinFromGroupPolicyAlternates) {
  auto c = config({deployment("a"), deployment("b")});
  c.defaults.balancer.strategy = "round_robin";
  Router router(c, {}, nullptr, first());
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) order.push_back(served_by(router));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a", "b"}));
}

TEST_F(BalancingTest, LatencyAwarePicksLeaveASlowTargetAndComeBackAfterRecovery) {
  auto c = config({deployment("a"), deployment("b")});
  c.routing_strategy = "latency-based-routing";
  c.defaults.balancer.ewma_decay = 300ms;
  c.defaults.balancer.default_rtt = 20ms;
  Router router(c, {}, nullptr, std::make_shared<SeededRandom>(11));
  // A realistic floor for both (latencies are whole milliseconds: a local answer in < 1 ms would
  // read as 0 and pin the estimate of whichever target answers it at 0).
  fp.set_default("a", Fault::slow_headers(5ms));
  fp.set_default("b", Fault::slow_headers(5ms));
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(served_by(router).empty());  // both learn a fast latency

  fp.set_default("a", Fault::slow_headers(200ms));
  int slow = 0;
  for (int i = 0; i < 40; ++i) slow += served_by(router) == "a";
  // After its first slow answer a's estimate jumps to 200 ms and decays with tau = 300 ms toward
  // b's few ms: about one probe per second of traffic.
  EXPECT_LE(slow, 4) << "requests to the slow target";
  EXPECT_GE(snap(router, "a").ewma_ms, snap(router, "b").ewma_ms);

  fp.set_default("a", Fault::slow_headers(5ms));
  // Back: within a bounded time the recovered target takes a fair part of the traffic again.
  auto until = Clock::now() + 8s;
  std::vector<std::string> recent;
  bool back = false;
  while (Clock::now() < until && !back) {
    recent.push_back(served_by(router));
    std::this_thread::sleep_for(5ms);
    if (recent.size() >= 40) {
      int a = static_cast<int>(std::count(recent.end() - 40, recent.end(), "a"));
      back = a >= 10;
    }
  }
  EXPECT_TRUE(back) << "the recovered target did not get traffic back: a " << snap(router, "a").ewma_ms << " ms, b "
                    << snap(router, "b").ewma_ms << " ms";
}

TEST_F(BalancingTest, RateLimitAnswersArePenalisedLikeAHighLatency) {
  auto c = config({deployment("a"), deployment("b")});
  c.routing_strategy = "latency-based-routing";
  c.defaults.balancer.default_rtt = 1ms;
  Router router(c, {}, nullptr, first());
  fp.script("a", {Fault::rate_limited(0.05)});
  // u = 0: the first draw is a; both at the prior, a wins the tie and answers 429 at once.
  auto o = run(router);
  ASSERT_TRUE(o.served);
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].target, "a");
  EXPECT_EQ(o.log[0].status, 429);
  EXPECT_EQ(o.served->target, "b");
  EXPECT_GE(snap(router, "a").ewma_ms, 4000.0);  // the 5 s synthetic sample, barely decayed
  std::this_thread::sleep_for(100ms);            // the cooldown (Retry-After 50 ms) is over
  int to_a = 0;
  for (int i = 0; i < 10; ++i) to_a += served_by(router) == "a";
  EXPECT_EQ(to_a, 0) << "a fast 429 must not attract traffic";
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(BalancingTest, ConcurrencyCapShedsToTheNextTargetAtOnce) {
  auto a = deployment("a");
  a.max_concurrency = 1;
  Router router(config({a, deployment("b")}), {}, nullptr, first());
  fp.set_default("a", Fault::slow_headers(400ms));
  auto slow = start(router);
  auto until = Clock::now() + 2s;
  while (fp.attempts("a").empty() && Clock::now() < until) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(fp.attempts("a").size(), 1u);
  EXPECT_EQ(snap(router, "a").deployment_in_flight, 1);

  auto t0 = Clock::now();
  auto o = run(router);
  EXPECT_LT(Clock::now() - t0, 300ms) << "shed at once, not queued behind the slow call";
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->target, "b");
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_NE(o.log[0].skipped.find("'a' shed"), std::string::npos) << o.log[0].skipped;
  EXPECT_EQ(snap(router, "a").shed, 1);

  auto first_call = finish(slow);
  ASSERT_TRUE(first_call.served);
  EXPECT_EQ(first_call.served->target, "a");
  EXPECT_EQ(snap(router, "a").deployment_in_flight, 0);
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(BalancingTest, ConcurrencyCapOnTheOnlyTargetFailsFastWithNoTarget) {
  auto a = deployment("a");
  a.max_concurrency = 1;
  Router router(config({a}), {}, nullptr, first());
  fp.set_default("a", Fault::slow_headers(300ms));
  auto slow = start(router);
  auto until = Clock::now() + 2s;
  while (fp.attempts("a").empty() && Clock::now() < until) std::this_thread::sleep_for(2ms);
  auto o = run(router);
  ASSERT_FALSE(o.events.empty());
  ASSERT_EQ(o.events.back().kind, Event::Kind::error);
  EXPECT_EQ(o.events.back().error.code, Errc::no_target);
  EXPECT_NE(o.events.back().error.message.find("max_concurrency"), std::string::npos) << o.events.back().error.message;
  EXPECT_TRUE(finish(slow).served);
}

TEST_F(BalancingTest, RpmQuotaSkipsTheTargetBeforeSending) {
  auto a = deployment("a");
  a.rpm = 2;
  Router router(config({a, deployment("b")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");
  EXPECT_EQ(snap(router, "a").requests_left, 1);
  EXPECT_EQ(served_by(router), "a");
  auto o = run(router);
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->target, "b");
  EXPECT_NE(o.log[0].skipped.find("'a' over its quota"), std::string::npos) << o.log[0].skipped;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(served_by(router), "b");  // blocked until the window frees
  EXPECT_EQ(fp.attempts("a").size(), 2u);
  auto s = snap(router, "a");
  EXPECT_EQ(s.requests_left, 0);
  EXPECT_FALSE(s.available);
  EXPECT_GT(s.blocked_for_ms, 50000.0);
}

TEST_F(BalancingTest, TpmQuotaCountsTheEstimateAndCorrectsItFromUsage) {
  auto a = deployment("a");
  a.tpm = 100000;
  Router router(config({a}), {}, nullptr, first());
  fp.set_default("a", Fault::slow_headers(300ms));
  RouteRequest r;
  r.model = "smart";
  r.call.path = "/chat/completions";
  r.call.body = R"({"model":"smart","messages":[{"role":"user","content":"hello there"}],"max_tokens":5000})";
  auto call = router.send(r);
  auto until = Clock::now() + 2s;
  while (fp.attempts("a").empty() && Clock::now() < until) std::this_thread::sleep_for(2ms);
  // Before the answer the window holds the estimate: ceil(chars / 4) + max_tokens 5,000 ...
  EXPECT_LE(snap(router, "a").tokens_left, 100000 - 5000);
  ASSERT_TRUE(finish(call).served);
  // ... and after it the fake's reported usage (a few tokens) replaces it.
  auto s = snap(router, "a");
  EXPECT_GT(s.tokens_left, 100000 - 100);
  EXPECT_LT(s.tokens_left, 100000);
}

TEST_F(BalancingTest, ADeploymentsWeightIsSplitOverItsKeys) {
  auto a = deployment("a");
  a.api_keys = {Secret("sk-0"), Secret("sk-1"), Secret("sk-2")};
  Router router(config({a, deployment("b")}), {}, nullptr, std::make_shared<SeededRandom>(7));
  EXPECT_NEAR(snap(router, "a#key0").weight, 1.0 / 3, 1e-9);
  EXPECT_NEAR(snap(router, "a#key2").pick_share, 1.0 / 6, 1e-9);
  EXPECT_NEAR(snap(router, "b").pick_share, 0.5, 1e-9);
  // Equal deployment weights: a (all three keys) and b share the traffic about evenly.
  int n = 400, to_a = 0;
  for (int i = 0; i < n; ++i) to_a += served_by(router).rfind("a#", 0) == 0;
  EXPECT_GT(to_a, 140) << "binomial(400, 0.5): mean 200, sd 10";
  EXPECT_LT(to_a, 260);
}

TEST_F(BalancingTest, ALiveStreamCountsAsInFlightUntilItEnds) {
  auto a = deployment("a");
  a.max_concurrency = 1;
  Router router(config({a, deployment("b")}), {}, nullptr, first());
  Fault slow;
  slow.chunk_delay = 60ms;
  fp.set_default("a", slow);
  RouteRequest r;
  r.model = "smart";
  r.stream = true;
  r.call.path = "/chat/completions";
  r.call.body = R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"hello there"}]})";
  auto call = router.send(r);
  std::vector<Event> events;
  auto until = Clock::now() + 3s;
  while (events.size() < 2 && Clock::now() < until) call->channel().wait(events, 1s);  // head + a chunk
  ASSERT_GE(events.size(), 2u);
  ASSERT_EQ(events[0].status, 200);
  auto live = snap(router, "a");
  EXPECT_EQ(live.in_flight, 1);
  EXPECT_EQ(live.balancer_in_flight, 1) << "past its first token the stream still loads its target";
  EXPECT_EQ(live.deployment_in_flight, 1);
  // At its cap, a is out of the balancer (synced when the stream committed): picks do not draw
  // it (u = 0 would take it first), so nothing is shed or skipped.
  EXPECT_FALSE(snap(router, "a").available);
  for (int i = 0; i < 2; ++i) {
    auto o = run(router);
    ASSERT_TRUE(o.served);
    EXPECT_EQ(o.served->target, "b");
    EXPECT_EQ(o.log[0].skipped, "") << "a was drawn while at its cap";
  }
  auto done = finish(call);
  ASSERT_EQ(done.events.back().kind, Event::Kind::end);
  auto after = snap(router, "a");
  EXPECT_EQ(after.in_flight, 0);
  EXPECT_EQ(after.balancer_in_flight, 0);
  EXPECT_TRUE(after.available) << "a slot freed: back in the balancer";
  EXPECT_EQ(after.shed, 0);
  EXPECT_EQ(served_by(router), "a");
}

TEST_F(BalancingTest, EachKeyHasItsOwnQuotaWindow) {
  auto a = deployment("a");
  a.api_keys = {Secret("sk-key0"), Secret("sk-key1")};
  a.key_limits = {KeyLimits{1, 0}, KeyLimits{1, 0}};
  Router router(config({a, deployment("b")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a#key0");
  EXPECT_EQ(snap(router, "a#key0").key_requests_left, 0);
  EXPECT_EQ(snap(router, "a#key1").key_requests_left, 1);
  auto o = run(router);  // key 0 is full: the same deployment's other key serves
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->target, "a#key1");
  EXPECT_NE(o.log[0].skipped.find("'a#key0' over its key's quota (1/1 rpm"), std::string::npos) << o.log[0].skipped;
  EXPECT_EQ(served_by(router), "b");  // both keys full; the deployment itself has no limit
  auto keys = fp.attempts("a");
  ASSERT_EQ(keys.size(), 2u);
  auto auth = [](const testing::AttemptRecord& r) {
    for (const auto& h : r.headers)
      if (iequals(h.name, "authorization")) return h.value;
    return std::string();
  };
  EXPECT_EQ(auth(keys[0]), "Bearer sk-key0");
  EXPECT_EQ(auth(keys[1]), "Bearer sk-key1");
  auto s = snap(router, "a#key0");
  EXPECT_EQ(s.key_rpm, 1);
  EXPECT_EQ(s.requests_left, -1);  // no deployment-wide limit
}

TEST_F(BalancingTest, DeploymentAndKeyWindowsAdmitTogetherOrNotAtAll) {
  auto a = deployment("a");
  a.rpm = 1;
  a.key_limits = {KeyLimits{5, 0}};
  Router router(config({a, deployment("b")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");
  EXPECT_EQ(served_by(router), "b");  // the deployment is full: the key's window must not count it
  auto s = snap(router, "a");
  EXPECT_EQ(s.requests_left, 0);
  EXPECT_EQ(s.key_requests_left, 4);
}

TEST_F(BalancingTest, StreamedAnswerCorrectsTheTokenEstimate) {
  auto a = deployment("a");
  a.tpm = 100000;
  a.key_limits = {KeyLimits{0, 100000}};
  Router router(config({a}), {}, nullptr, first());
  auto stream = [&](bool usage) {
    RouteRequest r;
    r.model = "smart";
    r.stream = true;
    r.call.path = "/chat/completions";
    r.call.body =
        std::string(
            R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"hello there"}],"max_tokens":5000)") +
        (usage ? R"(,"stream_options":{"include_usage":true}})" : "}");
    return finish(router.send(r));
  };
  ASSERT_TRUE(stream(false).served);
  // Without usage: prompt estimate + streamed characters / 4, not the 5,000 max_tokens.
  auto s = snap(router, "a");
  EXPECT_GT(s.tokens_left, 100000 - 100);
  EXPECT_EQ(s.key_tokens_left, s.tokens_left);
  ASSERT_TRUE(stream(true).served);
  auto t = snap(router, "a");
  EXPECT_GT(t.tokens_left, 100000 - 200);
  EXPECT_LT(t.tokens_left, s.tokens_left);
}

TEST_F(BalancingTest, RateLimitHeadersSteerAwayBeforeA429) {
  Fault exhausted = Fault::ok();
  exhausted.headers = {{"x-ratelimit-limit-requests", "100"},
                       {"x-ratelimit-remaining-requests", "0"},
                       {"x-ratelimit-reset-requests", "10s"}};
  fp.set_default("a", exhausted);
  Router router(config({deployment("a"), deployment("b")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");  // answers, and says its requests are used up for 10 s
  for (int i = 0; i < 5; ++i) EXPECT_EQ(served_by(router), "b");
  EXPECT_EQ(fp.attempts("a").size(), 1u);
  auto s = snap(router, "a");
  EXPECT_FALSE(s.available);
  EXPECT_GT(s.blocked_for_ms, 5000.0);
  EXPECT_EQ(s.state, "closed");  // steering, not a breaker verdict
}

TEST_F(BalancingTest, LowRemainingQuotaLowersTheShare) {
  Fault low = Fault::ok();
  low.headers = {{"x-ratelimit-limit-requests", "100"},
                 {"x-ratelimit-remaining-requests", "5"},
                 {"x-ratelimit-reset-requests", "30s"}};
  fp.set_default("a", low);
  Router router(config({deployment("a"), deployment("b")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");
  auto s = snap(router, "a");
  EXPECT_GT(s.balancer_share, 0.0);
  EXPECT_LT(s.balancer_share, 0.6);  // 5% left of a 10% band (minus the local count of the send)
  EXPECT_LT(s.header_share, 0.6);
}

TEST_F(BalancingTest, PanicPickWhenNothingIsAvailableIsInTheRouteLog) {
  Fault exhausted = Fault::ok();
  exhausted.headers = {{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "10s"}};
  fp.set_default("a", exhausted);
  Router router(config({deployment("a")}), {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");
  auto o = run(router);  // a is blocked by its headers and nothing else exists: panic rule
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.log[0].pick, "panic");
  EXPECT_EQ(o.log[0].target, "a");
}

TEST_F(BalancingTest, FailFastRefusesInsteadOfPanicking) {
  Fault exhausted = Fault::ok();
  exhausted.headers = {{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "10s"}};
  fp.set_default("a", exhausted);
  auto c = config({deployment("a")});
  c.defaults.balancer.fail_fast = true;
  Router router(c, {}, nullptr, first());
  EXPECT_EQ(served_by(router), "a");
  auto o = run(router);
  EXPECT_FALSE(o.served);
  ASSERT_FALSE(o.events.empty());
  EXPECT_EQ(o.events.back().kind, Event::Kind::error);
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(BalancingTest, RetryOnTheSameTargetIsLoggedAsReused) {
  fp.script("a", {Fault::server_error(500), Fault::ok()});
  Router router(config({deployment("a")}), {}, nullptr, first());
  auto o = run(router);
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].pick, "");
  EXPECT_EQ(o.log[1].pick, "reused");
  EXPECT_EQ(snap(router, "a").balancer_in_flight, 0);
}

TEST(BalancerConfig, ParsesDumpsAndValidatesTheGroupBalancerPolicy) {
  auto c = parse_config(R"({"routing_strategy": "least-busy", "groups": {"smart": {
      "deployments": [{"model": "m", "api_key": "k"}],
      "policy": {"balancer": {"strategy": "latency_p2c", "fail_fast": true, "ewma_decay": "2s",
                              "default_rtt": "50ms", "latency_metric": "per_output_token"}}},
      "other": {"deployments": [{"model": "n", "api_key": "k"}]}}})");
  const auto& b = c.policy_for("smart").balancer;
  EXPECT_EQ(b.strategy, "latency_p2c");
  EXPECT_TRUE(b.fail_fast);
  EXPECT_EQ(b.ewma_decay, Millis{2000});
  EXPECT_EQ(b.default_rtt, Millis{50});
  EXPECT_EQ(b.latency_metric, "per_output_token");
  EXPECT_EQ(c.policy_for("other").balancer.strategy, "");  // the top-level routing_strategy
  EXPECT_EQ(parse_config(dump_config(c)).policy_for("smart"), c.policy_for("smart"));
  try {
    parse_config(R"({"groups": {"g": {"deployments": [{"model": "m", "api_key": "k"}],
                    "policy": {"balancer": {"strategy": "fastest"}}}}})");
    ADD_FAILURE() << "accepted an unknown strategy";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "groups.g.policy.balancer.strategy");
  }
  Router router(c);
  auto snap = router.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].strategy, snap[0].group == "smart" ? "latency_p2c" : "least_in_flight");
  EXPECT_EQ(snap[1].strategy, snap[1].group == "smart" ? "latency_p2c" : "least_in_flight");
}

}  // namespace
}  // namespace llmfailover
