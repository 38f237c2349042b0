// anthropic_test.cpp — the Anthropic adapter beyond the golden fixtures: error classification,
// parameter behaviour and answers that do not fit the schema.
#include "llmfailover/providers/anthropic.hpp"

#include <gtest/gtest.h>

namespace llmfailover::providers {
namespace {

using nlohmann::json;

const Provider& anthropic() { return *find_provider("anthropic"); }

std::string err(const std::string& type, const std::string& message) {
  return json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}, {"request_id", "req_1"}}.dump();
}

struct Case {
  int status;
  Headers headers;
  std::string body;
  ErrorClass cls;
  std::string reason;
};

TEST(AnthropicClassify, Table) {
  const std::vector<Case> cases = {
      {529, {}, err("overloaded_error", "Overloaded"), ErrorClass::retryable, "overloaded"},
      {429,
       {{"retry-after", "3"}},
       err("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
       ErrorClass::rate_limited,
       "rate_limited"},
      {400,
       {},
       err("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
       ErrorClass::fatal_request,
       "context_length_exceeded"},
      {400,
       {},
       err("invalid_request_error", "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000"),
       ErrorClass::fatal_request,
       "context_length_exceeded"},
      {400,
       {},
       err("invalid_request_error", "Your credit balance is too low to access the Anthropic API."),
       ErrorClass::fatal_target,
       "quota"},
      {400,
       {},
       err("invalid_request_error", "messages: roles must alternate"),
       ErrorClass::fatal_request,
       "bad_request"},
      {401, {}, err("authentication_error", "invalid x-api-key"), ErrorClass::fatal_target, "auth"},
      {402, {}, err("billing_error", "billing"), ErrorClass::fatal_target, "quota"},
      {403, {}, err("permission_error", "no"), ErrorClass::fatal_target, "auth"},
      {404, {}, err("not_found_error", "model: claude-x"), ErrorClass::fatal_target, "not_found"},
      {413,
       {},
       err("request_too_large", "Request exceeds the maximum allowed number of bytes."),
       ErrorClass::fatal_request,
       "bad_request"},
      {500, {}, err("api_error", "Internal server error"), ErrorClass::retryable, "server_error"},
      {504, {}, err("timeout_error", "timeout"), ErrorClass::retryable, "server_error"},
      {502, {}, "<html>bad gateway</html>", ErrorClass::retryable, "server_error"},
  };
  for (const auto& c : cases) {
    const ErrorVerdict v = anthropic().classify(c.status, c.headers, c.body);
    EXPECT_EQ(v.cls, c.cls) << c.status << " " << c.body;
    EXPECT_EQ(v.reason, c.reason) << c.status << " " << c.body;
  }
}

TEST(AnthropicClassify, RateLimitHeadersNameTheExhaustedBudget) {
  const Headers h = {{"anthropic-ratelimit-requests-remaining", "12"},
                     {"anthropic-ratelimit-input-tokens-remaining", "0"},
                     {"anthropic-ratelimit-input-tokens-reset", "2026-01-01T00:00:30Z"}};
  const ErrorVerdict v = anthropic().classify(429, h, err("rate_limit_error", "slow down"));
  EXPECT_EQ(v.cls, ErrorClass::rate_limited);
  EXPECT_NE(v.message.find("input-tokens (resets 2026-01-01T00:00:30Z)"), std::string::npos) << v.message;
}

TEST(Anthropic, MalformedAnswersThrowTranslationErrorNamingTheProvider) {
  for (std::string body :
       {"{not json", "[]", "{\"type\":\"message\"}", "{\"content\":[{\"type\":\"text\",\"text\":5}]}",
        "{\"content\":[7]}", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}"}) {
    try {
      anthropic().chat_response({}, body);
      ADD_FAILURE() << "no throw for " << body;
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), "anthropic");
      EXPECT_FALSE(e.verdict().has_value());
      EXPECT_TRUE(std::string(e.what()).starts_with("anthropic: ")) << e.what();
    }
  }
}

TEST(Anthropic, MalformedStreamEventThrows) {
  auto tr = anthropic().stream_translator({}, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  EXPECT_THROW(tr->on_sse("content_block_delta", "{not json", chunks, error), TranslationError);
}

TEST(Anthropic, HeadersAndDefaults) {
  Endpoint ep;
  ep.api_key = Secret("sk-ant-test");
  ep.model = "claude-sonnet-4-5";
  ep.headers = {{"anthropic-beta", "prompt-caching-2024-07-31"}, {"anthropic-version", "2024-01-01"}};
  auto t = anthropic().chat_request(ep, {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}, false, Timeouts{});
  EXPECT_EQ(t.http.url, "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(*find_header(t.http.headers, "x-api-key"), "sk-ant-test");
  EXPECT_EQ(*find_header(t.http.headers, "anthropic-version"), "2024-01-01");  // the deployment's own wins
  EXPECT_EQ(*find_header(t.http.headers, "anthropic-beta"), "prompt-caching-2024-07-31");
  EXPECT_EQ(find_header(t.http.headers, "Authorization"), nullptr);
  const json body = json::parse(t.http.body);
  EXPECT_EQ(body["max_tokens"], anthropic::kDefaultMaxTokens);
  EXPECT_EQ(body["model"], "claude-sonnet-4-5");
  EXPECT_TRUE(t.warnings.empty());
  EXPECT_TRUE(anthropic().supports_prefill());
}

TEST(Anthropic, TemperatureIsClampedWithAWarning) {
  std::vector<std::string> warnings;
  json body = anthropic::request_body({{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"temperature", 2}},
                                      false, warnings);
  EXPECT_EQ(body["temperature"], 1.0);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("clamped to 1"), std::string::npos);
}

TEST(Anthropic, OnlySystemMessagesIsRejected) {
  std::vector<std::string> warnings;
  EXPECT_THROW(anthropic::request_body({{"messages", {{{"role", "system"}, {"content", "x"}}}}}, false, warnings),
               TranslationError);
  EXPECT_THROW(anthropic::request_body({{"messages", json::array()}}, false, warnings), TranslationError);
}

TEST(Anthropic, BadToolArgumentsAreRejectedClearly) {
  std::vector<std::string> warnings;
  json req = {{"messages",
               {{{"role", "user"}, {"content", "x"}},
                {{"role", "assistant"},
                 {"tool_calls",
                  {{{"id", "c1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{oops"}}}}}}}}}};
  try {
    anthropic::request_body(req, false, warnings);
    FAIL();
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.parameter(), "messages");
  }
}

TEST(Anthropic, StopReasons) {
  EXPECT_EQ(anthropic::finish_reason("end_turn"), "stop");
  EXPECT_EQ(anthropic::finish_reason("stop_sequence"), "stop");
  EXPECT_EQ(anthropic::finish_reason("pause_turn"), "stop");
  EXPECT_EQ(anthropic::finish_reason("max_tokens"), "length");
  EXPECT_EQ(anthropic::finish_reason("model_context_window_exceeded"), "length");
  EXPECT_EQ(anthropic::finish_reason("tool_use"), "tool_calls");
  EXPECT_EQ(anthropic::finish_reason("refusal"), "content_filter");
}

TEST(Anthropic, StreamIgnoresEverythingAfterMessageStop) {
  auto tr = anthropic().stream_translator({}, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  tr->on_sse("message_stop", R"({"type":"message_stop"})", chunks, error);
  tr->on_sse("message_stop", R"({"type":"message_stop"})", chunks, error);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], "[DONE]");
}

}  // namespace
}  // namespace llmfailover::providers
