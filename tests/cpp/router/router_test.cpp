// The router end to end against the in-process FakeProvider: failover by error class, chains,
// the stream commit point, silent targets, degraded answers. Conduct is asserted from the
// provider's attempt log and the call's route log.
#include "llmfailover/router.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/testing/fake_provider.hpp"
#include "router/router_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using testing::FakeProvider;
using testing::Fault;

TEST_F(RouterTest, ServerErrorFailsOverToAnotherTarget) {
  fp.set_default("a", Fault::unavailable());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  for (int i = 0; i < 4; ++i) {
    auto o = run(router, "smart");
    ASSERT_EQ(o.status(), 200) << o.text();
    ASSERT_TRUE(o.served);
    EXPECT_EQ(o.served->model, "b");
    EXPECT_NE(o.text().find("\"model\":\"b\""), std::string::npos);  // the body asked for b's model
  }
}

TEST_F(RouterTest, SingleTargetRetriesWithBackoffThenSucceeds) {
  fp.script("a", {Fault::server_error(500), Fault::server_error(503), Fault::ok()});
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  ASSERT_EQ(o.log.size(), 3u);
  EXPECT_EQ(o.log[0].decision, "retry");
  EXPECT_EQ(o.log[1].decision, "retry");
  EXPECT_EQ(o.log[2].decision, "served");
  EXPECT_EQ(o.log[1].waited_ms, 0.0);  // full jitter U(0, base) with u = 0
  EXPECT_EQ(o.log[2].waited_ms, 0.0);
  EXPECT_EQ(fp.attempts("a").size(), 3u);
}

TEST_F(RouterTest, MaxAttemptsPerTargetIsHonoured) {
  fp.set_default("a", Fault::server_error(500));
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.retry.max_attempts = 2;
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 500);  // the upstream's own error surfaces
  EXPECT_EQ(fp.attempts("a").size(), 2u);
}

TEST_F(RouterTest, RateLimitCoolsTheKeyDownAndMovesOnAtOnce) {
  fp.set_default("a", Fault::rate_limited(30.0));
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(run(router, "smart").served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 1u);  // cooled down after its first 429
  auto snap = router.snapshot();
  auto a = std::find_if(snap.begin(), snap.end(), [](auto& s) { return s.model == "a"; });
  EXPECT_EQ(a->share, 0);
  EXPECT_GT(a->available_in_ms, 20'000);
}

TEST_F(RouterTest, FallbackChainAcrossGroups) {
  fp.set_default("a", Fault::server_error(500));
  auto cfg = config({deployment("smart", "a"), deployment("cheap", "c")});
  cfg.defaults.retry.max_attempts = 1;
  cfg.fallbacks["smart"] = {"cheap"};
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.served->group, "cheap");
  EXPECT_EQ(o.log[0].decision, "next_group");
}

TEST_F(RouterTest, ContextWindowErrorGoesToItsOwnChain) {
  fp.set_default("a", Fault::context_length_exceeded());
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b"), deployment("long", "l")});
  cfg.context_window_fallbacks["smart"] = {"long"};
  Router router(cfg, {}, nullptr, first());
  fp.set_default("b", Fault::context_length_exceeded());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.served->model, "l");
  EXPECT_EQ(o.log[0].decision, "context_window_fallback");
  EXPECT_EQ(o.log.size(), 2u);  // never retried on the same model, nor on b
}

TEST_F(RouterTest, ContentPolicyErrorSurfacesWithTheProvidersReason) {
  fp.set_default("a", Fault::content_policy());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 400);
  EXPECT_NE(o.text().find("content_policy_violation"), std::string::npos);
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_EQ(o.log[0].reason, "content_policy");
  EXPECT_EQ(o.log[0].decision, "give_up");
}

TEST_F(RouterTest, UnauthorizedKeyIsForcedOpen) {
  fp.set_default("a", Fault::unauthorized());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(router, "smart").served->model, "b");
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(RouterTest, SilentTargetIsNotRetried) {
  fp.set_default("a", Fault::no_response());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  for (int i = 0; i < 3; ++i) {
    auto o = run(router, "smart");
    ASSERT_EQ(o.status(), 200);
    for (auto& a : o.log)
      if (a.model == "a") {
        EXPECT_EQ(a.decision, "failover");
      }
  }
  for (const auto& rec : fp.attempts("a")) EXPECT_EQ(rec.outcome, "no_response");
}

