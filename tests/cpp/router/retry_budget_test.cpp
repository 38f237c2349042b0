// The retry budget's rule in the router (issue 14): it stops retry storms against targets a call
// already tried; moving on to an untried target (another deployment, another key, a fallback
// group) never draws on it, so an exhausted budget never turns a healthy fallback into an error.
#include <gtest/gtest.h>

#include "router/router_fixture.hpp"

namespace llmfailover {
namespace {

using testing::Fault;

class RetryBudgetRuleTest : public RouterTest {};

RouterConfig empty_budget(RouterConfig c) {
  c.defaults.budget.percent_can_retry = 0;  // no retries at all
  c.defaults.budget.min_retries_per_sec = 0;
  c.defaults.breaker.initial_state = "disabled";
  return c;
}

TEST_F(RetryBudgetRuleTest, AnExhaustedBudgetNeverTurnsAHealthyFallbackDeploymentIntoAnError) {
  fp.set_default("a", Fault::unavailable());
  Router router(empty_budget(config({deployment("smart", "a"), deployment("smart", "b")})), {}, nullptr, first());
  for (int i = 0; i < 40; ++i) {
    auto o = run(router, "smart");
    ASSERT_EQ(o.status(), 200) << "call " << i << ": " << o.text();
    EXPECT_EQ(o.served->model, "b");
    EXPECT_EQ(o.log[0].decision, "failover");
  }
  EXPECT_EQ(fp.attempts("a").size(), 40u);  // the breaker is off: a is tried first every time
}

TEST_F(RetryBudgetRuleTest, AnExhaustedBudgetNeverRefusesAnotherKeyOrAFallbackGroup) {
  fp.set_default("a", Fault::unavailable());
  auto keys = deployment("smart", "a");
  keys.api_keys = {Secret("sk-one"), Secret("sk-two")};  // two targets, both failing
  auto cfg = empty_budget(config({keys, deployment("cheap", "c")}));
  cfg.fallbacks["smart"] = {"cheap"};
  Router router(cfg, {}, nullptr, first());
  for (int i = 0; i < 10; ++i) {
    auto o = run(router, "smart");
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(o.served->group, "cheap");
    ASSERT_EQ(o.log.size(), 3u);  // each key once, then the fallback group
    EXPECT_EQ(o.log[0].decision, "failover");
    EXPECT_EQ(o.log[1].decision, "budget_exhausted");  // a retry of a tried key is still refused
  }
}

TEST_F(RetryBudgetRuleTest, AnExhaustedBudgetStillRefusesRetriesOfATriedTarget) {
  fp.set_default("a", Fault::unavailable());
  Router router(empty_budget(config({deployment("smart", "a")})), {}, nullptr, first());
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 503);
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_EQ(o.log[0].decision, "budget_exhausted");
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

}  // namespace
}  // namespace llmfailover
