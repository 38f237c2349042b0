// Issue 11's failover rules, each against the in-process FakeProvider with the fixture's short
// limits: a half-open trial is one attempt, silent targets are left at once, an attempt leaves
// time for the untried fallbacks, a short Retry-After keeps the requested model. Conduct is
// asserted from the provider's attempt log and the call's route log.
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/config.hpp"
#include "llmfailover/router.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "router/router_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using testing::Fault;

class RulesTest : public RouterTest {
 protected:
  // "smart" has the one target a; its fallback group "backup" has b.
  RouterConfig chain() {
    auto c = config({deployment("smart", "a"), deployment("backup", "b")});
    c.fallbacks["smart"] = {"backup"};
    return c;
  }
  static double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
};

TEST_F(RulesTest, AHalfOpenTrialIsOneAttemptThenTheCallFailsOverAtOnce) {
  fp.set_default("a", Fault::unavailable());
  auto cfg = chain();
  cfg.defaults.breaker.consecutive_failures = 2;
  cfg.defaults.breaker.open_base = 100ms;
  cfg.defaults.breaker.open_cap = 100ms;
  cfg.defaults.breaker.open_jitter = 0;
  cfg.defaults.breaker.half_open_permits = 3;  // the rule is the router's, whatever the permits
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  ASSERT_EQ(fp.attempts("a").size(), 2u);  // the breaker opened after two
  std::this_thread::sleep_for(150ms);      // past the open wait: half-open
  o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 3u) << "the half-open trial was retried";  // failed with 5 before
  EXPECT_EQ(o.log[0].decision, "next_group");
}

TEST_F(RulesTest, TheOpenWaitIsCappedByDefaultSoARecoveredTargetIsBackSoon) {
  BreakerPolicyConfig b;
  EXPECT_LE(b.open_cap, 10s);  // + 10 % jitter + one request interval: back within ~15 s
  EXPECT_EQ(b.half_open_permits, 1);
}

TEST_F(RulesTest, ASilentTargetThatHangsUpIsNotRetried) {
  auto cfg = chain();
  cfg.defaults.timeouts.first_token = 5s;
  cfg.defaults.timeouts.deadline = 20s;
  Router router(cfg, {}, nullptr, first());
  ASSERT_EQ(run(router, "smart").status(), 200);  // a pooled connection to a: no stale-connection replay either
  Fault silent;
  silent.delay_before_headers = 2200ms;
  silent.action = Fault::Action::close;
  fp.set_default("a", silent);
  auto t0 = Clock::now();
  auto o = run(router, request("smart"), 20s);
  ASSERT_EQ(o.status(), 200) << o.text();
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 2u) << "silent then closed: retried (or re-sent) on the same target";
  EXPECT_EQ(o.log[0].reason, "silent");
  EXPECT_LT(seconds_since(t0), 4.0);  // 2.2 s of silence, then the fallback at once (6.6+ s before)
}

TEST_F(RulesTest, AnAttemptLeavesHalfOfTheTimeLeftToTheUntriedFallback) {
  fp.set_default("a", Fault::no_response());
  auto cfg = chain();
  cfg.defaults.timeouts.first_token = 10s;  // longer than the deadline: failover could never happen
  cfg.defaults.timeouts.deadline = 2s;
  Router router(cfg, {}, nullptr, first());
  for (bool stream : {false, true}) {
    auto t0 = Clock::now();
    auto o = run(router, request("smart", stream));
    const double took = seconds_since(t0);
    ASSERT_EQ(o.status(), 200) << stream << " " << o.text();
    ASSERT_TRUE(o.served);
    EXPECT_EQ(o.served->model, "b");
    EXPECT_GE(took, 0.95) << stream;  // a had half of the 2 s
    EXPECT_LT(took, 1.8) << stream;
  }
}

