// retry.style openai (policy/backoff.hpp): a one-group router with openai-python's retry rules,
// as a plain client uses it, in virtual time (sim_fixture.hpp: every draw 0.5, so openai's
// backoff min(0.5 s * 2^n, 8 s) * (1 - 0.25 * 0.5) is 437 ms, 875 ms, 1750 ms, ...).
#include <gtest/gtest.h>

#include "llmfailover/config.hpp"
#include "llmfailover/plain.hpp"
#include "router/sim_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

class OpenAiStyle : public SimWorld {
 protected:
  // A plain client of host a (plain.hpp): openai's rules, no breaker, the caller's model.
  static RouterConfig plain(int max_retries = 2) {
    PlainUpstream u;
    u.base_url = "http://a/v1";
    u.api_key = Secret("sk-sim");
    u.max_retries = max_retries;
    return plain_router_config(u);
  }
  static RouteRequest request(bool stream = false) {
    RouteRequest r = SimWorld::request(stream);
    r.model = kPlainGroup;
    return r;
  }
  Call call(bool stream = false) { return SimWorld::call(request(stream)); }
  static std::vector<std::string> decisions(const Call& o) {
    std::vector<std::string> out;
    for (const auto& a : o.log) out.push_back(a.decision);
    return out;
  }
};

TEST_F(OpenAiStyle, RetriesTheRetryableStatusesWithOpenAisBackoff) {
  for (int status : {408, 409, 429, 500, 503}) {
    SCOPED_TRACE(status);
    sim = std::make_shared<SimTransport>(clock);
    build(plain());
    sim->script("a", {SimReply::error(status, 10ms), SimReply::error(status, 10ms), SimReply::answer("hi", 10ms)});
    auto o = call();
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 10ms + 437ms, 10ms + 437ms + 10ms + 875ms}));
    EXPECT_EQ(decisions(o), (std::vector<std::string>{"retry", "retry", "served"}));
  }
}

TEST_F(OpenAiStyle, StopsAfterMaxRetriesWithTheLastAnswer) {
  build(plain(3));
  sim->set_default("a", SimReply::error(503));
  auto o = call();
  EXPECT_EQ(o.status(), 503);
  EXPECT_EQ(sim->count("a"), 4u);  // the first attempt and three retries
  EXPECT_EQ(decisions(o), (std::vector<std::string>{"retry", "retry", "retry", "give_up"}));
}

TEST_F(OpenAiStyle, MoreRetriesThanTheRoutersCapAreAllowed) {
  build(plain(7));
  sim->set_default("a", SimReply::error(500));
  auto o = call();
  EXPECT_EQ(o.status(), 500);
  EXPECT_EQ(sim->count("a"), 8u);  // the router's style stops at 5 attempts
}

TEST_F(OpenAiStyle, HonoursRetryAfterUpToSixtySeconds) {
  build(plain());
  sim->script("a", {SimReply::error(429, 0ms, {{"retry-after", "2"}}),
                    SimReply::error(429, 0ms, {{"retry-after-ms", "1500"}}), SimReply::answer("hi")});
  auto o = call();
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", Millis{0}), (Ms{0ms, 2000ms, 3500ms}));

  sim = std::make_shared<SimTransport>(clock);
  build(plain());
  sim->script("a", {SimReply::error(429, 0ms, {{"retry-after", "61"}}), SimReply::answer("hi")});
  const Millis t0 = sim->elapsed();
  o = call();
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(since("a", t0), (Ms{0ms, 437ms}));  // over 60 s: openai's own backoff instead
}

TEST_F(OpenAiStyle, DoesNotRetryWhatOpenAiDoesNot) {
  for (auto [status, headers] :
       {std::pair{400, Headers{}}, {401, Headers{}}, {404, Headers{}}, {503, Headers{{"x-should-retry", "false"}}}}) {
    SCOPED_TRACE(status);
    sim = std::make_shared<SimTransport>(clock);
    build(plain());
    sim->set_default("a", SimReply::error(status, 0ms, headers));
    auto o = call();
    EXPECT_EQ(o.status(), status);
    EXPECT_EQ(sim->count("a"), 1u);
  }
}

