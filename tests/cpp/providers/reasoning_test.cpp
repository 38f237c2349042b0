// Reasoning across dialects: reasoning_effort as Anthropic's thinking and Gemini's thinkingConfig,
// their thinking coming back as reasoning_content, and the Responses bridge's reasoning items.
#include <gtest/gtest.h>

#include "llmfailover/providers/responses_bridge.hpp"
#include "llmfailover/providers/anthropic.hpp"
#include "llmfailover/providers/gemini.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;

json chat(json extra) {
  json req = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  req.update(extra);
  return req;
}

TEST(AnthropicReasoning, EffortBecomesAThinkingBudgetWithRoomForTheAnswer) {
  std::vector<std::string> w;
  json body = anthropic::request_body(chat({{"reasoning_effort", "medium"}}), false, w);
  EXPECT_EQ(body["thinking"], (json{{"type", "enabled"}, {"budget_tokens", 8192}}));
  EXPECT_EQ(body["max_tokens"], anthropic::kDefaultMaxTokens + 8192);  // no caller limit: the answer keeps its room
  EXPECT_TRUE(w.empty()) << w.front();
  body = anthropic::request_body(chat({{"reasoning_effort", "low"}, {"max_completion_tokens", 3000}}), false, w);
  EXPECT_EQ(body["thinking"]["budget_tokens"], 1024);
  EXPECT_EQ(body["max_tokens"], 3000);  // the caller's limit counts the thinking, as OpenAI's does
  body = anthropic::request_body(chat({{"reasoning_effort", "high"}, {"max_tokens", 5000}}), false, w);
  EXPECT_EQ(body["thinking"]["budget_tokens"], 4999);  // below max_tokens, as Anthropic requires
  body = anthropic::request_body(chat({{"reasoning_effort", "none"}}), false, w);
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(body["max_tokens"], anthropic::kDefaultMaxTokens);
}

TEST(AnthropicReasoning, WhatThinkingCannotTakeIsDroppedWithAWarning) {
  std::vector<std::string> w;
  json body =
      anthropic::request_body(chat({{"reasoning_effort", "low"}, {"temperature", 0.2}, {"top_p", 0.5}}), false, w);
  EXPECT_TRUE(body.contains("thinking"));
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_p"));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("temperature"), std::string::npos);
  w.clear();
  body = anthropic::request_body(chat({{"reasoning_effort", "low"}, {"max_tokens", 1000}}), false, w);
  EXPECT_FALSE(body.contains("thinking"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("1024"), std::string::npos) << w[0];
  w.clear();
  const json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}});
  body = anthropic::request_body(chat({{"reasoning_effort", "low"}, {"tools", tools}, {"tool_choice", "required"}}),
                                 false, w);
  EXPECT_FALSE(body.contains("thinking"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("forced tool choice"), std::string::npos) << w[0];
}

TEST(AnthropicReasoning, ABadEffortIsRejectedNamingIt) {
  std::vector<std::string> w;
  for (const json& bad : {json("extreme"), json(3), json::object(), json("")}) {
    try {
      anthropic::request_body(chat({{"reasoning_effort", bad}}), false, w);
      ADD_FAILURE() << bad.dump();
    } catch (const TranslationError& e) {
      EXPECT_NE(std::string(e.what()).find("reasoning_effort"), std::string::npos) << e.what();
    }
  }
}

TEST(AnthropicReasoning, ThinkingComesBackAsReasoningContent) {
  const json m = {{"id", "msg_1"},
                  {"type", "message"},
                  {"model", "claude"},
                  {"content",
                   {{{"type", "thinking"}, {"thinking", "Let me see."}, {"signature", "sig"}},
                    {{"type", "redacted_thinking"}, {"data", "xx"}},
                    {{"type", "text"}, {"text", "Hi."}}}},
                  {"stop_reason", "end_turn"},
                  {"usage", {{"input_tokens", 3}, {"output_tokens", 9}}}};
  const json c = anthropic::chat_completion(m, 1);
  EXPECT_EQ(c["choices"][0]["message"]["content"], "Hi.");
  EXPECT_EQ(c["choices"][0]["message"]["reasoning_content"], "Let me see.");
  EXPECT_FALSE(c["usage"].contains("completion_tokens_details"));  // Anthropic has no separate count
  // hostile: a thinking block whose text is not a string is skipped, never thrown on
  json odd = m;
  odd["content"][0]["thinking"] = 5;
  EXPECT_FALSE(anthropic::chat_completion(odd, 1)["choices"][0]["message"].contains("reasoning_content"));
}

std::vector<std::string> feed_anthropic(StreamTranslator& t, const std::vector<std::pair<std::string, json>>& events) {
  std::vector<std::string> out;
  std::optional<ErrorVerdict> err;
  for (const auto& [name, data] : events) t.on_sse(name, data.dump(), out, err);
  EXPECT_FALSE(err);
  return out;
}

