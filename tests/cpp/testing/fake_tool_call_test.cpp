// fake_tool_call_test.cpp — FakeProvider::set_tool_call in all five chat dialects (OpenAI,
// Anthropic, Gemini, Bedrock, Cohere), each answer put through that provider's adapter: plain and
// streamed, it must come back as one OpenAI tool call with the scripted name and arguments and
// finish_reason tool_calls, and the stream faults must cut, break and stall it like a text stream.
// The Python tests (tests/py/test_provider_dialects.py, test_fake_tool_calls.py) check the same
// answers with the official SDKs and through the router.
#include <gtest/gtest.h>

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/provider.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "testing/adapter_exchange.hpp"

namespace llmfailover::testing {
namespace {

using nlohmann::json;
using providers::Endpoint;
using providers::Provider;
using namespace std::chrono_literals;

// Multi-byte characters, so the argument pieces must respect UTF-8; spaces, so the text as given
// (streams) and the parsed object (plain answers that carry an object) can be told apart.
constexpr const char* kArgs = R"({"city": "Paris", "unit": "celsius", "note": "ça va — 東京", "days": [1, 2]})";

struct Case {
  const char* provider;
  const char* suffix;  // appended to root_url() for the base URL
  const char* model;
  int first_piece;  // the stream frame carrying the first piece of the arguments
  bool whole_call;  // the dialect streams the call in one piece (Gemini)
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.provider; }

const Case kCases[] = {
    {"openai", "/v1", "gpt-tool", 1, false},
    {"anthropic", "", "claude-tool", 3, false},  // message_start, content_block_start, ping
    {"gemini", "/v1beta", "gemini-tool", 0, true},
    {"bedrock", "", "anthropic.claude-3-5-sonnet-20240620-v1:0", 2, false},  // messageStart, contentBlockStart
    {"cohere", "", "command-tool", 2, false},                                // message-start, tool-call-start
};

json ask(bool usage = false) {
  json j = {{"model", "ignored"},
            {"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}},
            {"tools",
             {{{"type", "function"},
               {"function",
                {{"name", "get_weather"},
                 {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}}}};
  if (usage) j["stream_options"] = {{"include_usage", true}};
  return j;
}

class ToolCalls : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ep.base_url = fp.root_url() + GetParam().suffix;
    ep.api_key = Secret("test-key");
    ep.model = GetParam().model;
    ep.region = "us-east-1";
    fp.set_tool_call(GetParam().model, "get_weather", kArgs);
  }
  // A stream with `fault` (whole = the body arrives complete), through the adapter.
  Streamed stream(const Fault& fault, bool whole) {
    fp.script(ep.model, {fault});
    return translate_stream(provider, ep, ask(), exchange(fp, provider, ep, ask(), true, whole).body);
  }
  // The stream frame index n frames after the first piece (Gemini: its only frame).
  int at(int n) const { return GetParam().whole_call ? 0 : GetParam().first_piece + n; }

  FakeProvider fp;
  const Provider& provider = *providers::find_provider(GetParam().provider);
  Endpoint ep;
};

TEST_P(ToolCalls, PlainAnswerIsAnOpenAiToolCall) {
  const AdapterResult r = exchange(fp, provider, ep, ask(), false);
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = json::parse(provider.chat_response(ep, r.body));
  const json& choice = c["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["message"]["content"].is_null()) << choice;
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << choice;
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_FALSE(call["id"].get<std::string>().empty());
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()), json::parse(kArgs));
  EXPECT_GE(c["usage"]["completion_tokens"], 2);
  EXPECT_EQ(fp.attempts(ep.model).at(0).outcome, "ok");
}

TEST_P(ToolCalls, StreamedAnswerAddsUpToTheSameCall) {
  const AdapterResult plain = exchange(fp, provider, ep, ask(), false);
  const json plain_usage = json::parse(provider.chat_response(ep, plain.body))["usage"];
  const AdapterResult r = exchange(fp, provider, ep, ask(true), true);
  ASSERT_EQ(r.status, 200) << r.body;
  const Streamed s = translate_stream(provider, ep, ask(true), r.body);
  EXPECT_FALSE(s.error);
  EXPECT_EQ(s.translation_error, "");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.finish_reason(), "tool_calls");
  EXPECT_EQ(s.content(), "");
  const auto calls = s.tool_calls();
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls.contains(0));
  const StreamedCall& call = calls.at(0);
  EXPECT_FALSE(call.id.empty());
  EXPECT_EQ(call.type, "function");
  EXPECT_EQ(call.name, "get_weather");  // once, in the first delta
  EXPECT_EQ(json::parse(call.arguments), json::parse(kArgs));
  if (!GetParam().whole_call) {
    EXPECT_EQ(call.arguments, kArgs);  // the pieces concatenate to the text as scripted
    EXPECT_GT(call.argument_deltas, 3);
    EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], call.argument_deltas + 1);
  }
  EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], plain_usage["completion_tokens"]);
}

TEST_P(ToolCalls, CutStreamLeavesAnUnfinishedCall) {
  const Streamed s = stream(Fault::cut(at(1)), false);
  EXPECT_FALSE(s.done);
  EXPECT_EQ(s.finish_reason(), "");
  EXPECT_EQ(s.translation_error, "");
  if (!GetParam().whole_call) {
    ASSERT_EQ(s.tool_calls().size(), 1u);
    const std::string args = s.tool_calls().at(0).arguments;
    EXPECT_FALSE(args.empty());
    EXPECT_NE(args, kArgs);
  }
  EXPECT_EQ(fp.attempts(ep.model).at(0).outcome, "cut:" + std::to_string(at(1)));
}

