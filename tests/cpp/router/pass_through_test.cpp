// Pass-through mode (router.hpp's PassThrough) on a plain client's router (plain.hpp), in virtual
// time (sim_fixture.hpp: every draw 0.5, so openai's backoff min(0.5 s * 2^n, 8 s) * (1 - 0.25 *
// 0.5) is 437 ms, 875 ms, 1750 ms, ...): the request goes as the caller built it, the answer comes
// back as the upstream sent it, and the attempts follow openai-python's rules (policy/retry.hpp)
// as the plain client's did: x-should-retry, retry-after, 408/409/429/5xx, connection errors and
// time-outs before the head; a stream cut after the head is the caller's, never retried.
#include <gtest/gtest.h>

#include "llmfailover/config.hpp"
#include "llmfailover/plain.hpp"
#include "llmfailover/policy/retry.hpp"
#include "llmfailover/providers/openai.hpp"
#include "router/sim_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

class PassThroughTest : public SimWorld {
 protected:
  static RouterConfig plain(int max_retries = 2, const std::string& provider = "openai") {
    PlainUpstream u;
    u.provider = provider;
    u.base_url = "http://a/v1";
    u.api_key = Secret("sk-sim-key-0123456789");
    u.max_retries = max_retries;
    return plain_router_config(u);
  }
  static Timeouts limits(Millis first_byte = Millis{0}, Millis idle = Millis{0}) {
    Timeouts t;
    t.connect = 5000ms;
    t.first_byte = first_byte;
    t.idle = idle;
    return t;
  }
  // A call as the plain client builds it: a body the router would not recognise as a chat request.
  static RouteRequest pass(bool stream = false, Timeouts t = limits()) {
    RouteRequest r;
    r.model = kPlainGroup;
    r.call.path = "/chat/completions";
    r.call.body = R"({"model":"whatever-model",  "messages":[{"role":"user","content":"hi"}], "x":1})";
    r.call.headers = {{"X-Stainless-Lang", "python"}, {"Idempotency-Key", "k1"}};
    r.call.query = {{"q", "a b"}};
    r.stream = stream;
    r.pass = PassThrough{t, nullptr};
    return r;
  }
  Call run(RouteRequest r) { return call(std::move(r)); }
  // The error a terminal failure event carries, or ok.
  static Errc failure(const Call& o) {
    return o.ended() && o.last().kind == Event::Kind::error ? o.last().error.code : Errc::ok;
  }
  // openai-python's wait before retry n (0-based) with the fixture's draw of 0.5.
  static Millis backoff(int n, std::optional<Millis> asked = std::nullopt) {
    return policy::openai_backoff(n, asked, 0.5);
  }
};

TEST_F(PassThroughTest, SendsTheRequestAsTheCallerBuiltIt) {
  build(plain());
  auto r = pass(false, limits(3000ms, 700ms));
  auto o = run(r);
  ASSERT_EQ(o.status(), 200);
  auto sent = sim->attempts();
  ASSERT_EQ(sent.size(), 1u);
  // Exactly what the plain client's engine sent: providers::build_request() of the upstream.
  providers::Upstream u;
  u.base_url = "http://a/v1";
  u.api_key = "sk-sim-key-0123456789";
  const HttpRequest want = providers::build_request(u, r.call, r.pass->timeouts);
  EXPECT_EQ(sent[0].request.method, want.method);
  EXPECT_EQ(sent[0].request.url, "http://a/v1/chat/completions?q=a%20b");
  EXPECT_EQ(sent[0].request.url, want.url);
  EXPECT_EQ(sent[0].request.headers, want.headers);
  EXPECT_EQ(sent[0].request.body, r.call.body);  // byte for byte: the model is not rewritten
  EXPECT_EQ(sent[0].request.timeouts.first_byte, 3000ms);
  EXPECT_EQ(sent[0].request.timeouts.idle, 700ms);
  EXPECT_EQ(sent[0].request.timeouts.connect, 5000ms);
  EXPECT_FALSE(sent[0].request.deadline.has_value());  // the caller's limits only
}