std::vector<std::pair<std::string, json>> anthropic_thinking_stream() {
  return {
      {"message_start",
       {{"type", "message_start"},
        {"message", {{"id", "msg_1"}, {"model", "claude"}, {"usage", {{"input_tokens", 3}, {"output_tokens", 1}}}}}}},
      {"content_block_start",
       {{"type", "content_block_start"},
        {"index", 0},
        {"content_block", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}}},
      {"content_block_delta",
       {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "thinking_delta"}, {"thinking", "Let "}}}}},
      {"content_block_delta",
       {{"type", "content_block_delta"},
        {"index", 0},
        {"delta", {{"type", "thinking_delta"}, {"thinking", "me see."}}}}},
      {"content_block_delta",
       {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "signature_delta"}, {"signature", "s"}}}}},
      {"content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}},
      {"content_block_start",
       {{"type", "content_block_start"}, {"index", 1}, {"content_block", {{"type", "text"}, {"text", ""}}}}},
      {"content_block_delta",
       {{"type", "content_block_delta"}, {"index", 1}, {"delta", {{"type", "text_delta"}, {"text", "Hi."}}}}},
      {"content_block_stop", {{"type", "content_block_stop"}, {"index", 1}}},
      {"message_delta",
       {{"type", "message_delta"}, {"delta", {{"stop_reason", "end_turn"}}}, {"usage", {{"output_tokens", 9}}}}},
      {"message_stop", {{"type", "message_stop"}}},
  };
}

