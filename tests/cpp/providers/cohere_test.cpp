// cohere_test.cpp — the Cohere adapter: error classification, the stream_options quirk, embeddings,
// and whole exchanges with the fake provider's Cohere dialect (JSON, SSE, faults). Translation
// shapes are in the golden fixtures (fixtures/providers/cohere/*.json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/cohere.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/transport/sse.hpp"
#include "support/sync_call.hpp"

namespace llmfailover::providers::cohere {
namespace {

using nlohmann::json;
using testing::FakeProvider;
using testing::Fault;

json hello(bool usage = false) {
  json j = {
      {"model", "ignored"},
      {"messages", {{{"role", "system"}, {"content", "Be brief"}}, {{"role", "user"}, {"content", "Say hello"}}}}};
  if (usage) j["stream_options"] = {{"include_usage", true}};
  return j;
}

TEST(Cohere, Classification) {
  const std::vector<std::tuple<int, std::string, ErrorClass, std::string>> cases = {
      {429, R"({"message":"You are past the per minute request limit"})", ErrorClass::rate_limited, "rate_limited"},
      {429, R"({"message":"You are using a Trial key, which is limited to 1000 API calls / month."})",
       ErrorClass::rate_limited, "quota"},
      {400, R"({"message":"too many tokens: size limit exceeded by 1000 tokens."})", ErrorClass::fatal_request,
       "context_length_exceeded"},
      {400, R"({"message":"invalid request: unknown field"})", ErrorClass::fatal_request, "bad_request"},
      {422, R"({"message":"unprocessable"})", ErrorClass::fatal_request, "bad_request"},
      {401, R"({"message":"invalid api token"})", ErrorClass::fatal_target, "auth"},
      {498, R"({"message":"invalid api token"})", ErrorClass::fatal_target, "auth"},
      {402, R"({"message":"payment required"})", ErrorClass::fatal_target, "quota"},
      {404, R"({"message":"model not found"})", ErrorClass::fatal_target, "not_found"},
      {499, R"({"message":"request cancelled"})", ErrorClass::retryable, "server_error"},
      {500, R"({"message":"internal"})", ErrorClass::retryable, "server_error"},
      {501, R"({"message":"not implemented"})", ErrorClass::fatal_target, "not_found"},
      {503, R"({"message":"unavailable"})", ErrorClass::retryable, "server_error"},
  };
  const Provider& p = *find_provider("cohere");
  for (const auto& [status, body, cls, reason] : cases) {
    const ErrorVerdict v = p.classify(status, {}, body);
    EXPECT_EQ(v.cls, cls) << status << " " << body;
    EXPECT_EQ(v.reason, reason) << status << " " << body;
  }
}

TEST(Cohere, StreamOptionsIsDroppedWithAWarning) {
  const Provider& p = *find_provider("cohere");
  Endpoint ep;
  ep.model = "command-r-plus";
  ep.api_key = Secret("k");
  const auto t = p.chat_request(ep, hello(true), true, Timeouts{});
  const json body = json::parse(t.http.body);
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_EQ(body["stream"], true);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("stream_options"), std::string::npos);
  EXPECT_EQ(t.http.url, "https://api.cohere.com/v2/chat");
}

TEST(Cohere, ErrorFinishIsRetryable) {
  const Provider& p = *find_provider("cohere");
  try {
    p.chat_response({}, R"({"id":"x","finish_reason":"ERROR","message":{"role":"assistant","content":[]}})");
    FAIL();
  } catch (const TranslationError& e) {
    ASSERT_TRUE(e.verdict());
    EXPECT_EQ(e.verdict()->cls, ErrorClass::retryable);
  }
  EXPECT_THROW(p.chat_response({}, R"({"id":"x"})"), TranslationError);
  EXPECT_THROW(p.chat_response({}, "[]"), TranslationError);
}

class CohereFake : public ::testing::Test {
 protected:
  FakeProvider fp;
  transport::HttpClient client;
  const Provider& p = *find_provider("cohere");
  Endpoint at(const std::string& model) {
    Endpoint ep;
    ep.base_url = fp.root_url();
    ep.api_key = Secret("test-key");
    ep.model = model;
    return ep;
  }
  static std::string body_of(const test::Collected& c) {
    std::string b;
    for (const auto& e : c.events) {
      if (e.kind == Event::Kind::body) b += e.data;
    }
    return b;
  }
};

TEST_F(CohereFake, Chat) {
  const auto ep = at("command-a-03-2025");
  const auto c = test::fetch(client, p.chat_request(ep, hello(), false, Timeouts{}).http);
  ASSERT_EQ(c.status(), 200);
  const json r = json::parse(p.chat_response(ep, body_of(c)));
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Hello from command-a-03-2025.");
  EXPECT_EQ(r["usage"]["prompt_tokens"], 4);
  const auto rec = fp.attempts("command-a-03-2025");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].target, "/v2/chat");
  EXPECT_EQ(*find_header(rec[0].headers, "authorization"), "Bearer test-key");
}