TEST_F(PassThroughTest, TheCallsUpstreamReplacesTheDeployments) {
  build(plain());
  auto r = pass();
  auto u = std::make_shared<providers::Upstream>();
  u->kind = providers::Upstream::Kind::azure;
  u->base_url = "http://b/openai/deployments/d1";
  u->api_key = "azure-key";
  u->api_version = "2024-10-21";
  r.pass->upstream = u;
  auto o = run(r);
  ASSERT_EQ(o.status(), 200);
  auto sent = sim->attempts();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].host, "b");
  EXPECT_EQ(sent[0].request.url, "http://b/openai/deployments/d1/chat/completions?api-version=2024-10-21&q=a%20b");
  ASSERT_NE(find_header(sent[0].request.headers, "api-key"), nullptr);
  EXPECT_EQ(*find_header(sent[0].request.headers, "api-key"), "azure-key");
  EXPECT_EQ(find_header(sent[0].request.headers, "authorization"), nullptr);
}

TEST_F(PassThroughTest, ReturnsTheAnswerAsItCame) {
  build(plain());
  const std::string body = "not JSON at all, {\"model\": \"whatever-model\"}";  // never parsed
  sim->script("a", {SimReply()
                        .head(5ms, 200, {{"content-type", "text/plain"}, {"content-length", "44"}, {"x-up", "1"}})
                        .body(6ms, body.substr(0, 10))
                        .body(7ms, body.substr(10))
                        .end(7ms)});
  auto o = run(pass());
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.events[0].headers,
            (Headers{{"content-type", "text/plain"}, {"content-length", "44"}, {"x-up", "1"}}));  // no x-llmfailover-*
  ASSERT_EQ(o.events.size(), 4u);  // head, both pieces as they came, end
  EXPECT_EQ(o.events[1].data, body.substr(0, 10));
  EXPECT_EQ(o.events[2].data, body.substr(10));
  EXPECT_EQ(o.last().kind, Event::Kind::end);
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.log.size(), 1u);
}

TEST_F(PassThroughTest, AnSseStreamIsForwardedUntouched) {
  build(plain());
  // Events the router's stream inspection would refuse (no JSON, no finish reason, no [DONE]).
  sim->script("a", {SimReply()
                        .head(0ms, 200, {{"content-type", "text/event-stream"}})
                        .sse(10ms, "first, not json")
                        .sse(20ms, R"({"choices": "wrong type"})")
                        .end(30ms)});
  auto o = run(pass(true));
  ASSERT_EQ(o.status(), 200);
  ASSERT_EQ(o.events.size(), 4u);
  EXPECT_EQ(o.events[1].kind, Event::Kind::sse);
  EXPECT_EQ(o.events[1].data, "first, not json");
  EXPECT_EQ(o.events[2].data, R"({"choices": "wrong type"})");
  EXPECT_EQ(o.last().kind, Event::Kind::end);
  EXPECT_EQ(o.took, 30ms);
}

TEST_F(PassThroughTest, RetriesTheStatusesOpenAiRetriesWithItsSpacing) {
  for (int status : {408, 409, 429, 500, 502, 503, 504}) {
    SCOPED_TRACE(status);
    sim = std::make_shared<SimTransport>(clock);
    build(plain());
    sim->script("a", {SimReply::error(status, 10ms), SimReply::error(status, 10ms), SimReply::answer("hi", 10ms)});
    auto o = run(pass());
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.count_heads(), 1u);  // the retried answers are not the caller's
    EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 10ms + backoff(0), 10ms + backoff(0) + 10ms + backoff(1)}));
    EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 447ms, 1332ms}));
    auto c = router->send(pass());
    sim->run_until([&] { return c->channel().finished(); }, 1min);
    EXPECT_EQ(c->retries_taken(), 0);
  }
}