TEST_F(RouterTest, StreamErrorsBeforeTheFirstTokenFailOverInvisibly) {
  for (Fault f : {Fault::error_event(0), Fault::malformed(0), Fault::slow_first_token(1s), Fault::server_error(503)}) {
    fp.reset();
    fp.script("a", {f});
    fp.set_default("b", Fault::unavailable());
    Router router(config({deployment("smart", "a"), deployment("smart", "c")}), {}, nullptr, first());
    fp.set_default("c", Fault::ok());
    auto o = run(router, "smart", true);
    ASSERT_EQ(o.status(), 200) << to_string(f);
    EXPECT_EQ(o.last().kind, Event::Kind::end) << to_string(f);
    EXPECT_EQ(o.text().find("error"), std::string::npos) << to_string(f);
    EXPECT_NE(o.text().find("[DONE]"), std::string::npos) << to_string(f);
  }
}

TEST_F(RouterTest, CutAfterTheFirstTokenIsNeverASuccess) {
  fp.set_default("a", Fault::cut(2));
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  EXPECT_EQ(o.status(), 200);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
}

TEST_F(RouterTest, StallAfterTheFirstTokenIsInterruptedByTheIdleTimeout) {
  fp.set_default("a", Fault::stall(2));
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
}

TEST_F(RouterTest, MalformedChunkMidStreamInterruptsTheStream) {
  // Skipping it would lose its text from an answer that still ends with finish_reason "stop".
  fp.set_default("a", Fault::malformed(2));
  auto cfg = config({deployment("smart", "a")});
  cfg.stream_recovery = "error";
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error) << "a truncated answer reported as complete";
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_EQ(o.text().find("{not json"), std::string::npos);
  EXPECT_EQ(o.log.back().reason, "stream_interrupted");
}

TEST_F(RouterTest, StreamWithoutDoneIsFinalised) {
  fp.set_default("a", Fault::no_done());
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  EXPECT_EQ(o.last().kind, Event::Kind::end);
  EXPECT_EQ(fp.attempts("a").size(), 1u);
}

TEST_F(RouterTest, AStreamThatEndsCleanlyBeforeItsFinishIsInterruptedNotASuccess) {
  Fault f = Fault::cut(2);
  f.chunked = false;  // the body ends when the connection closes: a clean end to the transport
  fp.set_default("a", f);
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.status(), 200);  // two chunks were delivered ...
  ASSERT_EQ(o.last().kind, Event::Kind::error) << "a truncated answer reported as complete";
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_NE(o.last().error.message.find("without a finish reason"), std::string::npos) << o.last().error.message;
  EXPECT_EQ(o.log.back().decision, "interrupted");
}

TEST_F(RouterTest, UsageCountsOfTheWrongTypeAreUnknownNotACrash) {
  fp.set_default("a",
                 Fault::http_status(200, {},
                                    R"({"id":"x","object":"chat.completion","created":1,"model":"a",)"
                                    R"("choices":[{"index":0,"message":{"role":"assistant","content":"ok"},)"
                                    R"("finish_reason":"stop"}],)"
                                    R"("usage":{"prompt_tokens":null,"completion_tokens":"3","total_tokens":null}})"));
  auto a = deployment("smart", "a");
  a.tpm = 1000;
  Router router(config({a}), {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200) << o.text();
  EXPECT_NE(o.text().find("\"content\":\"ok\""), std::string::npos);
}

TEST_F(RouterTest, DegradedAnswerWhenEverythingFails) {
  fp.set_default("a", Fault::server_error(500));
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.retry.max_attempts = 1;
  cfg.degraded_answer = "Please try again later.";
  Router router(cfg, {}, nullptr, first());
  RouteRequest r;
  r.model = "smart";
  r.call.path = "/chat/completions";
  r.call.body = R"({"model":"smart","messages":[]})";
  auto call = router.send(r);
  std::vector<Event> events;
  while (events.empty() || !events.back().terminal()) call->channel().wait(events, 2s);
  EXPECT_TRUE(call->degraded());
  EXPECT_EQ(events[0].status, 200);
  EXPECT_NE(events[1].data.find("Please try again later."), std::string::npos);
}

TEST_F(RouterTest, UnknownGroupIsAClearError) {
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "nope");
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::no_target);
  EXPECT_NE(o.last().error.message.find("nope"), std::string::npos);
}