TEST_F(CohereFake, StreamWithUsageAndNoStreamOptionsOnTheWire) {
  const auto ep = at("command-r");
  auto tr = p.stream_translator(ep, hello(true));
  const auto c = test::fetch(client, p.chat_request(ep, hello(true), true, Timeouts{}).http);
  ASSERT_EQ(c.status(), 200);  // the fake rejects stream_options as Cohere does
  std::vector<std::string> out;
  std::optional<ErrorVerdict> error;
  for (const auto& e : c.events) {
    if (e.kind == Event::Kind::sse) tr->on_sse(e.event, e.data, out, error);
  }
  EXPECT_FALSE(error);
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out.back(), "[DONE]");
  std::string text;
  for (const auto& o : out) {
    if (o == "[DONE]") continue;
    const json j = json::parse(o);
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
      text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "Hello from command-r.");
  EXPECT_EQ(json::parse(out[out.size() - 2])["usage"]["completion_tokens"], 3);
}

TEST_F(CohereFake, ErrorEventAndBodies) {
  fp.script("command-r",
            {Fault::error_event(1), Fault::rate_limited(), Fault::context_length_exceeded(), Fault::unauthorized()});
  const auto ep = at("command-r");
  auto tr = p.stream_translator(ep, hello());
  const auto c = test::fetch(client, p.chat_request(ep, hello(), true, Timeouts{}).http);
  std::vector<std::string> out;
  std::optional<ErrorVerdict> error;
  for (const auto& e : c.events) {
    if (e.kind == Event::Kind::sse && !error) tr->on_sse(e.event, e.data, out, error);
  }
  ASSERT_TRUE(error);
  EXPECT_EQ(error->cls, ErrorClass::retryable);
  EXPECT_EQ(out.size(), 1u);  // the role chunk only
  for (const auto& [status, reason] : std::vector<std::pair<int, std::string>>{
           {429, "rate_limited"}, {400, "context_length_exceeded"}, {401, "auth"}}) {
    const auto r = test::fetch(client, p.chat_request(ep, hello(), false, Timeouts{}).http);
    ASSERT_EQ(r.status(), status);
    EXPECT_EQ(p.classify(status, {}, body_of(r)).reason, reason) << body_of(r);
  }
}

TEST_F(CohereFake, Embeddings) {
  const auto ep = at("embed-v4.0");
  const auto t = p.embeddings_request(ep, {{"input", {"hello there", "bye"}}, {"dimensions", 4}}, Timeouts{});
  EXPECT_EQ(json::parse(t.http.body)["output_dimension"], 4);
  const auto c = test::fetch(client, t.http);
  ASSERT_EQ(c.status(), 200);
  const json r = json::parse(p.embeddings_response(ep, body_of(c)));
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][1]["embedding"].size(), 4u);
  EXPECT_EQ(r["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(fp.attempts()[0].target, "/v2/embed");
}

}  // namespace
}  // namespace llmfailover::providers::cohere
