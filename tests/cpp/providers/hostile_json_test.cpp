// hostile_json_test.cpp — answers nested far deeper than any real one (a tool call's `input`, a
// functionCall's `args`, any field) in every dialect, plain and streamed: a TranslationError naming
// the provider (the router classifies it as a retryable bad answer and fails over), never a crash.
// Before parse_json these segfaulted: nlohmann parses iteratively, but the adapters copy and dump
// the value, which recurses once per level (issue 10, item 2).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "llmfailover/providers/eventstream.hpp"
#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;

constexpr std::size_t kDepth = 300'000;  // 600 KB of brackets; ~70k levels were enough to crash

// The JSON text of {"k": [[[...]]]} nested kDepth levels: spliced as text, never built as a value.
std::string deep_object() { return "{\"k\":" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}"; }

// `json_text` with the marker string "DEEP" (quotes included) replaced by the deep value.
std::string with_deep(const json& shape) {
  std::string text = shape.dump();
  const auto at = text.find("\"DEEP\"");
  return text.replace(at, 6, deep_object());
}

Endpoint endpoint(std::string model) {
  Endpoint ep;
  ep.model = std::move(model);
  ep.project = "proj-1";
  ep.region = "us-east-1";
  return ep;
}

struct Answer {
  std::string provider;
  json shape;  // a valid answer of the dialect with "DEEP" where the hostile value goes
};

std::vector<Answer> answers() {
  return {
      {"anthropic",
       {{"id", "msg_1"},
        {"type", "message"},
        {"role", "assistant"},
        {"model", "claude"},
        {"content", {{{"type", "tool_use"}, {"id", "toolu_1"}, {"name", "f"}, {"input", "DEEP"}}}},
        {"stop_reason", "tool_use"},
        {"usage", {{"input_tokens", 1}, {"output_tokens", 1}}}}},
      {"gemini",
       {{"candidates",
         {{{"content", {{"role", "model"}, {"parts", {{{"functionCall", {{"name", "f"}, {"args", "DEEP"}}}}}}}},
           {"finishReason", "STOP"}}}}}},
      {"vertex",
       {{"candidates",
         {{{"content", {{"role", "model"}, {"parts", {{{"functionCall", {{"name", "f"}, {"args", "DEEP"}}}}}}}},
           {"finishReason", "STOP"}}}}}},
      {"bedrock",
       {{"output",
         {{"message",
           {{"role", "assistant"},
            {"content", {{{"toolUse", {{"toolUseId", "t1"}, {"name", "f"}, {"input", "DEEP"}}}}}}}}}},
        {"stopReason", "tool_use"},
        {"usage", {{"inputTokens", 1}, {"outputTokens", 1}, {"totalTokens", 2}}}}},
      {"cohere",
       {{"id", "c1"}, {"finish_reason", "COMPLETE"}, {"message", {{"role", "assistant"}, {"content", "DEEP"}}}}},
      {"mistral",
       {{"id", "x"},
        {"object", "chat.completion"},
        {"model", "m"},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", "hi"}, {"meta", "DEEP"}}},
           {"finish_reason", "stop"}}}}}},
  };
}

void expect_refused(const std::string& provider, const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f();
    ADD_FAILURE() << provider << ": no error";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.provider(), provider);
    EXPECT_NE(std::string(e.what()).find("nested deeper than 256 levels"), std::string::npos) << e.what();
    EXPECT_FALSE(e.verdict());  // no verdict: the router's "does not fit its schema", retryable
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << provider;
}

TEST(HostileJson, DeepAnswersAreTranslationErrorsNamingTheProvider) {
  for (const auto& a : answers()) {
    const Provider* p = find_provider(a.provider);
    ASSERT_NE(p, nullptr) << a.provider;
    const std::string body = with_deep(a.shape);
    expect_refused(a.provider, [&] { p->chat_response(endpoint("m"), body); });
    // The same answer nested within the limit is translated (the shapes above are real answers).
    std::string shallow = a.shape.dump();
    shallow.replace(shallow.find("\"DEEP\""), 6, "{\"k\":[[1]]}");
    if (a.provider != "cohere") {
      EXPECT_NO_THROW(p->chat_response(endpoint("m"), shallow)) << a.provider;
    }
  }
}