TEST_F(RouterTest, DeadlineBoundsTheWholeCall) {
  fp.set_default("a", Fault::slow_headers(2s));
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  fp.set_default("b", Fault::slow_headers(2s));
  cfg.defaults.timeouts.first_token = 5s;
  cfg.defaults.timeouts.deadline = 400ms;
  Router router(cfg, {}, nullptr, first());
  auto t0 = Clock::now();
  auto o = run(router, "smart");
  EXPECT_LT(Clock::now() - t0, 1500ms);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::deadline_exceeded);
}

TEST_F(RouterTest, CancelEndsTheCall) {
  fp.set_default("a", Fault::no_response());
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.timeouts.first_token = 10s;
  Router router(cfg, {}, nullptr, first());
  RouteRequest r;
  r.model = "smart";
  r.call.path = "/chat/completions";
  r.call.body = R"({"model":"smart","messages":[]})";
  auto call = router.send(r);
  std::this_thread::sleep_for(50ms);
  call->cancel();
  std::vector<Event> events;
  ASSERT_TRUE(call->channel().wait(events, 2s));
  EXPECT_EQ(events.back().error.code, Errc::cancelled);
}

}  // namespace
}  // namespace llmfailover

namespace llmfailover {
namespace {

TEST(RouterBackoff, RetryWaitsFollowFullJitterWithinBounds) {
  testing::FakeProvider fp;
  fp.script("a", {testing::Fault::server_error(500), testing::Fault::server_error(500), testing::Fault::ok()});
  RouterConfig c;
  DeploymentConfig d;
  d.id = "a";
  d.group = "smart";
  d.model = "a";
  d.base_url = fp.base_url();
  c.deployments = {d};
  c.defaults.retry.backoff_base = std::chrono::milliseconds(40);
  Router router(c, {}, nullptr, std::make_shared<SequenceRandom>(std::vector<double>{0.0, 0.0, 0.5, 0.0, 0.75}));
  RouteRequest r;
  r.model = "smart";
  r.call.path = "/chat/completions";
  r.call.body = R"({"model":"smart","messages":[]})";
  auto call = router.send(r);
  std::vector<Event> events;
  while (events.empty() || !events.back().terminal()) call->channel().wait(events, std::chrono::seconds(2));
  auto log = call->route_log();
  ASSERT_EQ(log.size(), 3u);
  // draws: pick, pick, wait 1, pick, wait 2: U(0, 40 ms) at 0.5 -> 20 ms, U(0, 80 ms) at 0.75 -> 60 ms
  EXPECT_EQ(log[1].waited_ms, 20.0);
  EXPECT_EQ(log[2].waited_ms, 60.0);
  auto seen = fp.attempts("a");
  EXPECT_GE(seen[1].time - seen[0].time, 0.020);
  EXPECT_GE(seen[2].time - seen[1].time, 0.060);
}

}  // namespace
}  // namespace llmfailover

