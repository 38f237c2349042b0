// budget_router_test.cpp — spend caps in the router (policy/budget_cap.hpp, router/budgets.hpp):
// a target over its budget leaves the balancer, a call no target may serve for budget is refused
// with a 429 naming the budget before any upstream attempt, a tag's cap, the period's rollover,
// and answers of unknown price, on the FakeProvider.
#include <atomic>

#include "llmfailover/metrics.hpp"
#include "router_fixture.hpp"

namespace llmfailover {
namespace {

using nlohmann::json;

class BudgetRouterTest : public RouterTest {
 protected:
  DeploymentConfig priced(const std::string& group, const std::string& model) {
    auto d = deployment(group, model);
    d.input_price_per_mtok = 1e5;  // so one small answer spends more than a cent
    d.output_price_per_mtok = 1e5;
    return d;
  }
  static RouteRequest tagged(const std::string& model, const std::string& tag) {
    auto r = request(model);
    r.overrides.tag = tag;
    return r;
  }
};

// The steady clock shifted by hand: real waits for the transport, a day ahead on demand.
class ShiftedClock final : public TimeSource {
 public:
  Clock::time_point now() const override { return Clock::now() + Clock::duration(shift_.load()); }
  void advance(Clock::duration d) { shift_ += d.count(); }

