// Active health probes through the router (issue 4) against the in-process FakeProvider: a
// deployment whose upstream goes down is taken out by its probes before users reach it and comes
// back through the ramp; `path` probes GET the path; probes stop with the router and never count
// in quotas. Real clock with short intervals: bounds are generous.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "llmfailover/router.hpp"
#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using testing::AttemptRecord;
using testing::FakeProvider;
using testing::Fault;

class RouterProbeTest : public ::testing::Test {
 protected:
  FakeProvider fp;

  DeploymentConfig deployment(const std::string& model) {
    DeploymentConfig d;
    d.id = model;
    d.group = "smart";
    d.model = model;
    d.base_url = fp.base_url();
    d.api_keys = {Secret("sk-test")};
    return d;
  }

  static HealthCheckConfig fast_checks() {
    HealthCheckConfig h;
    h.enabled = true;
    h.interval = 40ms;
    h.interval_jitter_percent = 0;
    h.timeout = 500ms;
    h.prompt = "health?";
    return h;
  }

  RouterConfig config(std::vector<DeploymentConfig> deps) {
    RouterConfig c;
    c.deployments = std::move(deps);
    c.defaults.timeouts.first_token = 2s;
    c.defaults.timeouts.deadline = 5s;
    c.defaults.retry.backoff_base = 10ms;
    c.defaults.retry.backoff_cap = 50ms;
    c.defaults.ramp.step_hold = 100ms;  // the ramp climbs on time alone: 5%, 25%, 50%, then 100%
    c.defaults.ramp.step_min_requests = 0;
    return c;
  }

  static std::string served_by(Router& router) {
    RouteRequest r;
    r.model = "smart";
    r.call.path = "/chat/completions";
    r.call.body = R"({"model":"smart","messages":[{"role":"user","content":"hello there"}],"max_tokens":10})";
    auto call = router.send(r);
    std::vector<Event> events;
    auto until = Clock::now() + 5s;
    while ((events.empty() || !events.back().terminal()) && Clock::now() < until) call->channel().wait(events, 1s);
    auto served = call->served();
    return served ? served->target : "";
  }

  static TargetSnapshot snap(Router& router, const std::string& target) {
    for (auto& s : router.snapshot())
      if (s.target == target) return s;
    ADD_FAILURE() << "no target " << target;
    return {};
  }

  // Polls `done` every 5 ms for at most `limit`.
  static bool eventually(const std::function<bool()>& done, Clock::duration limit = 3000ms) {
    auto until = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= until) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  static bool is_probe(const AttemptRecord& r) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    return body.is_object() && body.value("max_tokens", 0) == 1 && body["messages"].size() == 1 &&
           body["messages"][0].value("content", "") == "health?";
  }
};

TEST_F(RouterProbeTest, ADownDeploymentIsTakenOutBeforeUsersReachItAndComesBackThroughTheRamp) {
  auto c = config({deployment("a"), deployment("b")});
  c.defaults.health_check = fast_checks();
  fp.outage("a", 1500ms);  // 503 for every request to a, probes included (long: CI is loaded)
  const auto t0 = Clock::now();
  Router router(c, {}, nullptr, std::make_shared<SeededRandom>(3));

  ASSERT_TRUE(eventually([&] { return snap(router, "a").probe == "unhealthy"; }));
  auto a = snap(router, "a");
  EXPECT_EQ(a.state, "open");
  EXPECT_EQ(a.share, 0.0);
  EXPECT_EQ(a.available_in_ms, 0.0);  // no known time: until the probes pass
  EXPECT_EQ(snap(router, "b").probe, "healthy");
  const auto probes = fp.attempts("a").size();
  EXPECT_GE(probes, 3u);  // unhealthy_threshold
  ASSERT_LT(Clock::now() - t0, 1200ms) << "too slow to observe the outage";

  for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(router), "b");
  for (const auto& r : fp.attempts("a")) EXPECT_TRUE(is_probe(r)) << "a user request reached a: " << r;
  for (const auto& r : fp.attempts("b"))
    if (!is_probe(r)) {
      EXPECT_EQ(r.status, 200);
    }

  // The outage ends: two passing probes, then the ramp's first step.
  ASSERT_TRUE(eventually([&] { return snap(router, "a").probe == "healthy"; }));
  a = snap(router, "a");
  EXPECT_EQ(a.state, "closed");
  EXPECT_EQ(a.ramp_step, 0);
  EXPECT_DOUBLE_EQ(a.share, 0.05);
  // And user traffic reaches it again as it climbs.
  bool back = eventually([&] { return served_by(router) == "a"; });
  EXPECT_TRUE(back) << "a: share " << snap(router, "a").share;

  auto events = router.drain_events();
  auto find = [&](const std::string& from, const std::string& to, const std::string& reason) {
    return std::any_of(events.begin(), events.end(), [&](const RouterEvent& e) {
      return e.kind == "probe" && e.target == "a" && e.from == from && e.to == to && e.reason.starts_with(reason);
    });
  };
  EXPECT_TRUE(find("closed", "open", "active probe: 3 consecutive failures (status 503"));
  EXPECT_TRUE(find("open", "closed", "active probe: 2 consecutive passes (status 200)"));
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const RouterEvent& e) {
    return e.kind == "breaker" && e.target == "a" && e.reason == "ramp step 0 (5%)";
  }));
  EXPECT_LT(Clock::now() - t0, 4s);
}

