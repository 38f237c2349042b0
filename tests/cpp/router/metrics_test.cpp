// metrics_test.cpp — the router's native metrics (metrics.hpp): attempts, requests, failovers,
// breaker transitions and state, histograms and the cost of answers, read from Router::metrics()
// after calls on the FakeProvider.
#include "llmfailover/metrics.hpp"

#include "router_fixture.hpp"

namespace llmfailover {
namespace {

using metrics::CallOutcome;
using testing::Fault;

class MetricsTest : public RouterTest {};  // the fixture is per file (an anonymous namespace)

const metrics::TargetSnapshot& target(const metrics::Snapshot& s, const std::string& deployment) {
  for (const auto& t : s.targets)
    if (t.labels.deployment == deployment) return t;
  throw std::runtime_error("no target " + deployment);
}

const metrics::GroupSnapshot& group(const metrics::Snapshot& s, const std::string& name) {
  for (const auto& g : s.groups)
    if (g.group == name) return g;
  throw std::runtime_error("no group " + name);
}

std::uint64_t outcome(const metrics::GroupSnapshot& g, CallOutcome o) { return g.requests[static_cast<int>(o)]; }
std::uint64_t attempts(const metrics::TargetSnapshot& t, ErrorClass c) { return t.attempts[static_cast<int>(c)]; }

TEST(MetricsHistogram, BucketsAreLessOrEqualAndSumIsKept) {
  metrics::Histogram h(metrics::kDurationBuckets);
  h.observe(0.01);   // on the first bound: in it
  h.observe(0.011);  // just above: the second
  h.observe(1000);   // past the last: +Inf
  auto s = h.snapshot();
  ASSERT_EQ(s.buckets.size(), metrics::kDurationBuckets.size() + 1);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets.back(), 1u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_NEAR(s.sum, 1000.021, 1e-6);
}

TEST(MetricsPrice, CachedAndReasoningTokensAreBilledAtTheirOwnPrices) {
  metrics::Prices p{2e-6, 8e-6, 0.5e-6, std::nullopt, "test"};
  auto c = metrics::price(p, {1000, 500, 400, 100});
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->input, 600 * 2e-6);
  EXPECT_DOUBLE_EQ(c->cached, 400 * 0.5e-6);
  EXPECT_DOUBLE_EQ(c->output, 400 * 8e-6);
  EXPECT_DOUBLE_EQ(c->reasoning, 100 * 8e-6);  // no reasoning price: the output one
  EXPECT_DOUBLE_EQ(c->total, c->input + c->cached + c->output + c->reasoning);
  // An unknown price is no cost, never 0.
  EXPECT_FALSE(metrics::price({std::nullopt, 8e-6}, {10, 10}));
  EXPECT_FALSE(metrics::price({2e-6, std::nullopt}, {10, 10}));
  // Counts an upstream got wrong (cached > input, negative) do not make a negative cost.
  auto odd = metrics::price(p, {10, -5, 50, 9});
  ASSERT_TRUE(odd);
  EXPECT_GE(odd->total, 0);
}

TEST_F(MetricsTest, MetricsCountAnOutageAttemptsFailoversAndTheBreaker) {
  fp.set_default("a", Fault::unavailable());
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.defaults.breaker.consecutive_failures = 2;
  cfg.defaults.breaker.open_base = 10s;
  cfg.defaults.breaker.open_cap = 10s;
  Router router(cfg, {}, nullptr, first());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(run(router, "smart").status(), 200);
  auto s = router.metrics();
  const auto& g = group(s, "smart");
  EXPECT_EQ(outcome(g, CallOutcome::ok), 5u);
  EXPECT_EQ(outcome(g, CallOutcome::error), 0u);
  const auto& a = target(s, "smart/a");
  const auto& b = target(s, "smart/b");
  // a failed until its breaker opened; every call then went straight to b.
  EXPECT_EQ(attempts(a, ErrorClass::retryable), 2u);
  EXPECT_EQ(attempts(b, ErrorClass::none), 5u);
  EXPECT_EQ(g.failovers, attempts(a, ErrorClass::retryable));
  EXPECT_EQ(a.state, "open");
  EXPECT_EQ(a.transitions[1], 1u);  // entered "open" once
  EXPECT_EQ(b.state, "closed");
  EXPECT_EQ(b.served, 5u);
  EXPECT_EQ(b.time_to_first_token.count, 5u);
  EXPECT_EQ(g.duration[static_cast<int>(CallOutcome::ok)].count, 5u);
  EXPECT_GT(b.tokens_input, 0u);  // the fake's usage
  EXPECT_GT(b.tokens_output, 0u);
  EXPECT_GE(g.retry_budget_left, 0);
  EXPECT_EQ(s.groups.back().group, "other");
}

TEST_F(MetricsTest, MetricsCountErrorsAndUnknownGroupsUnderOther) {
  fp.set_default("a", Fault::server_error(500));
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.retry.max_attempts = 2;
  Router router(cfg, {}, nullptr, first());
  EXPECT_EQ(run(router, "smart").status(), 500);
  EXPECT_EQ(run(router, "no-such-group").status(), 0);
  auto s = router.metrics();
  EXPECT_EQ(outcome(group(s, "smart"), CallOutcome::error), 1u);
  EXPECT_EQ(group(s, "smart").retries, 1u);
  EXPECT_EQ(attempts(target(s, "smart/a"), ErrorClass::retryable), 2u);
  EXPECT_EQ(outcome(group(s, "other"), CallOutcome::error), 1u);  // counted when the call is freed
}

TEST_F(MetricsTest, CostOfAnAnswerFromTheConfigPriceAndUnknownWithoutOne) {
  auto priced = deployment("smart", "a");
  priced.input_price_per_mtok = 2;
  priced.output_price_per_mtok = 10;
  Router router(config({priced, deployment("cheap", "b")}), {}, nullptr, first());
  auto call = router.send(request("smart"));
  std::vector<Event> events;
  while (events.empty() || !events.back().terminal()) call->channel().wait(events, 1s);
  auto c = call->cost();
  ASSERT_TRUE(c.usage_known);
  ASSERT_TRUE(c.cost) << c.unknown_reason;
  EXPECT_DOUBLE_EQ(c.cost->total, c.usage.input * 2e-6 + c.usage.output * 10e-6);
  EXPECT_EQ(c.deployment, "smart/a");

  auto other = router.send(request("cheap"));
  events.clear();
  while (events.empty() || !events.back().terminal()) other->channel().wait(events, 1s);
  auto u = other->cost();
  EXPECT_FALSE(u.cost);  // no price: unknown, said so
  EXPECT_NE(u.unknown_reason.find("no price"), std::string::npos) << u.unknown_reason;
  // set_prices (the bundled table, from Python) prices it from then on.
  ASSERT_TRUE(router.set_prices("cheap/b", {1e-6, 1e-6, std::nullopt, std::nullopt, "table"}));
  EXPECT_FALSE(router.set_prices("nope", {}));
  EXPECT_TRUE(other->cost().cost);

  auto s = router.metrics();
  EXPECT_NEAR(target(s, "smart/a").cost_usd, c.cost->total, 1e-9);
  EXPECT_EQ(target(s, "smart/a").priced, 1u);
  EXPECT_EQ(target(s, "cheap/b").unpriced, 1u);
  EXPECT_NEAR(group(s, "smart").cost_usd, c.cost->total, 1e-9);
}

TEST_F(MetricsTest, CostOfACutStreamIsWasteApartFromTheAnswer) {
  fp.script("a", {Fault::cut(2)});
  auto a = deployment("smart", "a");
  auto b = deployment("smart", "b");
  for (auto* d : {&a, &b}) d->input_price_per_mtok = 1, d->output_price_per_mtok = 1;
  Router router(config({a, b}), {}, nullptr, first());
  auto r = request("smart", true);
  r.call.body = R"({"model":"smart","messages":[{"role":"user","content":"hi"}],"stream":true,)"
                R"("stream_options":{"include_usage":true}})";
  auto call = router.send(std::move(r));
  std::vector<Event> events;
  while (events.empty() || !events.back().terminal()) call->channel().wait(events, 1s);
  auto log = call->route_log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].decision, "recover");
  auto c = call->cost();
  EXPECT_EQ(c.wasted_attempts, 1);
  EXPECT_GT(c.waste_usd, 0);
  ASSERT_TRUE(c.cost);
  EXPECT_EQ(c.deployment, "smart/b");
  auto s = router.metrics();
  EXPECT_EQ(group(s, "smart").stream_recoveries, 1u);
  EXPECT_NEAR(group(s, "smart").waste_usd, c.waste_usd, 1e-9);
}

}  // namespace
}  // namespace llmfailover
