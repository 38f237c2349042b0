// responses_bridge_test.cpp — the Responses bridge as tables: requests to chat, chat answers to
// Response objects, chat chunks to Responses events; what no chat dialect can express; and the
// router's stream inspector reading Responses events.
#include "llmfailover/providers/responses_bridge.hpp"

#include <gtest/gtest.h>

#include "../../../cpp/src/router/stream_inspect.hpp"

namespace llmfailover::providers::responses {
namespace {

using nlohmann::json;

json chat_of(const json& request, bool stream = false) {
  std::vector<std::string> warnings;
  return to_chat("anthropic", request, stream, warnings);
}

struct RequestCase {
  const char* name;
  json request;
  json expected;  // the chat request's fields that must be there, as given
};

TEST(ResponsesBridgeRequest, Table) {
  const std::vector<RequestCase> cases = {
      {"string input and instructions",
       {{"model", "m"}, {"input", "hi"}, {"instructions", "be brief"}},
       {{"messages", {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hi"}}}}}},
      {"messages with parts; developer is system",
       {{"model", "m"},
        {"input",
         {{{"role", "developer"}, {"content", "rules"}},
          {{"type", "message"},
           {"role", "user"},
           {"content",
            {{{"type", "input_text"}, {"text", "look"}},
             {{"type", "input_image"}, {"image_url", "data:image/png;base64,AA=="}, {"detail", "low"}}}}}}}},
       {{"messages",
         {{{"role", "system"}, {"content", "rules"}},
          {{"role", "user"},
           {"content",
            {{{"type", "text"}, {"text", "look"}},
             {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AA=="}, {"detail", "low"}}}}}}}}}}},
      {"function call and its output",
       {{"model", "m"},
        {"input",
         {{{"role", "user"}, {"content", "weather?"}},
          {{"type", "function_call"}, {"call_id", "c1"}, {"name", "get"}, {"arguments", "{\"city\":\"Oslo\"}"}},
          {{"type", "function_call_output"}, {"call_id", "c1"}, {"output", "sunny"}}}}},
       {{"messages",
         {{{"role", "user"}, {"content", "weather?"}},
          {{"role", "assistant"},
           {"content", nullptr},
           {"tool_calls",
            {{{"id", "c1"},
              {"type", "function"},
              {"function", {{"name", "get"}, {"arguments", "{\"city\":\"Oslo\"}"}}}}}}},
          {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "sunny"}}}}}},
      {"function tools and a forced choice",
       {{"model", "m"},
        {"input", "x"},
        {"tools", {{{"type", "function"}, {"name", "get"}, {"parameters", {{"type", "object"}}}, {"strict", true}}}},
        {"tool_choice", {{"type", "function"}, {"name", "get"}}}},
       {{"tools",
         {{{"type", "function"},
           {"function", {{"name", "get"}, {"parameters", {{"type", "object"}}}, {"strict", true}}}}}},
        {"tool_choice", {{"type", "function"}, {"function", {{"name", "get"}}}}}}},
      {"json_schema format",
       {{"model", "m"},
        {"input", "x"},
        {"text",
         {{"format", {{"type", "json_schema"}, {"name", "W"}, {"schema", {{"type", "object"}}}, {"strict", true}}}}}},
       {{"response_format",
         {{"type", "json_schema"},
          {"json_schema", {{"name", "W"}, {"schema", {{"type", "object"}}}, {"strict", true}}}}}}},
      {"sampling, length and reasoning effort",
       {{"model", "m"},
        {"input", "x"},
        {"max_output_tokens", 50},
        {"temperature", 0.2},
        {"top_p", 0.9},
        {"reasoning", {{"effort", "low"}}}},
       {{"max_completion_tokens", 50}, {"temperature", 0.2}, {"top_p", 0.9}, {"reasoning_effort", "low"}}},
  };
  for (const auto& c : cases) {
    const json chat = chat_of(c.request);
    for (const auto& [k, v] : c.expected.items()) EXPECT_EQ(chat.value(k, json()), v) << c.name << ": " << k;
  }
  EXPECT_EQ(chat_of({{"model", "m"}, {"input", "x"}}, true)["stream_options"], json({{"include_usage", true}}));
}

TEST(ResponsesBridgeRequest, WhatNoChatDialectExpressesIsNamed) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"input", "x"}, {"tools", {{{"type", "web_search"}}}}}, "built-in tool 'web_search'"},
      {{{"input", "x"}, {"tools", {{{"type", "file_search"}, {"vector_store_ids", {"v"}}}}}}, "'file_search'"},
      {{{"input", "x"}, {"previous_response_id", "resp_1"}}, "previous_response_id"},
      {{{"input", "x"}, {"background", true}}, "background"},
      {{{"input", {{{"type", "item_reference"}, {"id", "msg_1"}}}}}, "item_reference"},
      {{{"input", "x"}, {"text", {{"format", {{"type", "grammar"}}}}}}, "text format 'grammar'"},
      {{{"input", "x"}, {"text", {{"format", "json"}}}}, "a text.format that is not an object"},
      {{{"input", {{{"type", 5}}}}}, "a 'type' in input that is not a string"},
      {{{"input", {{{"type", "function_call"}, {"call_id", "c"}, {"name", "f"}, {"arguments", {{"a", 1}}}}}}},
       "a 'arguments' in input that is not a string"},
      {{{"input", "x"}, {"tools", "x"}}, "a 'tools' value that is not a list"},
  };
  for (const auto& [request, feature] : cases) {
    try {
      chat_of(request);
      ADD_FAILURE() << "accepted: " << request.dump();
    } catch (const TranslationError& e) {
      EXPECT_NE(std::string(e.what()).find(feature), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not supported by anthropic"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(stateful_field({{"input", "x"}, {"store", false}}), "");
  EXPECT_EQ(stateful_field({{"input", "x"}, {"background", false}}), "");
  EXPECT_EQ(stateful_field({{"conversation", "conv_1"}}), "conversation");
}

TEST(ResponsesBridgeRequest, AnthropicTakesTheBridgedRequest) {
  const json req = {{"model", "claude"},
                    {"input", "hi"},
                    {"instructions", "be brief"},
                    {"max_output_tokens", 64},
                    {"tools", {{{"type", "function"}, {"name", "get"}, {"parameters", {{"type", "object"}}}}}}};
  std::vector<std::string> warnings;
  const json chat = to_chat("anthropic", req, false, warnings);
  Endpoint ep;
  ep.model = "claude";
  ep.api_key = Secret("k");
  const auto tr = find_provider("anthropic")->chat_request(ep, chat, false, Timeouts{});
  const json body = json::parse(tr.http.body);
  EXPECT_EQ(body["system"].dump().find("be brief") != std::string::npos, true) << body.dump();
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["tools"][0]["name"], "get");
  EXPECT_EQ(body["messages"][0]["role"], "user");
}

json chat_answer(json message, const char* finish) {
  return {{"id", "chatcmpl-1"},
          {"object", "chat.completion"},
          {"created", 1700000000},
          {"model", "claude"},
          {"choices", {{{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}}}},
          {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}, {"total_tokens", 8}}}};
}

TEST(ResponsesBridgeAnswer, Table) {
  const json req = {{"model", "g"}, {"input", "x"}, {"instructions", "sys"}};
  json r = json::parse(
      to_response("anthropic", chat_answer({{"role", "assistant"}, {"content", "Hi."}}, "stop").dump(), req));
  EXPECT_EQ(r["object"], "response");
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["instructions"], "sys");
  EXPECT_EQ(r["output"][0]["type"], "message");
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "Hi.");
  EXPECT_EQ(r["usage"]["input_tokens"], 5);
  EXPECT_EQ(r["usage"]["output_tokens"], 3);
  EXPECT_EQ(r["usage"]["total_tokens"], 8);

  const json call = {
      {"role", "assistant"},
      {"content", nullptr},
      {"tool_calls", {{{"id", "call_9"}, {"type", "function"}, {"function", {{"name", "get"}, {"arguments", "{}"}}}}}}};
  r = json::parse(to_response("anthropic", chat_answer(call, "tool_calls").dump(), req));
  ASSERT_EQ(r["output"].size(), 1u);
  EXPECT_EQ(r["output"][0]["type"], "function_call");
  EXPECT_EQ(r["output"][0]["call_id"], "call_9");
  EXPECT_EQ(r["output"][0]["name"], "get");

  r = json::parse(
      to_response("anthropic", chat_answer({{"role", "assistant"}, {"content", "Hi"}}, "length").dump(), req));
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");

  EXPECT_THROW(to_response("anthropic", R"({"choices": []})", req), TranslationError);
}

class Chunks final : public StreamTranslator {
 public:
  void on_sse(std::string_view, std::string_view data, std::vector<std::string>& out,
              std::optional<ErrorVerdict>&) override {
    out.emplace_back(data);
  }
};

std::vector<json> bridge(const std::vector<json>& chunks, bool done = true) {
  auto t = bridge_stream("anthropic", std::make_unique<Chunks>(), {{"model", "g"}, {"input", "x"}});
  std::vector<std::string> out;
  std::optional<ErrorVerdict> err;
  for (const auto& c : chunks) t->on_sse("", c.dump(), out, err);
  if (done) t->on_sse("", "[DONE]", out, err);
  std::vector<json> events;
  for (const auto& e : out) events.push_back(json::parse(e));
  return events;
}

json chunk(json delta, json finish = nullptr) {
  return {{"id", "c1"},
          {"created", 1},
          {"model", "claude"},
          {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
}

std::vector<std::string> types(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["sequence_number"], i);
    out.push_back(events[i]["type"]);
  }
  return out;
}

TEST(ResponsesBridgeStream, TextThenCompletedWithUsage) {
  json usage = {{"id", "c1"}, {"choices", json::array()}, {"usage", {{"prompt_tokens", 4}, {"completion_tokens", 2}}}};
  auto events = bridge({chunk({{"role", "assistant"}, {"content", "Hel"}}), chunk({{"content", "lo"}}, "stop"), usage});
  EXPECT_EQ(types(events),
            (std::vector<std::string>{
                "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed"}));
  EXPECT_EQ(events[6]["text"], "Hello");
  const json& done = events.back()["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hello");
  EXPECT_EQ(done["usage"]["total_tokens"], 6);
}

TEST(ResponsesBridgeStream, ToolCallArguments) {
  auto events = bridge(
      {chunk({{"tool_calls", {{{"index", 0}, {"id", "call_1"}, {"function", {{"name", "get"}, {"arguments", ""}}}}}}}),
       chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"a\":"}}}}}}}),
       chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "1}"}}}}}}}, "tool_calls")});
  EXPECT_EQ(types(events),
            (std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                      "response.function_call_arguments.delta",
                                      "response.function_call_arguments.delta", "response.function_call_arguments.done",
                                      "response.output_item.done", "response.completed"}));
  EXPECT_EQ(events[5]["arguments"], "{\"a\":1}");
  EXPECT_EQ(events.back()["response"]["output"][0]["call_id"], "call_1");
}