TEST_F(RouterProbeTest, PathProbeGetsThePathWithTheDeploymentsAuth) {
  auto a = deployment("a");
  a.health_check = fast_checks();  // only a is probed
  a.health_check->path = "/models";
  Router router(config({a, deployment("b")}), {}, nullptr, std::make_shared<SeededRandom>(3));
  ASSERT_TRUE(eventually([&] { return snap(router, "a").probe == "healthy"; }));
  EXPECT_EQ(snap(router, "b").probe, "");
  auto gets = fp.attempts("");  // GET /models names no model
  ASSERT_FALSE(gets.empty());
  EXPECT_EQ(gets[0].method, "GET");
  EXPECT_EQ(gets[0].target, "/v1/models");
  auto auth = std::find_if(gets[0].headers.begin(), gets[0].headers.end(),
                           [](const Header& h) { return iequals(h.name, "authorization"); });
  ASSERT_NE(auth, gets[0].headers.end());
  EXPECT_EQ(auth->value, "Bearer sk-test");
  EXPECT_TRUE(fp.attempts("a").empty());  // no completion was sent

  fp.outage("", 10s, Fault::server_error(502));  // the models endpoint breaks
  ASSERT_TRUE(eventually([&] { return snap(router, "a").probe == "unhealthy"; }));
  EXPECT_EQ(snap(router, "a").share, 0.0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(served_by(router), "b");
}

TEST_F(RouterProbeTest, ProbesStopWhenTheRouterCloses) {
  auto c = config({deployment("a")});
  c.defaults.health_check = fast_checks();
  auto router = std::make_unique<Router>(c);
  ASSERT_TRUE(eventually([&] { return fp.attempts("a").size() >= 2; }));
  router->close();
  auto n = fp.attempts("a").size();
  std::this_thread::sleep_for(150ms);  // several intervals
  EXPECT_EQ(fp.attempts("a").size(), n);
  router.reset();
  EXPECT_EQ(fp.attempts("a").size(), n);
}

TEST_F(RouterProbeTest, ClosingWithAProbeInFlightReturnsPromptly) {
  auto c = config({deployment("a")});
  c.defaults.health_check = fast_checks();
  fp.set_default("a", Fault::slow_headers(400ms));
  {
    Router router(c);
    ASSERT_TRUE(eventually([&] { return !fp.attempts("a").empty(); }));  // a probe is waiting for headers
    const auto t = Clock::now();
    router.close();
    EXPECT_LT(Clock::now() - t, 300ms);
  }
  auto n = fp.attempts("a").size();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fp.attempts("a").size(), n);
}

TEST_F(RouterProbeTest, ProbesAreNotCountedInQuotasOrInFlight) {
  auto a = deployment("a");
  a.rpm = 2;
  a.max_concurrency = 1;
  a.key_limits = {KeyLimits{3, 0}};
  auto c = config({a});
  c.defaults.health_check = fast_checks();
  Router router(c);
  ASSERT_TRUE(eventually([&] { return fp.attempts("a").size() >= 4; }));  // more probes than the rpm
  auto s = snap(router, "a");
  EXPECT_EQ(s.requests_left, 2);
  EXPECT_EQ(s.key_requests_left, 3);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_EQ(s.shed, 0);
  EXPECT_EQ(served_by(router), "a");
  EXPECT_EQ(served_by(router), "a");
  EXPECT_EQ(snap(router, "a").requests_left, 0);  // the two user requests, and only they
}

TEST_F(RouterProbeTest, ARevokedKeyIsTakenOutByOneProbe) {
  auto c = config({deployment("a"), deployment("b")});
  c.defaults.health_check = fast_checks();
  fp.set_default("a", Fault::unauthorized());
  Router router(c, {}, nullptr, std::make_shared<SeededRandom>(3));
  ASSERT_TRUE(eventually([&] { return snap(router, "a").probe == "unhealthy"; }));
  auto events = router.drain_events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, "probe");
  EXPECT_EQ(events[0].reason, "active probe: fatal_target (status 401: auth): unhealthy at once");
  EXPECT_EQ(fp.attempts("a")[0].status, 401);  // the first probe was enough
  EXPECT_EQ(served_by(router), "b");
}

}  // namespace
}  // namespace llmfailover