TEST_F(PassThroughTest, TheLastErrorAnswerIsTheUpstreamsVerbatim) {
  build(plain(3));
  const std::string body = R"({"error": {"message": "overloaded", "type": "server_error"}, "extra": [1,2]})";
  sim->set_default(
      "a", SimReply().head(0ms, 503, {{"content-type", "application/json"}, {"x-req", "r1"}}).body(1ms, body).end(1ms));
  auto o = run(pass());
  EXPECT_EQ(o.status(), 503);
  EXPECT_EQ(sim->count("a"), 4u);  // the first attempt and three retries
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 1ms + 437ms, 2ms + 437ms + 875ms, 3ms + 437ms + 875ms + 1750ms}));
  EXPECT_EQ(o.events[0].headers, (Headers{{"content-type", "application/json"}, {"x-req", "r1"}}));
  EXPECT_EQ(o.text(), body);  // no route summary, nothing re-serialised
  auto c = router->send(pass());
  sim->run_until([&] { return c->channel().finished(); }, 1min);
  EXPECT_EQ(c->retries_taken(), 3);
  auto attempts = c->attempts();
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(attempts[0].url, "http://a/v1/chat/completions?q=a%20b");
  EXPECT_EQ(attempts[3].waited_ms, 1750.0);
}

TEST_F(PassThroughTest, DoesNotRetryWhatOpenAiDoesNot) {
  for (auto [status, headers] : {std::pair{400, Headers{}},
                                 {401, Headers{}},
                                 {403, Headers{}},
                                 {404, Headers{}},
                                 {422, Headers{}},
                                 {503, Headers{{"x-should-retry", "false"}}}}) {
    SCOPED_TRACE(status);
    sim = std::make_shared<SimTransport>(clock);
    build(plain());
    sim->set_default("a", SimReply::error(status, 0ms, headers));
    auto o = run(pass());
    EXPECT_EQ(o.status(), status);
    EXPECT_EQ(sim->count("a"), 1u);
    EXPECT_EQ(o.last().kind, Event::Kind::end);
  }
}

TEST_F(PassThroughTest, XShouldRetryTrueRetriesAnyStatus) {
  build(plain());
  sim->script("a", {SimReply::error(400, 0ms, {{"x-should-retry", "true"}}), SimReply::answer("hi")});
  auto o = run(pass());
  EXPECT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 437ms}));
}

TEST_F(PassThroughTest, HonoursRetryAfterUpToSixtySeconds) {
  build(plain());
  sim->script("a", {SimReply::error(429, 0ms, {{"retry-after", "2"}}),
                    SimReply::error(429, 0ms, {{"retry-after-ms", "1500"}}), SimReply::answer("hi")});
  auto o = run(pass());
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 2000ms, 3500ms}));

  sim = std::make_shared<SimTransport>(clock);
  build(plain());
  sim->script("a", {SimReply::error(429, 0ms, {{"retry-after", "61"}}), SimReply::answer("hi")});
  o = run(pass());
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 437ms}));  // over 60 s: openai's own backoff instead
}

TEST_F(PassThroughTest, RetriesConnectionErrorsBeforeTheHead) {
  for (Errc code : {Errc::connection_reset, Errc::connection_closed, Errc::connect_failed}) {
    SCOPED_TRACE(std::string(to_string(code)));
    sim = std::make_shared<SimTransport>(clock);
    build(plain());
    sim->script("a", {SimReply().fail(5ms, code), SimReply().fail(5ms, code), SimReply::answer("hi")});
    auto o = run(pass());
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 5ms + 437ms, 10ms + 437ms + 875ms}));
  }
  sim = std::make_shared<SimTransport>(clock);
  build(plain(1));
  sim->set_default("a", SimReply().fail(0ms, Errc::connection_reset));
  auto o = run(pass());
  EXPECT_EQ(failure(o), Errc::connection_reset);  // retries spent: the error itself
  EXPECT_EQ(o.count_heads(), 0u);
  EXPECT_EQ(sim->count("a"), 2u);
}

TEST_F(PassThroughTest, TheCallersFirstByteLimitIsPerAttemptAndRetried) {
  build(plain());
  sim->set_default("a", SimReply::silent());
  auto o = run(pass(false, limits(2000ms)));
  EXPECT_EQ(failure(o), Errc::first_byte_timeout);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 2000ms + 437ms, 4000ms + 437ms + 875ms}));
  EXPECT_EQ(o.took, 6000ms + 437ms + 875ms);
}