TEST(ResponsesBridgeStream, LengthIsIncompleteAndNoFinishIsNoEnd) {
  auto events = bridge({chunk({{"content", "Hi"}}, "length")});
  EXPECT_EQ(events.back()["type"], "response.incomplete");
  EXPECT_EQ(events.back()["response"]["incomplete_details"]["reason"], "max_output_tokens");
  for (bool done : {true, false}) {  // the adapter's [DONE] without a finish reason, or nothing
    events = bridge({chunk({{"content", "Hi"}})}, done);
    EXPECT_EQ(events.back()["type"], "response.output_text.delta");
  }
}

TEST(ResponsesBridgeStream, HostileChunksNeverCrash) {
  // What a broken adapter or upstream could hand the bridge: each is translated, or throws an
  // exception the router turns into a classified failure; none may crash or hang.
  const std::vector<std::string> chunks = {
      "{}",
      "[]",
      "null",
      R"({"choices": 5})",
      R"({"choices": [5, null, "x"]})",
      R"({"choices": [{"index": "0", "delta": {"content": "x"}}]})",
      R"({"choices": [{"delta": "text"}]})",
      R"({"choices": [{"delta": {"content": 5, "refusal": [], "tool_calls": "x"}}]})",
      R"({"choices": [{"delta": {"tool_calls": [5, {"index": "a"}, {"function": 7}, {"function": {"arguments": 3}}]}}]})",
      R"({"choices": [{"delta": {"tool_calls": [{"index": 2, "id": 9, "function": {"name": null}}]}}]})",
      R"({"id": 5, "created": "x", "model": [], "choices": [{"delta": {"content": "a"}, "finish_reason": 7}]})",
      R"({"usage": {"prompt_tokens": "x", "completion_tokens": 1e308}})",
      R"({"error": "boom"})",
      "[DONE]",
      "[DONE]",
  };
  for (std::size_t cut = 0; cut <= chunks.size(); ++cut) {
    auto t = bridge_stream("anthropic", std::make_unique<Chunks>(), {{"model", "g"}, {"input", "x"}});
    std::vector<std::string> out;
    std::optional<ErrorVerdict> err;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      try {
        t->on_sse("", chunks[(i + cut) % chunks.size()], out, err);
      } catch (const std::exception&) {  // the router's on_stream_piece catches these
      }
    }
    for (const auto& e : out) EXPECT_TRUE(json::parse(e).contains("sequence_number"));
  }
}