TEST(HostileJson, DeepStreamEventsAreTranslationErrors) {
  const std::vector<std::pair<std::string, json>> events = {
      {"anthropic",
       {{"type", "content_block_start"},
        {"index", 0},
        {"content_block", {{"type", "tool_use"}, {"id", "t"}, {"name", "f"}, {"input", "DEEP"}}}}},
      {"gemini",
       {{"candidates",
         {{{"content", {{"role", "model"}, {"parts", {{{"functionCall", {{"name", "f"}, {"args", "DEEP"}}}}}}}}}}}}},
      {"vertex",
       {{"candidates",
         {{{"content", {{"role", "model"}, {"parts", {{{"functionCall", {{"name", "f"}, {"args", "DEEP"}}}}}}}}}}}}},
      {"cohere", {{"type", "content-delta"}, {"index", 0}, {"delta", "DEEP"}}},
      {"mistral", {{"id", "x"}, {"choices", {{{"index", 0}, {"delta", {{"content", "hi"}, {"meta", "DEEP"}}}}}}}},
  };
  const json request = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true}};
  for (const auto& [provider, shape] : events) {
    const Provider* p = find_provider(provider);
    ASSERT_NE(p, nullptr) << provider;
    auto tr = p->stream_translator(endpoint("m"), request);
    std::vector<std::string> chunks;
    std::optional<ErrorVerdict> error;
    const std::string data = with_deep(shape);
    const std::string event = provider == "anthropic" ? "content_block_start" : "";
    expect_refused(provider, [&] { tr->on_sse(event, data, chunks, error); });
  }
}

TEST(HostileJson, DeepBedrockStreamFrameIsATranslationError) {
  const Provider* p = find_provider("bedrock");
  auto tr = p->stream_translator(endpoint("m"), {{"messages", json::array()}});
  const json shape = {{"contentBlockIndex", 0},
                      {"start", {{"toolUse", {{"toolUseId", "t"}, {"name", "f"}, {"input", "DEEP"}}}}}};
  const std::string bytes = eventstream::encode(
      {{":event-type", "contentBlockStart"}, {":content-type", "application/json"}, {":message-type", "event"}},
      with_deep(shape));
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  expect_refused("bedrock", [&] { tr->on_bytes(bytes, chunks, error); });
}

// An exception frame whose payload is too deep (or not JSON, or has a number for a message) is
// still classified by its type, with a bounded message.
TEST(HostileJson, BedrockExceptionFramesWithHostilePayloads) {
  for (const std::string& payload : {deep_object(), std::string(100000, 'x'), std::string(R"({"message": 7})")}) {
    auto tr = find_provider("bedrock")->stream_translator(endpoint("m"), {{"messages", json::array()}});
    const std::string bytes = eventstream::encode({{":exception-type", "throttlingException"},
                                                   {":content-type", "application/json"},
                                                   {":message-type", "exception"}},
                                                  payload);
    std::vector<std::string> chunks;
    std::optional<ErrorVerdict> error;
    tr->on_bytes(bytes, chunks, error);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->cls, ErrorClass::rate_limited);
    EXPECT_LT(error->message.size(), 400u);
  }
}

// Error bodies are only read for their message: a deep one is classified by its status alone.
TEST(HostileJson, DeepErrorBodiesAreClassifiedByStatus) {
  const std::string body = deep_object();
  for (const auto* name : {"anthropic", "gemini", "vertex", "bedrock", "cohere", "mistral", "openai"}) {
    const ErrorVerdict v = find_provider(name)->classify(503, {}, body);
    EXPECT_EQ(v.cls, ErrorClass::retryable) << name;
    EXPECT_FALSE(find_provider(name)->body_retry_hint(body)) << name;
  }
}

// A tool result or tool call argument nested too deep in the request is refused or sent as text,
// never copied as a deep value.
TEST(HostileJson, DeepToolArgumentsInTheRequestAreRefused) {
  const json request = {
      {"model", "m"},
      {"messages",
       {{{"role", "user"}, {"content", "hi"}},
        {{"role", "assistant"},
         {"tool_calls",
          {{{"id", "c1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", deep_object()}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", deep_object()}}}}};
  for (const auto* name : {"anthropic", "gemini", "bedrock"}) {
    try {
      find_provider(name)->chat_request(endpoint("m"), request, false, Timeouts{});
      ADD_FAILURE() << name << ": no error";
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), name);
      EXPECT_EQ(e.parameter(), "messages");
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": " << e.what();  // bedrock needs credentials only after the translation
    }
  }
}

}  // namespace
}  // namespace llmfailover::providers