TEST_P(ToolCalls, ErrorEventInsideTheCall) {
  const Streamed s = stream(Fault::error_event(at(1)), true);
  ASSERT_TRUE(s.error);
  EXPECT_NE(s.error->cls, ErrorClass::fatal_request);
  EXPECT_FALSE(s.done);
  EXPECT_EQ(s.finish_reason(), "");
  EXPECT_EQ(fp.attempts(ep.model).at(0).outcome, "error_event:" + std::to_string(at(1)));
}

TEST_P(ToolCalls, MalformedFrameInsideTheCall) {
  const Streamed s = stream(Fault::malformed(at(0)), true);
  // The passthrough (OpenAI) adapter hands the broken chunk on; the others throw.
  EXPECT_TRUE(!s.translation_error.empty() || s.unparsed == 1) << s.translation_error;
  EXPECT_EQ(fp.attempts(ep.model).at(0).outcome, "malformed:" + std::to_string(at(0)));
}

TEST_P(ToolCalls, StalledStreamHoldsTheConnection) {
  const int after = GetParam().whole_call ? 1 : at(1);  // Gemini: after its one frame
  fp.script(ep.model, {Fault::stall(after)});
  const auto t = provider.chat_request(ep, ask(), true, Timeouts{});
  RawClient c(fp.port());
  c.send(http::verb::post, t.http.url.substr(fp.root_url().size()), t.http.body, true, t.http.headers);
  std::string raw;
  EXPECT_EQ(c.read_raw(raw, 300ms), beast::error::timeout);  // still open, nothing more coming
  EXPECT_NE(raw.find("get_weather"), std::string::npos);     // the call had started
  EXPECT_EQ(fp.attempts(ep.model).at(0).outcome, "stall:" + std::to_string(after));
}

INSTANTIATE_TEST_SUITE_P(Dialects, ToolCalls, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.provider); });

// ---- the scripting itself, on the OpenAI dialect -----------------------------------------------

json post_chat(FakeProvider& fp, const std::string& model) {
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/chat/completions",
         json{{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump());
  http::response<http::string_body> res;
  EXPECT_FALSE(c.read(res));
  return json::parse(res.body())["choices"][0];
}

TEST(FakeToolCall, RejectsWhatCannotBeACall) {
  FakeProvider fp;
  EXPECT_THROW(fp.set_tool_call("m", "", "{}"), std::invalid_argument);
  EXPECT_THROW(fp.set_tool_call("m", "f", "[1]"), std::invalid_argument);
  EXPECT_THROW(fp.set_tool_call("m", "f", "{not json"), std::invalid_argument);
  EXPECT_EQ(post_chat(fp, "m")["message"]["content"], "Hello from m.");  // nothing was set
}

TEST(FakeToolCall, PrecedenceAgainstRepliesAndFaultContent) {
  FakeProvider fp;
  fp.set_tool_call("*", "lookup", R"({"q":"x"})");
  fp.set_reply("texty", "plain words");
  fp.set_reply("both", "ignored");
  fp.set_tool_call("both", "own", "{}");
  EXPECT_EQ(post_chat(fp, "any")["message"]["tool_calls"][0]["function"]["name"], "lookup");
  EXPECT_EQ(post_chat(fp, "texty")["message"]["content"], "plain words");  // its own reply beats "*"
  EXPECT_EQ(post_chat(fp, "both")["message"]["tool_calls"][0]["function"]["name"], "own");
  Fault follow_up;
  follow_up.content = "It is sunny.";
  fp.script("any", {follow_up});  // the next attempt (the turn after the tool result) answers text
  const json second = post_chat(fp, "any");
  EXPECT_EQ(second["message"]["content"], "It is sunny.");
  EXPECT_EQ(second["finish_reason"], "stop");
  EXPECT_FALSE(second["message"].contains("tool_calls"));
  fp.reset();
  EXPECT_EQ(post_chat(fp, "any")["message"]["content"], "Hello from any.");
}

TEST(FakeToolCall, NChoicesEachCarryTheCall) {
  FakeProvider fp;
  fp.set_tool_call("m", "f", R"({"a":1})");
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/chat/completions",
         json{{"model", "m"}, {"n", 2}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump());
  http::response<http::string_body> res;
  ASSERT_FALSE(c.read(res));
  const json j = json::parse(res.body());
  ASSERT_EQ(j["choices"].size(), 2u);
  for (const auto& ch : j["choices"]) {
    EXPECT_EQ(ch["finish_reason"], "tool_calls");
    EXPECT_EQ(ch["message"]["tool_calls"][0]["function"]["arguments"], R"({"a":1})");
  }
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["id"].get<std::string>().rfind("call_", 0), 0u);
}

TEST(FakeToolCall, ListedAmongTheModels) {
  FakeProvider fp;
  fp.set_tool_call("tool-model", "f", "{}");
  RawClient c(fp.port());
  c.send(http::verb::get, "/v1/models");
  http::response<http::string_body> res;
  ASSERT_FALSE(c.read(res));
  EXPECT_NE(res.body().find("\"tool-model\""), std::string::npos);
}

}  // namespace
}  // namespace llmfailover::testing