TEST(ResponsesInspector, ReadsResponsesEvents) {
  StreamInspector in(/*responses=*/true);
  EXPECT_EQ(in.inspect(R"({"type":"response.created","response":{"id":"resp_7","usage":null}})"), ChunkKind::meta);
  EXPECT_EQ(in.response_id(), "resp_7");
  EXPECT_EQ(in.inspect(R"({"type":"response.in_progress","response":{"id":"resp_7","conversation":{"id":"conv_1"}}})"),
            ChunkKind::meta);
  EXPECT_EQ(in.conversation_id(), "conv_1");
  EXPECT_EQ(in.inspect(R"({"type":"response.output_item.added","item":{"type":"message"}})"), ChunkKind::meta);
  EXPECT_EQ(in.inspect(R"({"type":"response.output_text.delta","delta":""})"), ChunkKind::meta);
  EXPECT_EQ(in.inspect(R"({"type":"response.output_text.delta","delta":"Hi"})"), ChunkKind::content);
  EXPECT_EQ(in.event_type(), "response.output_text.delta");
  EXPECT_EQ(in.inspect(R"({"type":"response.output_item.added","item":{"type":"function_call"}})"), ChunkKind::content);
  EXPECT_EQ(in.inspect(R"({"delta":"no type"})"), ChunkKind::malformed);
  EXPECT_EQ(in.inspect("[DONE]"), ChunkKind::meta);
  EXPECT_FALSE(in.finished() || in.done());  // [DONE] is no end of a Responses stream
  EXPECT_EQ(in.inspect(R"({"type":"error","code":"rate_limit_exceeded","message":"slow down"})"), ChunkKind::error);
  EXPECT_EQ(in.error_verdict(R"({"type":"error","code":"rate_limit_exceeded","message":"x"})").cls,
            ErrorClass::rate_limited);
  EXPECT_EQ(in.inspect(R"({"type":"response.failed","response":{"error":{"code":"server_error"}}})"), ChunkKind::error);
  EXPECT_EQ(
      in.inspect(
          R"({"type":"response.completed","response":{"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}})"),
      ChunkKind::meta);
  EXPECT_TRUE(in.finished());
  EXPECT_EQ(in.completion_tokens(), 4);
  EXPECT_EQ(in.usage_total(), 7);
  EXPECT_EQ(in.text(), "Hi");
}

TEST(ResponsesInspector, LegacyCompletionChunksCommit) {
  StreamInspector in;  // /completions streams choices[].text, no delta: the first text is the commit point
  EXPECT_EQ(in.inspect(R"({"object":"text_completion","choices":[{"index":0,"text":"","finish_reason":null}]})"),
            ChunkKind::meta);
  EXPECT_EQ(in.inspect(R"({"object":"text_completion","choices":[{"index":0,"text":"Hi","finish_reason":null}]})"),
            ChunkKind::content);
  EXPECT_EQ(in.content_chars(), 2u);
}

TEST(ResponsesMultipart, ModelFieldReplaced) {
  const std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nname=\"model\"\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-group\r\n--B--\r\n";
  const std::string out = replace_form_field(body, "B", "model", "whisper-1");
  EXPECT_NE(out.find("name=\"model\"\r\n\r\nwhisper-1\r\n--B--"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\n\r\nname=\"model\"\r\n--B\r\n"), std::string::npos) << out;  // file bytes untouched
  EXPECT_EQ(replace_form_field("--B\r\n\r\nx\r\n--B--", "B", "model", "m"), "--B\r\n\r\nx\r\n--B--");
}

}  // namespace
}  // namespace llmfailover::providers::responses