namespace llmfailover {
namespace {

class RecoveryTest : public RouterTest {
 protected:
  RouterConfig recovering() {
    fp.set_reply("*", "one two three four five six");
    auto c = config({deployment("smart", "a"), deployment("smart", "b")});
    c.stream_recovery = "continue";
    return c;
  }
  static std::string content(const Outcome& o) { return o.content(); }
};

TEST_F(RecoveryTest, ContinueFinishesTheAnswerOnAnotherTargetWithoutRepeating) {
  fp.set_default("a", Fault::cut(3));
  Router router(recovering(), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(content(o), "one two three four five six");
  EXPECT_EQ(o.count_heads(), 1u);
  EXPECT_EQ(o.log[0].decision, "recover");
  EXPECT_EQ(o.log.back().decision, "served_recovered");
}

TEST_F(RecoveryTest, ADifferentRestartSurfacesTheOriginalError) {
  fp.set_default("a", Fault::cut(3));
  fp.set_reply("b", "something else entirely");
  fp.script("b", {Fault::ok(), Fault::cut(0)});  // the continuation prompt that follows breaks too
  Router router(recovering(), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_NE(o.last().error.message.find("smart/a"), std::string::npos);  // the original target's error
}

TEST_F(RecoveryTest, AFallbackThatRejectsTheRecoveryNeverHidesTheOriginalError) {
  fp.set_default("a", Fault::cut(3));
  fp.set_default("b", Fault::server_error(500));
  Router router(recovering(), {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
}

}  // namespace
}  // namespace llmfailover

namespace llmfailover {
namespace {

TEST_F(RouterTest, RateLimitedLastTargetWaitsForRetryAfterWithinTheDeadline) {
  fp.script("a", {Fault::rate_limited(std::nullopt, std::chrono::milliseconds(100)), Fault::ok()});
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200);
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].decision, "retry_after");
  EXPECT_GE(o.log[1].waited_ms, 100.0);  // U(hint, 1.5 hint)
  EXPECT_LE(o.log[1].waited_ms, 150.0);
  auto seen = fp.attempts("a");
  EXPECT_GE(seen[1].time - seen[0].time, 0.100);
}

TEST_F(RouterTest, RetryAfterBeyondTheDeadlineIsNotWaitedFor) {
  fp.set_default("a", Fault::rate_limited(30.0));
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.timeouts.deadline = std::chrono::seconds(2);
  Router router(cfg, {}, nullptr, first());
  auto t0 = Clock::now();
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 429);  // the upstream's answer, at once
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace llmfailover

namespace llmfailover {
namespace {

// Cross-provider failover: the same OpenAI-shaped request is served by an Anthropic or Gemini
// fallback (FakeProvider speaks their dialects), and the answer comes back OpenAI-shaped.
class CrossProviderTest : public RouterTest {
 protected:
  DeploymentConfig other(const std::string& provider, const std::string& model, const std::string& suffix) {
    DeploymentConfig d = deployment("smart", model);
    d.provider = provider;
    d.base_url = fp.root_url() + suffix;
    return d;
  }
};

TEST_F(CrossProviderTest, OpenAIPrimaryFailsOverToAnthropic) {
  fp.set_default("a", Fault::unavailable());
  Router router(config({deployment("smart", "a"), other("anthropic", "claude-x", "")}), {}, nullptr, first());
  for (bool stream : {false, true}) {
    auto o = run(router, "smart", stream);
    ASSERT_EQ(o.status(), 200) << o.text();
    ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
    EXPECT_EQ(o.served->provider, "anthropic");
    EXPECT_NE(o.text().find(stream ? "chat.completion.chunk" : "\"chat.completion\""), std::string::npos) << o.text();
    EXPECT_NE(o.text().find(stream ? " claude-x." : "Hello from claude-x"), std::string::npos) << o.text();
    if (stream) {
      EXPECT_NE(o.text().find("[DONE]"), std::string::npos);
    }
  }
  auto seen = fp.attempts("claude-x");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].target.find("/v1/messages"), std::string::npos);
}

// An Anthropic answer whose "id" is null: nlohmann's type_error inside the adapter must become a
// classified error naming the provider (never an exception on the io thread).
constexpr const char* kAnthropicNullId =
    R"({"id":null,"type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"}],)"
    R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})";

TEST_F(CrossProviderTest, AnAnswerThatDoesNotFitItsSchemaFailsOver) {
  fp.set_default("claude-x", Fault::http_status(200, {}, kAnthropicNullId));
  Router router(config({other("anthropic", "claude-x", ""), deployment("smart", "b")}), {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200) << o.text();
  EXPECT_EQ(o.served->model, "b");
  EXPECT_EQ(o.log[0].reason, "bad_response");
  EXPECT_NE(o.log[0].message.find("anthropic"), std::string::npos) << o.log[0].message;
}

TEST_F(CrossProviderTest, WithNothingLeftABadAnswerSurfacesClassifiedAndNamingTheProvider) {
  fp.set_default("claude-x", Fault::http_status(200, {}, kAnthropicNullId));
  auto cfg = config({other("anthropic", "claude-x", "")});
  cfg.defaults.retry.max_attempts = 1;
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  EXPECT_EQ(o.status(), 502) << o.text();
  auto body = nlohmann::json::parse(o.text());
  EXPECT_EQ(body["error"]["code"], "bad_response");
  EXPECT_EQ(body["error"]["message"].get<std::string>().rfind("anthropic: ", 0), 0u) << body.dump();
}

TEST_F(CrossProviderTest, WithNothingLeftAnErrorEventSurfacesAsTheProvidersError) {
  fp.set_default("claude-x", Fault::error_event(0));
  auto cfg = config({other("anthropic", "claude-x", "")});
  cfg.defaults.retry.max_attempts = 1;
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart", true);
  EXPECT_EQ(o.status(), 529) << o.text();  // overloaded, as Anthropic says it
  auto body = nlohmann::json::parse(o.text());
  EXPECT_EQ(body["error"]["code"], "overloaded");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("anthropic"), std::string::npos) << body.dump();
}

TEST_F(CrossProviderTest, AnthropicErrorEventAfterMessageStartStillFailsOverInvisibly) {
  fp.set_default("claude-x", Fault::error_event(1));  // message_start went out, then the error
  Router router(config({other("anthropic", "claude-x", ""), other("gemini", "gemini-x", "/v1beta")}), {}, nullptr,
                first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(o.served->provider, "gemini");
  EXPECT_EQ(o.log[0].reason, "overloaded");
  EXPECT_EQ(o.count_heads(), 1u);  // the caller saw one answer: the fallback's
  EXPECT_NE(o.text().find("gemini-x"), std::string::npos) << o.text();
}

TEST_F(CrossProviderTest, GeminisRetryDelayInTheBodyIsWaitedForOnTheLastTarget) {
  // A 429 without Retry-After headers: the wait comes from the body's RetryInfo.retryDelay ("1s").
  fp.script("gemini-x", {Fault::rate_limited(std::nullopt), Fault::ok()});
  auto cfg = config({other("gemini", "gemini-x", "/v1beta")});
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart");
  ASSERT_EQ(o.status(), 200) << o.text();
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].decision, "retry_after");
  EXPECT_EQ(o.log[0].retry_after_ms, 1000);
  auto seen = fp.attempts("gemini-x");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1].time - seen[0].time, 0.99) << "U(1 s, 1.5 s) with u = 0: at least the asked-for second";
  EXPECT_LT(seen[1].time - seen[0].time, 1.6);
}