TEST(AnthropicReasoning, ThinkingDeltasStreamAsReasoningContent) {
  auto t = anthropic::make_stream(true);
  const auto out = feed_anthropic(*t, anthropic_thinking_stream());
  std::string reasoning, text;
  for (const auto& c : out) {
    if (c == "[DONE]") continue;
    const json j = json::parse(c);
    if (j["choices"].empty()) continue;
    const json& d = j["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("content") && d["content"].is_string()) text += d["content"].get<std::string>();
  }
  EXPECT_EQ(reasoning, "Let me see.");
  EXPECT_EQ(text, "Hi.");
}

TEST(GeminiReasoning, EffortBecomesAThinkingConfig) {
  std::vector<std::string> w;
  json body = gemini::request_body(chat({{"reasoning_effort", "high"}}), w);
  EXPECT_EQ(body["generationConfig"]["thinkingConfig"], (json{{"thinkingBudget", 24576}, {"includeThoughts", true}}));
  body = gemini::request_body(chat({{"reasoning_effort", "minimal"}}), w);
  EXPECT_EQ(body["generationConfig"]["thinkingConfig"]["thinkingBudget"], 1024);
  body = gemini::request_body(chat({{"reasoning_effort", "none"}}), w);
  EXPECT_EQ(body["generationConfig"]["thinkingConfig"], (json{{"thinkingBudget", 0}}));  // thinking off
  EXPECT_TRUE(w.empty());
  EXPECT_THROW(gemini::request_body(chat({{"reasoning_effort", "max"}}), w), TranslationError);
  EXPECT_THROW(gemini::request_body(chat({{"reasoning_effort", json::array()}}), w), TranslationError);
}

TEST(GeminiReasoning, ThoughtPartsAndTheirTokensComeBack) {
  const json r = {{"responseId", "r1"},
                  {"candidates",
                   {{{"content", {{"parts", {{{"text", "Thinking it over."}, {"thought", true}}, {{"text", "Hi."}}}}}},
                     {"finishReason", "STOP"}}}},
                  {"usageMetadata", {{"promptTokenCount", 3}, {"candidatesTokenCount", 2}, {"thoughtsTokenCount", 7}}}};
  const json c = gemini::chat_completion(r, "g", 1);
  EXPECT_EQ(c["choices"][0]["message"]["content"], "Hi.");
  EXPECT_EQ(c["choices"][0]["message"]["reasoning_content"], "Thinking it over.");
  EXPECT_EQ(c["usage"]["completion_tokens"], 9);  // thoughts are output tokens, as Gemini bills them
  EXPECT_EQ(c["usage"]["completion_tokens_details"]["reasoning_tokens"], 7);
  json odd = r;
  odd["candidates"][0]["content"]["parts"][0]["thought"] = "yes";  // not a boolean: an ordinary text part
  EXPECT_EQ(gemini::chat_completion(odd, "g", 1)["choices"][0]["message"]["content"], "Thinking it over.Hi.");
}

TEST(GeminiReasoning, ThoughtPartsStreamAsReasoningContent) {
  auto t = gemini::make_stream("g", true, 1);
  std::vector<std::string> out;
  std::optional<ErrorVerdict> err;
  t->on_sse("", json{{"candidates", {{{"content", {{"parts", {{{"text", "Hmm."}, {"thought", true}}}}}}}}}}.dump(), out,
            err);
  t->on_sse("",
            json{{"candidates", {{{"content", {{"parts", {{{"text", "Hi."}}}}}}, {"finishReason", "STOP"}}}}}.dump(),
            out, err);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(json::parse(out[0])["choices"][0]["delta"]["reasoning_content"], "Hmm.");
  EXPECT_EQ(json::parse(out[1])["choices"][0]["delta"]["content"], "Hi.");
}

TEST(ResponsesReasoning, SummaryAndEffortReachTheChatRequest) {
  std::vector<std::string> w;
  json req = {{"model", "m"}, {"input", "hi"}, {"reasoning", {{"effort", "low"}, {"summary", "auto"}}}};
  EXPECT_EQ(responses::to_chat("anthropic", req, false, w)["reasoning_effort"], "low");
  EXPECT_TRUE(w.empty());
  req["reasoning"] = {{"summary", "detailed"}};  // no effort: OpenAI's default, medium
  EXPECT_EQ(responses::to_chat("gemini", req, false, w)["reasoning_effort"], "medium");
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(responses::to_chat("cohere", req, false, w).contains("reasoning_effort"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("reasoning.summary is not supported by cohere"), std::string::npos);
}

TEST(ResponsesReasoning, ReasoningContentBecomesAReasoningItem) {
  const json answer = {
      {"id", "c1"},
      {"model", "claude"},
      {"choices",
       {{{"index", 0},
         {"message", {{"role", "assistant"}, {"content", "Hi."}, {"reasoning_content", "Let me see."}}},
         {"finish_reason", "stop"}}}},
      {"usage",
       {{"prompt_tokens", 3},
        {"completion_tokens", 9},
        {"total_tokens", 12},
        {"completion_tokens_details", {{"reasoning_tokens", 7}}}}}};
  json req = {{"model", "m"}, {"input", "hi"}, {"reasoning", {{"effort", "low"}, {"summary", "auto"}}}};
  json r = json::parse(responses::to_response("gemini", answer.dump(), req));
  ASSERT_EQ(r["output"].size(), 2u);
  EXPECT_EQ(r["output"][0]["type"], "reasoning");
  EXPECT_EQ(r["output"][0]["summary"], (json::array({{{"type", "summary_text"}, {"text", "Let me see."}}})));
  EXPECT_EQ(r["output"][1]["type"], "message");
  EXPECT_EQ(r["usage"]["output_tokens_details"]["reasoning_tokens"], 7);
  req["reasoning"] = {{"effort", "low"}};  // no summary asked: the item, with an empty summary, as OpenAI's
  r = json::parse(responses::to_response("gemini", answer.dump(), req));
  EXPECT_EQ(r["output"][0]["summary"], json::array());
}

TEST(ResponsesReasoning, AThinkingStreamBecomesReasoningEventsBeforeTheMessage) {
  const json req = {{"model", "m"}, {"input", "hi"}, {"reasoning", {{"effort", "low"}, {"summary", "auto"}}}};
  auto t = responses::bridge_stream("anthropic", anthropic::make_stream(true), req);
  const auto out = feed_anthropic(*t, anthropic_thinking_stream());
  std::vector<std::string> types;
  json last;
  std::string summary;
  for (const auto& e : out) {
    last = json::parse(e);
    types.push_back(last["type"]);
    if (last["type"] == "response.reasoning_summary_text.delta") summary += last["delta"].get<std::string>();
  }
  const std::vector<std::string> want = {"response.created",
                                         "response.in_progress",
                                         "response.output_item.added",
                                         "response.reasoning_summary_part.added",
                                         "response.reasoning_summary_text.delta",
                                         "response.reasoning_summary_text.delta",
                                         "response.reasoning_summary_text.done",
                                         "response.reasoning_summary_part.done",
                                         "response.output_item.done",
                                         "response.output_item.added",
                                         "response.content_part.added",
                                         "response.output_text.delta",
                                         "response.output_text.done",
                                         "response.content_part.done",
                                         "response.output_item.done",
                                         "response.completed"};
  EXPECT_EQ(types, want);
  EXPECT_EQ(summary, "Let me see.");
  ASSERT_EQ(last["response"]["output"].size(), 2u);
  EXPECT_EQ(last["response"]["output"][0]["summary"][0]["text"], "Let me see.");
  EXPECT_EQ(last["response"]["output"][1]["content"][0]["text"], "Hi.");
  // Without a summary asked: the reasoning item only, no summary events.
  const json plain = {{"model", "m"}, {"input", "hi"}, {"reasoning", {{"effort", "low"}}}};
  auto u = responses::bridge_stream("anthropic", anthropic::make_stream(true), plain);
  for (const auto& e : feed_anthropic(*u, anthropic_thinking_stream()))
    EXPECT_EQ(e.find("reasoning_summary"), std::string::npos) << e;
}

}  // namespace
}  // namespace llmfailover::providers