TEST_F(PassThroughTest, AStreamCutAfterTheHeadIsNotRetried) {
  build(plain());
  sim->script("a", {SimReply()
                        .head(0ms, 200, {{"content-type", "text/event-stream"}})
                        .sse(10ms, R"({"choices": [{"delta": {"content": "par"}}]})")
                        .fail(20ms, Errc::connection_reset)});
  auto o = run(pass(true));
  ASSERT_EQ(o.status(), 200);
  ASSERT_EQ(o.events.size(), 3u);
  EXPECT_EQ(o.events[1].data, R"({"choices": [{"delta": {"content": "par"}}]})");
  EXPECT_EQ(failure(o), Errc::connection_reset);  // as the transport said it, not stream_interrupted
  EXPECT_EQ(sim->count("a"), 1u);
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_EQ(o.log[0].error, "connection_reset");
}

TEST_F(PassThroughTest, AReadGapAfterTheHeadEndsTheAnswerWithoutARetry) {
  build(plain());
  sim->script("a",
              {SimReply().head(0ms, 200, {{"content-type", "text/event-stream"}}).sse(10ms, "x").sse(5000ms, "y")});
  auto o = run(pass(true, limits(Millis{0}, 1000ms)));
  EXPECT_EQ(failure(o), Errc::idle_timeout);
  EXPECT_EQ(o.took, 1010ms);
  EXPECT_EQ(sim->count("a"), 1u);
}

TEST_F(PassThroughTest, AnErrorBodyThatBreaksOffIsStillRetriedByItsStatus) {
  build(plain());
  sim->script(
      "a", {SimReply().head(0ms, 503).body(1ms, "{\"err").fail(2ms, Errc::connection_reset), SimReply::answer("hi")});
  auto o = run(pass());
  EXPECT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 2ms + 437ms}));
}

TEST_F(PassThroughTest, TheCallsMaxAttemptsOverridesTheClients) {
  build(plain(2));
  sim->set_default("a", SimReply::error(500));
  auto r = pass();
  r.overrides.max_attempts = 1;  // with_options(max_retries=0)
  EXPECT_EQ(run(r).status(), 500);
  EXPECT_EQ(sim->count("a"), 1u);
  r.overrides.max_attempts = 6;
  EXPECT_EQ(run(r).status(), 500);
  EXPECT_EQ(sim->count("a"), 7u);
}

TEST_F(PassThroughTest, ACancelDuringTheBackoffEndsTheCall) {
  build(plain());
  sim->set_default("a", SimReply::error(503));
  auto c = router->send(pass());
  sim->advance(100ms);  // the first answer came; the retry waits 437 ms
  c->cancel();
  sim->advance(10s);
  EXPECT_TRUE(c->channel().finished());
  EXPECT_EQ(sim->count("a"), 1u);
  EXPECT_EQ(sim->pending(), 0u);  // no timer left behind
}

// As the plain client's engine did: the caller's last handle going cancels the call.
TEST_F(PassThroughTest, DroppingTheLastHandleCancelsTheCall) {
  build(plain());
  sim->set_default("a", SimReply::error(503));
  auto c = router->send(pass());
  sim->advance(100ms);  // the first answer came; the retry waits 437 ms
  c.reset();
  sim->advance(10s);
  EXPECT_EQ(sim->count("a"), 1u);
  EXPECT_EQ(sim->pending(), 0u);
}

TEST_F(PassThroughTest, AProviderThatIsNotOpenAiCompatibleAnswers400) {
  auto c = plain(2, "anthropic");
  c.deployments[0].model = "claude";
  build(c);
  auto o = run(pass());
  EXPECT_EQ(o.status(), 400);
  EXPECT_EQ(sim->count("a"), 0u);
  EXPECT_NE(o.text().find("unsupported_parameter"), std::string::npos);
}

TEST_F(PassThroughTest, AnUnknownGroupIsNoTarget) {
  build(plain());
  auto r = pass();
  r.model = "nope";
  EXPECT_EQ(failure(run(r)), Errc::no_target);
}

TEST_F(PassThroughTest, TheKeyNeverReachesTheRouteLog) {
  build(plain(0));
  sim->set_default("a", SimReply().head(0ms, 200).fail(1ms, Errc::connection_reset));
  auto o = run(pass());
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_EQ(o.log[0].message.find("sk-sim-key-0123456789"), std::string::npos);
}

}  // namespace
}  // namespace llmfailover