 private:
  std::atomic<Clock::rep> shift_{0};
};

const metrics::BudgetSnapshot& budget(const metrics::Snapshot& s, const std::string& name) {
  for (const auto& b : s.budgets)
    if (b.name == name) return b;
  throw std::runtime_error("no budget " + name);
}

TEST_F(BudgetRouterTest, ATargetOverItsKeyBudgetLeavesTheBalancerAndTheNextServes) {
  auto cfg = config({priced("smart", "a"), priced("smart", "b")});
  cfg.budgets = {{"key", "smart/a", 0.01, "day"}};
  Router router(cfg, {}, nullptr, first());
  auto one = run(router, "smart");
  ASSERT_EQ(one.status(), 200);
  ASSERT_EQ(one.served->deployment, "smart/a");  // u = 0: the first listed
  const auto s = router.metrics();
  EXPECT_TRUE(budget(s, "smart/a").reached);
  EXPECT_GE(budget(s, "smart/a").spent_usd, 0.01);
  for (int i = 0; i < 3; ++i) {
    auto next = run(router, "smart");
    ASSERT_EQ(next.status(), 200);
    EXPECT_EQ(next.served->deployment, "smart/b");
    ASSERT_EQ(next.log.size(), 1u);  // never an attempt at a
  }
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(BudgetRouterTest, EveryTargetOverBudgetIsRefusedBeforeAnyAttemptUntilThePeriodEnds) {
  auto clock = std::make_shared<ShiftedClock>();
  auto cfg = config({priced("smart", "a"), priced("smart", "b")});
  cfg.budgets = {{"group", "smart", 0.01, "day"}};
  Router router(cfg, {}, clock, first());
  ASSERT_EQ(run(router, "smart").status(), 200);
  const double one_call = budget(router.metrics(), "smart").spent_usd;
  ASSERT_GE(one_call, 0.01);
  const std::size_t sent = fp.attempts().size();
  auto refused = run(router, "smart");
  ASSERT_EQ(refused.status(), 429);
  EXPECT_TRUE(refused.log.empty());
  EXPECT_EQ(fp.attempts().size(), sent);  // no upstream attempt
  auto err = json::parse(refused.text())["error"];
  EXPECT_EQ(err["code"], "budget_exceeded");
  EXPECT_EQ(err["budget"]["scope"], "group");
  EXPECT_EQ(err["budget"]["name"], "smart");
  EXPECT_EQ(err["budget"]["period"], "day");
  EXPECT_DOUBLE_EQ(err["budget"]["limit_usd"].get<double>(), 0.01);
  const std::string message = err["message"];
  EXPECT_NE(message.find("group 'smart' spent $"), std::string::npos) << message;
  EXPECT_NE(message.find("of $0.0100 this day"), std::string::npos) << message;
  bool named = false;
  for (const auto& [k, v] : refused.events[0].headers)
    named = named || (k == "x-llmfailover-budget" && v == "group:smart");
  EXPECT_TRUE(named);

  clock->advance(std::chrono::hours(24));  // the next day (UTC) starts at 0
  auto again = run(router, "smart");
  EXPECT_EQ(again.status(), 200);
  EXPECT_NEAR(budget(router.metrics(), "smart").spent_usd, one_call, one_call / 2);  // this day's call only
}

TEST_F(BudgetRouterTest, ATagOverItsBudgetIsRefusedAndOtherTagsAreNot) {
  auto cfg = config({priced("smart", "a")});
  cfg.budgets = {{"tag", "tenant-a", 0.01, "month"}};
  Router router(cfg, {}, nullptr, first());
  ASSERT_EQ(run(router, tagged("smart", "tenant-a")).status(), 200);
  auto refused = run(router, tagged("smart", "tenant-a"));
  ASSERT_EQ(refused.status(), 429);
  const std::string message = json::parse(refused.text())["error"]["message"];
  EXPECT_NE(message.find("tag 'tenant-a' spent"), std::string::npos) << message;
  EXPECT_EQ(run(router, tagged("smart", "tenant-b")).status(), 200);
  EXPECT_EQ(run(router, "smart").status(), 200);
  EXPECT_EQ(fp.attempts().size(), 3u);
}

TEST_F(BudgetRouterTest, AnAnswerOfUnknownPriceIsNotCountedAsSpendButShown) {
  auto cfg = config({deployment("smart", "a")});  // no price
  cfg.budgets = {{"group", "smart", 0.01, "hour"}};
  Router router(cfg, {}, nullptr, first());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run(router, "smart").status(), 200);
  const auto snap = router.metrics();  // the snapshot outlives the reference into it
  const auto& b = budget(snap, "smart");
  EXPECT_EQ(b.spent_usd, 0.0);
  EXPECT_EQ(b.unpriced, 3u);
  EXPECT_FALSE(b.reached);
  EXPECT_EQ(b.period, "hour");
}

TEST_F(BudgetRouterTest, WasteIsChargedToTheKeyThatBilledItAndTheAnswerToTheOneThatServed) {
  fp.script("a", {testing::Fault::cut(2)});  // a streams two chunks, then breaks: billed, not used
  auto cfg = config({priced("smart", "a"), priced("smart", "b")});
  cfg.budgets = {{"key", "smart/a", 1000, "day"}, {"key", "smart/b", 1000, "day"}, {"group", "smart", 1000, "day"}};
  Router router(cfg, {}, nullptr, first());
  auto r = request("smart", true);
  r.call.body = R"({"model":"smart","messages":[{"role":"user","content":"hi"}],"stream":true,)"
                R"("stream_options":{"include_usage":true}})";
  auto call = router.send(std::move(r));
  std::vector<Event> events;
  while (events.empty() || !events.back().terminal()) call->channel().wait(events, 1s);
  const auto c = call->cost();
  ASSERT_EQ(c.deployment, "smart/b");
  ASSERT_GT(c.waste_usd, 0);
  ASSERT_TRUE(c.cost);
  const auto s = router.metrics();
  EXPECT_NEAR(budget(s, "smart/a").spent_usd, c.waste_usd, 1e-9);
  EXPECT_NEAR(budget(s, "smart/b").spent_usd, c.cost->total, 1e-9);
  EXPECT_NEAR(budget(s, "smart").spent_usd, c.cost->total + c.waste_usd, 1e-9);
}

TEST_F(BudgetRouterTest, LowestCostRanksByPricesSetAfterConstruction) {
  // Neither has a config price: the bundled table (Python's set_prices) decides.
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.routing_strategy = "lowest_cost";
  Router router(cfg, {}, nullptr, first());
  ASSERT_TRUE(router.set_prices("smart/a", {5e-6, 5e-6, std::nullopt, std::nullopt, "table"}));
  ASSERT_TRUE(router.set_prices("smart/b", {1e-6, 1e-6, std::nullopt, std::nullopt, "table"}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(router, "smart").served->deployment, "smart/b");
}

}  // namespace
}  // namespace llmfailover
