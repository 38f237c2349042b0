// dialects_test.cpp — FakeProvider's Anthropic and Gemini dialects, driven through the adapters:
// translate an OpenAI request, send it to the fake, translate the answer back. Proves the fake and
// the adapters agree (the Python tests prove both agree with the official SDKs). Tool-call answers,
// in all five dialects, are in tests/cpp/testing/fake_tool_call_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/provider.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "testing/adapter_exchange.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;
using testing::exchange;
using testing::FakeProvider;
using testing::Fault;
using testing::RawClient;
using testing::Streamed;
using testing::translate_stream;
using Result = testing::AdapterResult;
namespace http = boost::beast::http;

json hello(bool usage = false) {
  json j = {
      {"model", "ignored"},
      {"messages", {{{"role", "system"}, {"content", "Be brief"}}, {{"role", "user"}, {"content", "Say hello"}}}}};
  if (usage) j["stream_options"] = {{"include_usage", true}};
  return j;
}

Endpoint at(const FakeProvider& fp, const std::string& model, const std::string& suffix = "") {
  Endpoint ep;
  ep.base_url = fp.root_url() + suffix;
  ep.api_key = Secret("test-key");
  ep.model = model;
  return ep;
}

class Dialects : public ::testing::Test {
 protected:
  FakeProvider fp;
  const Provider& anthropic = *find_provider("anthropic");
  const Provider& gemini = *find_provider("gemini");
};

TEST_F(Dialects, AnthropicMessage) {
  const auto ep = at(fp, "claude-test");
  const Result r = exchange(fp, anthropic, ep, hello(), false);
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = json::parse(anthropic.chat_response(ep, r.body));
  EXPECT_EQ(c["choices"][0]["message"]["content"], "Hello from claude-test.");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["model"], "claude-test");
  EXPECT_EQ(c["usage"]["prompt_tokens"], 4);  // "Be brief" + "Say hello"
  const auto rec = fp.attempts("claude-test");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].target, "/v1/messages");
  EXPECT_EQ(rec[0].outcome, "ok");
}

TEST_F(Dialects, AnthropicStreamWithPingAndUsage) {
  const auto ep = at(fp, "claude-test");
  const Result r = exchange(fp, anthropic, ep, hello(true), true);
  EXPECT_NE(r.body.find("event: ping"), std::string::npos);
  const Streamed s = translate_stream(anthropic, ep, hello(true), r.body);
  EXPECT_FALSE(s.error);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.content(), "Hello from claude-test.");
  ASSERT_GE(s.chunks.size(), 3u);
  EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], 3);
  EXPECT_EQ(s.chunks[s.chunks.size() - 2]["choices"][0]["finish_reason"], "stop");
}

TEST_F(Dialects, AnthropicErrorEventBeforeTheFirstToken) {
  fp.script("claude-test", {Fault::error_event(1)});
  const auto ep = at(fp, "claude-test");
  const Result r = exchange(fp, anthropic, ep, hello(), true);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("event: error"), std::string::npos);
  const Streamed s = translate_stream(anthropic, ep, hello(), r.body);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->cls, ErrorClass::retryable);
  EXPECT_EQ(s.error->reason, "overloaded");
  EXPECT_EQ(s.content(), "");  // nothing reached the caller: failover is still possible
  EXPECT_EQ(fp.attempts()[0].outcome, "error_event:1");
}

TEST_F(Dialects, AnthropicErrorBodies) {
  fp.script("claude-test",
            {Fault::overloaded(), Fault::rate_limited(2.0), Fault::context_length_exceeded(), Fault::unauthorized()});
  const auto ep = at(fp, "claude-test");
  const std::vector<std::pair<int, std::string>> expected = {
      {529, "overloaded"}, {429, "rate_limited"}, {400, "context_length_exceeded"}, {401, "auth"}};
  for (const auto& [status, reason] : expected) {
    const Result r = exchange(fp, anthropic, ep, hello(), false);
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(json::parse(r.body)["type"], "error");
    EXPECT_EQ(anthropic.classify(r.status, r.headers, r.body).reason, reason) << r.body;
  }
}

TEST_F(Dialects, AnthropicRejectsARequestWithoutMaxTokens) {
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/messages", R"({"model":"claude-test","messages":[{"role":"user","content":"hi"}]})");
  http::response<http::string_body> res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(json::parse(res.body())["error"]["type"], "invalid_request_error");
}

TEST_F(Dialects, GeminiGenerateContent) {
  const auto ep = at(fp, "gemini-test", "/v1beta");
  const Result r = exchange(fp, gemini, ep, hello(), false);
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = json::parse(gemini.chat_response(ep, r.body));
  EXPECT_EQ(c["choices"][0]["message"]["content"], "Hello from gemini-test.");
  EXPECT_EQ(c["usage"]["completion_tokens"], 3);
  const auto rec = fp.attempts("gemini-test");  // the model comes from the path
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].target, "/v1beta/models/gemini-test:generateContent");
}

TEST_F(Dialects, GeminiStreamEndsWithoutTerminator) {
  const auto ep = at(fp, "gemini-test", "/v1beta");
  const Result r = exchange(fp, gemini, ep, hello(true), true);
  EXPECT_EQ(fp.attempts()[0].target, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  const Streamed s = translate_stream(gemini, ep, hello(true), r.body);
  EXPECT_FALSE(s.error);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.content(), "Hello from gemini-test.");
  EXPECT_EQ(s.chunks.back()["usage"]["total_tokens"], 7);
}

TEST_F(Dialects, GeminiErrorEventAndBodies) {
  fp.script("gemini-test",
            {Fault::error_event(0), Fault::rate_limited(), Fault::context_length_exceeded(), Fault::unavailable()});
  const auto ep = at(fp, "gemini-test", "/v1beta");
  const Streamed s = translate_stream(gemini, ep, hello(), exchange(fp, gemini, ep, hello(), true).body);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->reason, "overloaded");
  const Result limited = exchange(fp, gemini, ep, hello(), false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(gemini.classify(429, limited.headers, limited.body).cls, ErrorClass::rate_limited);
  EXPECT_EQ(gemini.body_retry_hint(limited.body), Millis{1000});
  const Result ctx = exchange(fp, gemini, ep, hello(), false);
  EXPECT_EQ(gemini.classify(ctx.status, ctx.headers, ctx.body).reason, "context_length_exceeded");
  const Result down = exchange(fp, gemini, ep, hello(), false);
  EXPECT_EQ(gemini.classify(down.status, down.headers, down.body).reason, "overloaded");
}

TEST_F(Dialects, OpenAiPathsStillSpeakOpenAi) {
  Endpoint ep = at(fp, "gpt-test", "/v1");
  const Provider& openai = *find_provider("openai");
  const Result r = exchange(fp, openai, ep, hello(), false);
  EXPECT_EQ(json::parse(openai.chat_response(ep, r.body))["object"], "chat.completion");
}

}  // namespace
}  // namespace llmfailover::providers