TEST_F(RulesTest, WithoutAFallbackTheAttemptKeepsItsWholeLimit) {
  fp.script("a", {Fault::slow_headers(1200ms)});
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.timeouts.first_token = 10s;
  cfg.defaults.timeouts.deadline = 2s;
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 200);  // nobody to leave time for: not clipped to 1 s
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(RulesTest, ADeadlineThatLeavesNoRoomForFailoverIsWarnedAtLoad) {
  auto c = parse_config(R"({"defaults": {"timeouts": {"first_token": "30s", "idle": "10s", "deadline": "30s"}},
                            "groups": {"g": {"deployments": [{"model": "m", "base_url": "http://127.0.0.1:1"}]}}})");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("defaults.timeouts.first_token"), std::string::npos) << c.warnings[0];
  EXPECT_NE(c.warnings[0].find("no room for failover"), std::string::npos) << c.warnings[0];
  auto ok = parse_config(R"({"groups": {"g": {"deployments": [{"model": "m", "base_url": "http://127.0.0.1:1"}]}}})");
  EXPECT_TRUE(ok.warnings.empty());
}

TEST_F(RulesTest, AShortRetryAfterKeepsTheRequestedModel) {
  fp.script("a", {Fault::rate_limited(std::nullopt, 300ms), Fault::ok()});
  Router router(chain(), {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "a");  // went to the fallback group's b at once before
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].decision, "retry_after");
  auto seen = fp.attempts("a");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1].time - seen[0].time, 0.300);
  EXPECT_TRUE(fp.attempts("b").empty());
}

TEST_F(RulesTest, AShortRetryAfterGoesToASiblingAtOnce) {
  fp.set_default("a", Fault::rate_limited(std::nullopt, 2s));
  auto cfg = config({deployment("smart", "a"), deployment("smart", "s"), deployment("backup", "b")});
  cfg.fallbacks["smart"] = {"backup"};
  Router router(cfg, {}, nullptr, first());
  auto t0 = Clock::now();
  auto o = run(router, "smart");
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "s");
  EXPECT_LT(seconds_since(t0), 1.0);
}

TEST_F(RulesTest, ALongRetryAfterFallsBackAtOnce) {
  fp.set_default("a", Fault::rate_limited(std::nullopt, 800ms));
  auto cfg = chain();
  cfg.defaults.retry.max_hint_wait = 500ms;
  Router router(cfg, {}, nullptr, first());
  auto t0 = Clock::now();
  auto o = run(router, "smart");
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 1u);
  EXPECT_LT(seconds_since(t0), 0.5);
}

TEST_F(RulesTest, AResetEveryTimeStaysWithinMaxAttemptsWithTheTransportsReplay) {
  auto cfg = chain();
  Router router(cfg, {}, nullptr, first());
  ASSERT_EQ(run(router, "smart").status(), 200);  // a pooled connection: the first reset is re-sent
  fp.set_default("a", Fault::reset_connection());
  auto o = run(router, "smart");
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 1u + 3u) << "max_attempts 3 (+1 warm-up)";  // 1 + 4 before
}

TEST_F(RulesTest, AWarmTargetFarSlowerThanItsOwnNormalIsLeft) {
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.defaults.timeouts.first_token = 2s;  // the adaptive limit: 10 x a's normal (ms), at least 0.5 s
  const Fault slow = Fault::slow_first_token(1200ms);
  fp.script("a", {slow, Fault::ok(), Fault::ok(), Fault::ok(), slow});  // by a's attempt number
  Router router(cfg, {}, nullptr, first());
  auto cold = run(router, "smart", true);  // nothing learned: the configured 2 s applies
  ASSERT_TRUE(cold.served);
  EXPECT_EQ(cold.served->model, "a");  // and this slow answer does not move the median
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run(router, "smart", true).served->model, "a");  // a's normal: ms
  auto t0 = Clock::now();
  auto o = run(router, "smart", true);
  const double took = seconds_since(t0);
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(o.log[0].reason, "first_token_timeout");
  EXPECT_GE(took, 0.45);  // a quarter of the 2 s
  EXPECT_LT(took, 1.1);
}

// ---- streams rescued by default, errors that say what happened ---------------------------------

TEST_F(RulesTest, ABrokenStreamIsRescuedByDefault) {
  fp.set_reply("*", "one two three four five six");
  for (Fault f : {Fault::cut(3), Fault::malformed(3)}) {
    fp.reset();
    fp.set_reply("*", "one two three four five six");
    fp.script("a", {f});
    Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
    auto o = run(router, "smart", true);
    ASSERT_EQ(o.last().kind, Event::Kind::end) << to_string(f) << ": " << o.last().error.message;
    EXPECT_EQ(o.content(), "one two three four five six") << to_string(f);  // nothing lost, nothing twice
    EXPECT_EQ(o.log[0].decision, "recover") << to_string(f);
    EXPECT_EQ(o.log.back().decision, "served_recovered") << to_string(f);
  }
}