TEST_F(CrossProviderTest, AnthropicOverloadedEventBeforeTheFirstTokenFailsOverToGemini) {
  fp.set_default("claude-x", Fault::error_event(0));
  Router router(config({other("anthropic", "claude-x", ""), other("gemini", "gemini-x", "/v1beta")}), {}, nullptr,
                first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(o.served->provider, "gemini");
  EXPECT_EQ(o.log[0].reason, "overloaded");
  EXPECT_EQ(o.text().find("overloaded"), std::string::npos);  // nothing of the failure reached the caller
}

}  // namespace
}  // namespace llmfailover

namespace llmfailover {
namespace {

TEST_F(CrossProviderTest, RecoveryContinuesFromAnAssistantPrefillWhereTheTargetAcceptsOne) {
  fp.set_reply("a", "one two three four five six");
  fp.set_default("a", Fault::cut(3));
  auto cfg = config({deployment("smart", "a"), other("anthropic", "claude-x", "")});
  cfg.stream_recovery = "continue";
  Router router(cfg, {}, nullptr, first());
  auto o = run(router, "smart", true);
  ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(o.log.back().decision, "served_recovered");
  auto sent = fp.attempts("claude-x");
  ASSERT_EQ(sent.size(), 1u);
  auto body = nlohmann::json::parse(sent[0].body);
  const auto& last = body["messages"].back();
  EXPECT_EQ(last["role"], "assistant");  // the delivered text went as a prefill
  EXPECT_NE(last["content"].dump().find("one two three"), std::string::npos) << last.dump();
  const std::string text = o.content();
  EXPECT_EQ(text.rfind("one two three", 0), 0u) << text;        // what was delivered first
  EXPECT_NE(text.find("claude-x"), std::string::npos) << text;  // then only the continuation
}

}  // namespace
}  // namespace llmfailover