TEST_F(OpenAiStyle, XShouldRetryTrueRetriesAnyStatus) {
  build(plain());
  sim->script("a", {SimReply::error(400, 0ms, {{"x-should-retry", "true"}}), SimReply::answer("hi")});
  auto o = call();
  EXPECT_EQ(o.status(), 200);
  EXPECT_EQ(sim->count("a"), 2u);
}

TEST_F(OpenAiStyle, RetriesConnectionFailures) {
  build(plain());
  sim->script("a", {SimReply().fail(5ms, Errc::connection_reset), SimReply::answer("hi")});
  auto o = call();
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(sim->count("a"), 2u);
}

// A plain client has no retry budget: openai-python retries every call. With the router's style
// and an empty budget the second attempt of each of these calls would be refused.
TEST_F(OpenAiStyle, RetriesAreNeverRefusedByTheBudget) {
  auto c = plain();  // its budget would refuse: the style never asks it
  c.defaults.budget.percent_can_retry = 0;
  c.defaults.budget.min_retries_per_sec = 0;
  build(c);
  for (int i = 0; i < 20; ++i) {
    sim->script("a", {SimReply::error(503), SimReply::answer("hi")});
    auto o = call();
    ASSERT_EQ(o.status(), 200) << "call " << i << ": " << o.log[0].decision;
  }
}

// Without a breaker (a plain client's default) a run of failures never turns the next calls'
// retries into fast failures, nor does a 429 cool the only target down.
TEST_F(OpenAiStyle, WithoutABreakerFailuresNeverFailTheNextCallFast) {
  build(plain());
  sim->set_default("a", SimReply::error(429));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(call().status(), 429);
  EXPECT_EQ(sim->count("a"), 36u);  // three attempts each
  sim->set_default("a", SimReply::answer("hi"));
  EXPECT_EQ(call().status(), 200);
}

TEST_F(OpenAiStyle, APlainClientSendsTheCallersModelAndKey) {
  build(plain());
  sim->script("a", {SimReply::answer("hi")});
  auto o = call();
  ASSERT_EQ(o.status(), 200);
  auto sent = sim->attempts();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(sent[0].request.body).at("model"), "main");  // the request's, unchanged
  EXPECT_EQ(sent[0].request.url, "http://a/v1/chat/completions");
  const std::string* auth = find_header(sent[0].request.headers, "authorization");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(*auth, "Bearer sk-sim");
}

TEST_F(OpenAiStyle, APlainClientsMaxRetriesIsChecked) {
  PlainUpstream u;
  u.base_url = "http://a/v1";
  u.max_retries = -1;
  EXPECT_THROW(plain_router_config(u), ConfigError);
  u.max_retries = kMaxOpenAiAttempts;
  EXPECT_THROW(plain_router_config(u), ConfigError);
  u.max_retries = 0;
  EXPECT_EQ(plain_router_config(u).defaults.retry.max_attempts, 1);
}

TEST_F(OpenAiStyle, ConfigKeyParsesDumpsAndBoundsMaxAttempts) {
  auto ok = parse_config(
      R"({"groups": {"g": {"deployments": [{"model": "m", "base_url": "http://127.0.0.1:1"}],
          "policy": {"retry": {"style": "openai", "max_attempts": 11}}}}})");
  ASSERT_EQ(ok.policy_for("g").retry.style, RetryStyle::openai);
  EXPECT_EQ(ok.policy_for("g").retry.max_attempts, 11);
  EXPECT_EQ(parse_config(dump_config(ok)), ok);  // the dump carries the style
  EXPECT_THROW(parse_config(R"({"groups": {"g": {"deployments": [{"model": "m"}],
                   "policy": {"retry": {"max_attempts": 11}}}}})"),
               ConfigError);  // the router's style keeps its cap of 5
  EXPECT_THROW(parse_config(R"({"groups": {"g": {"deployments": [{"model": "m"}],
                   "policy": {"retry": {"style": "tenacity"}}}}})"),
               ConfigError);
}

}  // namespace
}  // namespace llmfailover