TEST_F(RulesTest, ARefusedPrefillIsFollowedByARestart) {
  fp.set_reply("*", "one two three four five six");
  fp.script("a", {Fault::cut(3)});
  Fault refuse = Fault::http_status(400);
  refuse.error_code = "invalid_request_prefix";
  refuse.error_message = "Assistant message with prefix=true is not supported here";
  fp.script("mis", {refuse});
  auto m = deployment("smart", "mis");
  m.provider = "mistral";
  Router router(config({deployment("smart", "a"), m}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(o.content(), "one two three four five six");
  ASSERT_EQ(o.log.size(), 3u);
  EXPECT_EQ(o.log[1].status, 400);
  EXPECT_EQ(o.log[1].decision, "restart_without_prefill");
  EXPECT_EQ(o.log[2].decision, "served_recovered");
}

TEST_F(RulesTest, ARestartThatCannotMatchGetsAContinuationPrompt) {
  fp.set_reply("*", "one two three four five six");
  fp.set_reply("b", "and the rest, in other words.");
  fp.script("a", {Fault::cut(3)});
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  const std::string text = o.content();
  EXPECT_EQ(text.rfind("one two three", 0), 0u) << text;  // what was delivered, once
  EXPECT_NE(text.find("in other words."), std::string::npos) << text;
  EXPECT_EQ(text.find("one two three", 1), std::string::npos) << text;
  ASSERT_EQ(o.log.size(), 3u);
  EXPECT_EQ(o.log[1].decision, "continuation_prompt");
  auto sent = fp.attempts("b");
  ASSERT_EQ(sent.size(), 2u);
  auto body = nlohmann::json::parse(sent[1].body);
  EXPECT_EQ(body["messages"].back()["role"], "user");
  EXPECT_EQ(body["messages"][body["messages"].size() - 2]["role"], "assistant");
}

TEST_F(RulesTest, ARecoveryAnswered400IsLoggedAndTheOriginalErrorSurfaces) {
  fp.set_reply("*", "one two three four five six");
  fp.script("a", {Fault::cut(3)});
  fp.set_default("b", Fault::context_length_exceeded());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);  // never hidden by the fallback's 400
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[1].status, 400);
  EXPECT_EQ(o.log[1].decision, "give_up");
}

TEST_F(RulesTest, WithStreamRecoveryErrorABrokenStreamIsInterrupted) {
  fp.script("a", {Fault::cut(2)});
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.stream_recovery = "error";
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_EQ(o.log.back().decision, "interrupted");
}

TEST_F(RulesTest, TheFinalErrorSummarisesTheRoute) {
  fp.set_default("a", Fault::no_response());
  fp.set_default("b", Fault::unavailable());
  auto cfg = chain();
  cfg.defaults.retry.max_attempts = 1;
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 503) << o.text();
  const std::string body = o.text();
  EXPECT_NE(body.find("all 2 targets failed: smart/a silent for 0."), std::string::npos) << body;
  EXPECT_NE(body.find("backup/b 503"), std::string::npos) << body;
  EXPECT_TRUE(nlohmann::json::parse(body, nullptr, false).is_object()) << body;
}

TEST_F(RulesTest, TheAdaptiveLimitsKeysParseDumpAndRefuseBadValues) {
  const std::string head = R"({"groups": {"g": {"deployments": [{"model": "m", "base_url": "http://127.0.0.1:1"}]}},
                               "defaults": {"timeouts": )";
  auto c = parse_config(head + R"({"first_token_factor": 4.5, "first_token_samples": 6}}})");
  EXPECT_EQ(c.defaults.timeouts.first_token_factor, 4.5);
  EXPECT_EQ(c.defaults.timeouts.first_token_samples, 6);
  auto again = parse_config(dump_config(c));
  EXPECT_EQ(again.defaults.timeouts, c.defaults.timeouts);
  EXPECT_EQ(parse_config(head + "{}}}").defaults.timeouts.first_token_factor, 10);
  for (auto bad : {R"({"first_token_factor": -1})", R"({"first_token_factor": "x"})", R"({"first_token_samples": 0})",
                   R"({"first_token_samples": 9})"}) {
    try {
      parse_config(head + bad + "}}");
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("defaults.timeouts.first_token_"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace llmfailover
