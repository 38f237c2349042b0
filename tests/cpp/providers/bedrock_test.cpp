// bedrock_test.cpp — the Bedrock adapter: authentication (SigV4 with injected credentials, Bearer
// keys), URLs, error classification, the binary stream through on_bytes() under arbitrary splits,
// embeddings, and whole exchanges with the fake provider's Bedrock dialect over the real
// HttpClient (stream_body), faults included. Translation shapes are in the golden fixtures
// (fixtures/providers/bedrock/*.json).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/eventstream.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "llmfailover/transport/http_client.hpp"
#include "support/sync_call.hpp"

namespace llmfailover::providers::bedrock {
namespace {

using nlohmann::json;
using testing::FakeProvider;
using testing::Fault;
namespace es = eventstream;

bedrock::Options fixed(std::map<std::string, std::string> env, std::map<std::string, std::string> files = {}) {
  bedrock::Options o;
  o.env = [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };
  o.files = [files](const std::string& p) -> std::optional<std::string> {
    auto it = files.find(p);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  };
  o.now = [] { return std::chrono::system_clock::from_time_t(1705307400); };  // 2024-01-15T08:30:00Z
  return o;
}

const std::map<std::string, std::string> kKeys = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                  {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                                                  {"AWS_REGION", "us-east-1"}};

json hello(bool usage = false) {
  json j = {
      {"model", "ignored"},
      {"messages", {{{"role", "system"}, {"content", "Be brief"}}, {{"role", "user"}, {"content", "Say hello"}}}}};
  if (usage) j["stream_options"] = {{"include_usage", true}};
  return j;
}

std::string header(const HttpRequest& h, std::string_view name) {
  const auto* v = find_header(h.headers, name);
  return v ? *v : "";
}

TEST(Bedrock, SignsWithSigV4WhenThereIsNoApiKey) {
  const auto p = make_provider(fixed(kKeys));
  Endpoint ep;
  ep.model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  const auto t = p->chat_request(ep, hello(), false, Timeouts{});
  EXPECT_EQ(
      t.http.url,
      "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
  EXPECT_FALSE(t.http.stream_body);
  EXPECT_EQ(header(t.http, "X-Amz-Date"), "20240115T083000Z");
  const std::string auth = header(t.http, "Authorization");
  EXPECT_TRUE(
      auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/bedrock/aws4_request, "
                       "SignedHeaders=content-type;host;x-amz-date, Signature="))
      << auth;
  EXPECT_EQ(header(t.http, "X-Amz-Security-Token"), "");
}

TEST(Bedrock, StreamsAskForRawBodyPieces) {
  auto env = kKeys;
  env["AWS_SESSION_TOKEN"] = "tok";
  const auto p = make_provider(fixed(env));
  Endpoint ep;
  ep.model = "amazon.nova-pro-v1:0";
  ep.region = "eu-west-3";  // the deployment's region wins over AWS_REGION
  const auto t = p->chat_request(ep, hello(), true, Timeouts{});
  EXPECT_TRUE(t.http.stream_body);
  EXPECT_EQ(t.http.url, "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse-stream");
  EXPECT_NE(
      header(t.http, "Authorization")
          .find("/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
      std::string::npos);
  EXPECT_EQ(header(t.http, "X-Amz-Security-Token"), "tok");
  EXPECT_TRUE(p->stream_translator(ep, hello())->wants_bytes());
}

TEST(Bedrock, BearerApiKeys) {
  const auto p = make_provider(fixed({{"AWS_REGION", "us-west-2"}, {"AWS_BEARER_TOKEN_BEDROCK", "env-key"}}));
  Endpoint ep;
  ep.model = "m";
  EXPECT_EQ(header(p->chat_request(ep, hello(), false, Timeouts{}).http, "Authorization"), "Bearer env-key");
  ep.api_key = Secret("deployment-key");
  const auto t = p->chat_request(ep, hello(), false, Timeouts{});
  EXPECT_EQ(header(t.http, "Authorization"), "Bearer deployment-key");
  EXPECT_EQ(header(t.http, "X-Amz-Date"), "");
}

TEST(Bedrock, CredentialsFromTheSharedFile) {
  const auto p =
      make_provider(fixed({{"HOME", "/h"}, {"AWS_PROFILE", "work"}},
                          {{"/h/.aws/credentials", "[work]\naws_access_key_id=AKIDFILE\naws_secret_access_key=s\n"},
                           {"/h/.aws/config", "[profile work]\nregion = ap-northeast-1\n"}}));
  Endpoint ep;
  ep.model = "m";
  const auto t = p->chat_request(ep, hello(), false, Timeouts{});
  EXPECT_EQ(t.http.url, "https://bedrock-runtime.ap-northeast-1.amazonaws.com/model/m/converse");
  EXPECT_NE(header(t.http, "Authorization").find("Credential=AKIDFILE/20240115/ap-northeast-1/bedrock/"),
            std::string::npos);
}

TEST(Bedrock, MissingCredentialsRegionOrModelAreClearErrors) {
  Endpoint ep;
  ep.model = "m";
  try {
    make_provider(fixed({{"AWS_REGION", "us-east-1"}}))->chat_request(ep, hello(), false, Timeouts{});
    FAIL();
  } catch (const TranslationError& e) {
    EXPECT_NE(std::string(e.what()).find("no AWS credentials"), std::string::npos);
  }
  try {
    make_provider(fixed({{"AWS_ACCESS_KEY_ID", "a"}, {"AWS_SECRET_ACCESS_KEY", "b"}}))
        ->chat_request(ep, hello(), false, Timeouts{});
    FAIL();
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.parameter(), "region");
  }
  ep.model.clear();
  json no_model = hello();
  no_model.erase("model");
  EXPECT_THROW(make_provider(fixed(kKeys))->chat_request(ep, no_model, false, Timeouts{}), TranslationError);
}

TEST(Bedrock, Classification) {
  struct Case {
    int status;
    std::string type;  // x-amzn-ErrorType ("" = none, then the body's __type)
    std::string body;
    ErrorClass cls;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
       R"({"message":"Too many requests"})", ErrorClass::rate_limited, "rate_limited"},
      {429, "", R"({"__type":"com.amazon.bedrock#ModelNotReadyException","message":"not ready"})",
       ErrorClass::retryable, "overloaded"},
      {400, "ValidationException", R"({"message":"Malformed input request"})", ErrorClass::fatal_request,
       "bad_request"},
      {400, "ValidationException", R"({"message":"Input is too long for requested model."})", ErrorClass::fatal_request,
       "context_length_exceeded"},
      {400, "ServiceQuotaExceededException", R"({"message":"quota"})", ErrorClass::rate_limited, "quota"},
      {403, "AccessDeniedException", R"({"Message":"You don't have access to the model"})", ErrorClass::fatal_target,
       "auth"},
      {403, "UnrecognizedClientException", R"({"message":"The security token included in the request is invalid."})",
       ErrorClass::fatal_target, "auth"},
      {403, "", R"({"message":"Signature expired"})", ErrorClass::fatal_target, "auth"},
      {404, "ResourceNotFoundException", R"({"message":"model not found"})", ErrorClass::fatal_target, "not_found"},
      {408, "ModelTimeoutException", R"({"message":"timeout"})", ErrorClass::retryable, "server_error"},
      {424, "ModelErrorException", R"({"message":"model error"})", ErrorClass::retryable, "server_error"},
      {424, "", R"({"message":"model error"})", ErrorClass::retryable, "server_error"},
      {500, "InternalServerException", R"({"message":"oops"})", ErrorClass::retryable, "server_error"},
      {503, "ServiceUnavailableException", R"({"message":"unavailable"})", ErrorClass::retryable, "overloaded"},
      {502, "", "<html>bad gateway</html>", ErrorClass::retryable, "server_error"},
  };
  const auto p = make_provider(fixed(kKeys));
  for (const auto& c : cases) {
    Headers h;
    if (!c.type.empty()) h.push_back({"x-amzn-ErrorType", c.type});
    const ErrorVerdict v = p->classify(c.status, h, c.body);
    EXPECT_EQ(v.cls, c.cls) << c.status << " " << c.type << " " << c.body;
    EXPECT_EQ(v.reason, c.reason) << c.status << " " << c.type << " " << c.body;
  }
}

std::string frame(std::string_view type, const json& payload) {
  return es::encode(
      {{":event-type", std::string(type)}, {":content-type", "application/json"}, {":message-type", "event"}},
      payload.dump());
}

std::string tool_stream() {
  return frame("messageStart", {{"role", "assistant"}}) +
         frame("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "Let me check."}}}}) +
         frame("contentBlockStop", {{"contentBlockIndex", 0}}) +
         frame("contentBlockStart", {{"contentBlockIndex", 1},
                                     {"start", {{"toolUse", {{"toolUseId", "tooluse_1"}, {"name", "get_weather"}}}}}}) +
         frame("contentBlockDelta", {{"contentBlockIndex", 1}, {"delta", {{"toolUse", {{"input", "{\"city\":"}}}}}}) +
         frame("contentBlockDelta", {{"contentBlockIndex", 1}, {"delta", {{"toolUse", {{"input", "\"Paris\"}"}}}}}}) +
         frame("contentBlockStop", {{"contentBlockIndex", 1}}) + frame("messageStop", {{"stopReason", "tool_use"}}) +
         frame("metadata", {{"usage", {{"inputTokens", 10}, {"outputTokens", 5}, {"totalTokens", 15}}},
                            {"metrics", {{"latencyMs", 100}}}});
}

std::vector<std::string> feed(StreamTranslator& tr, const std::string& bytes, std::size_t step,
                              std::optional<ErrorVerdict>& error) {
  std::vector<std::string> chunks;
  for (std::size_t at = 0; at < bytes.size() && !error; at += step)
    tr.on_bytes(std::string_view(bytes).substr(at, step), chunks, error);
  return chunks;
}

TEST(BedrockStream, SameChunksUnderEverySplit) {
  const auto p = make_provider(fixed(kKeys));
  Endpoint ep;
  ep.model = "anthropic.claude-3-haiku-20240307-v1:0";
  const std::string bytes = tool_stream();
  std::vector<std::string> reference;
  for (std::size_t step : {bytes.size(), std::size_t{1}, std::size_t{2}, std::size_t{13}, std::size_t{100}}) {
    std::optional<ErrorVerdict> error;
    auto tr = p->stream_translator(ep, hello(true));
    const auto chunks = feed(*tr, bytes, step, error);
    EXPECT_FALSE(error);
    if (reference.empty()) reference = chunks;
    EXPECT_EQ(chunks, reference) << "step " << step;
  }
  ASSERT_EQ(reference.size(), 8u);
  EXPECT_EQ(json::parse(reference[2])["choices"][0]["delta"]["tool_calls"][0]["id"], "tooluse_1");
  EXPECT_EQ(json::parse(reference[4])["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "\"Paris\"}");
  EXPECT_EQ(json::parse(reference[5])["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(json::parse(reference[6])["usage"]["total_tokens"], 15);
  EXPECT_EQ(reference[7], "[DONE]");
}

TEST(BedrockStream, ExceptionFramesAreVerdicts) {
  const std::vector<std::tuple<std::string, std::string, ErrorClass, std::string>> cases = {
      {"throttlingException", "Too many tokens", ErrorClass::rate_limited, "rate_limited"},
      {"modelStreamErrorException", "boom", ErrorClass::retryable, "server_error"},
      {"internalServerException", "boom", ErrorClass::retryable, "server_error"},
      {"serviceUnavailableException", "busy", ErrorClass::retryable, "overloaded"},
      {"validationException", "Input is too long for requested model.", ErrorClass::fatal_request,
       "context_length_exceeded"},
      {"validationException", "The model returned the following errors: context window exceeded",
       ErrorClass::fatal_request, "context_length_exceeded"},
      {"validationException", "bad field", ErrorClass::fatal_request, "bad_request"},
  };
  for (const auto& [type, message, cls, reason] : cases) {
    auto tr = make_stream("m", false, "id");
    std::optional<ErrorVerdict> error;
    const std::string bytes =
        frame("messageStart", {{"role", "assistant"}}) +
        es::encode({{":exception-type", type}, {":content-type", "application/json"}, {":message-type", "exception"}},
                   json{{"message", message}}.dump()) +
        frame("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "never"}}}});
    const auto chunks = feed(*tr, bytes, bytes.size(), error);
    ASSERT_TRUE(error) << type;
    EXPECT_EQ(error->cls, cls) << type;
    EXPECT_EQ(error->reason, reason) << type << " " << message;
    EXPECT_NE(error->message.find(message), std::string::npos);
    EXPECT_EQ(chunks.size(), 1u);  // the role chunk; nothing after the exception
  }
}

TEST(BedrockStream, BadCrcOrJsonIsATranslationError) {
  std::string bytes = frame("messageStart", {{"role", "assistant"}});
  bytes[bytes.size() - 1] ^= 0x11;
  auto tr = make_stream("m", false, "id");
  std::optional<ErrorVerdict> error;
  EXPECT_THROW(feed(*tr, bytes, 5, error), TranslationError);
  auto tr2 = make_stream("m", false, "id");
  const std::string bad_json =
      es::encode({{":event-type", "contentBlockDelta"}, {":message-type", "event"}}, "{not json");
  EXPECT_THROW(feed(*tr2, bad_json, bad_json.size(), error), TranslationError);
}

TEST(BedrockStream, MalformedStopReasonIsRetryable) {
  auto tr = make_stream("m", false, "id");
  std::optional<ErrorVerdict> error;
  feed(*tr,
       frame("messageStart", {{"role", "assistant"}}) + frame("messageStop", {{"stopReason", "malformed_tool_use"}}),
       1000, error);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->cls, ErrorClass::retryable);
}

TEST(BedrockEmbeddings, TitanAndCohere) {
  const auto p = make_provider(fixed(kKeys));
  Endpoint ep;
  ep.model = "amazon.titan-embed-text-v2:0";
  auto t = p->embeddings_request(ep, {{"input", "hello"}, {"dimensions", 256}}, Timeouts{});
  EXPECT_EQ(t.http.url, "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke");
  EXPECT_EQ(json::parse(t.http.body), json({{"inputText", "hello"}, {"dimensions", 256}}));
  EXPECT_THROW(p->embeddings_request(ep, {{"input", {"a", "b"}}}, Timeouts{}), TranslationError);
  const json titan = json::parse(p->embeddings_response(ep, R"({"embedding":[0.1,0.2],"inputTextTokenCount":3})"));
  EXPECT_EQ(titan["data"][0]["embedding"], json({0.1, 0.2}));
  EXPECT_EQ(titan["usage"]["prompt_tokens"], 3);
  ep.model = "cohere.embed-english-v3";
  t = p->embeddings_request(ep, {{"input", {"a", "b"}}, {"encoding_format", "base64"}}, Timeouts{});
  EXPECT_EQ(json::parse(t.http.body)["texts"], json({"a", "b"}));
  EXPECT_EQ(t.warnings.size(), 1u);
  const json co = json::parse(p->embeddings_response(ep, R"({"embeddings":{"float":[[1],[2]]},"id":"x"})"));
  EXPECT_EQ(co["data"][1]["index"], 1);
  ep.model = "meta.llama3-8b-instruct-v1:0";
  EXPECT_THROW(p->embeddings_request(ep, {{"input", "x"}}, Timeouts{}), TranslationError);
}

// ---- whole exchanges with the fake, over the real transport -----------------------------------------

class BedrockFake : public ::testing::Test {
 protected:
  FakeProvider fp;
  transport::HttpClient client;
  std::unique_ptr<Provider> p = make_provider(fixed(kKeys));
  Endpoint at(const std::string& model) {
    Endpoint ep;
    ep.base_url = fp.root_url();
    ep.model = model;
    return ep;
  }
  struct Streamed {
    int status = 0;
    std::string content;
    std::vector<json> chunks;
    bool done = false;
    std::optional<ErrorVerdict> error;
    std::string translation_error;
    std::size_t body_events = 0;
  };
  Streamed stream(const Endpoint& ep, const json& request) {
    auto tr = p->stream_translator(ep, request);
    const auto c = test::fetch(client, p->chat_request(ep, request, true, Timeouts{}).http);
    Streamed s;
    s.status = c.status();
    std::vector<std::string> out;
    for (const auto& e : c.events) {
      if (e.kind != Event::Kind::body || s.error) continue;
      ++s.body_events;
      try {
        tr->on_bytes(e.data, out, s.error);
      } catch (const TranslationError& x) {
        s.translation_error = x.what();
        break;
      }
    }
    for (const auto& o : out) {
      if (o == "[DONE]") {
        s.done = true;
        continue;
      }
      s.chunks.push_back(json::parse(o));
      const json& ch = s.chunks.back()["choices"];
      if (!ch.empty() && ch[0]["delta"].contains("content")) s.content += ch[0]["delta"]["content"].get<std::string>();
    }
    return s;
  }
};

TEST_F(BedrockFake, Converse) {
  const auto ep = at("anthropic.claude-3-haiku-20240307-v1:0");
  const auto c = test::fetch(client, p->chat_request(ep, hello(), false, Timeouts{}).http);
  ASSERT_EQ(c.status(), 200);
  std::string body;
  for (const auto& e : c.events) {
    if (e.kind == Event::Kind::body) body += e.data;
  }
  const json r = json::parse(p->chat_response(ep, body));
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Hello from anthropic.claude-3-haiku-20240307-v1:0.");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(r["usage"]["prompt_tokens"], 4);
  const auto rec = fp.attempts("anthropic.claude-3-haiku-20240307-v1:0");  // decoded from the path
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].target, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  const auto* auth = find_header(rec[0].headers, "authorization");
  ASSERT_NE(auth, nullptr);
  EXPECT_NE(auth->find("SignedHeaders=content-type;host;x-amz-date"), std::string::npos);
}

TEST_F(BedrockFake, ConverseStreamArrivesInPieces) {
  const auto s = stream(at("amazon.nova-lite-v1:0"), hello(true));
  EXPECT_EQ(s.status, 200);
  EXPECT_FALSE(s.error);
  EXPECT_TRUE(s.translation_error.empty()) << s.translation_error;
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.content, "Hello from amazon.nova-lite-v1:0.");
  EXPECT_EQ(s.chunks.back()["usage"]["completion_tokens"], 3);
  EXPECT_EQ(fp.attempts()[0].outcome, "ok");
}

TEST_F(BedrockFake, ErrorEventBeforeTheFirstToken) {
  fp.script("m", {Fault::error_event(1)});
  const auto s = stream(at("m"), hello());
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->cls, ErrorClass::retryable);
  EXPECT_EQ(s.content, "");
  EXPECT_EQ(fp.attempts()[0].outcome, "error_event:1");
}

TEST_F(BedrockFake, MalformedFrameIsATranslationError) {
  fp.script("m", {Fault::malformed(2)});
  const auto s = stream(at("m"), hello());
  EXPECT_NE(s.translation_error.find("CRC"), std::string::npos) << s.translation_error;
}

TEST_F(BedrockFake, CutStreamHasNoDone) {
  fp.script("m", {Fault::cut(3)});
  const auto s = stream(at("m"), hello());
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(s.error);
}

TEST_F(BedrockFake, ErrorBodies) {
  fp.script("m", {Fault::rate_limited(), Fault::unavailable(), Fault::context_length_exceeded(), Fault::unauthorized(),
                  Fault::server_error(500)});
  const std::vector<std::pair<int, std::string>> expected = {{429, "rate_limited"},
                                                             {503, "overloaded"},
                                                             {400, "context_length_exceeded"},
                                                             {401, "auth"},
                                                             {500, "server_error"}};
  for (const auto& [status, reason] : expected) {
    const auto c = test::fetch(client, p->chat_request(at("m"), hello(), false, Timeouts{}).http);
    ASSERT_EQ(c.status(), status);
    std::string body;
    for (const auto& e : c.events) {
      if (e.kind == Event::Kind::body) body += e.data;
    }
    EXPECT_EQ(p->classify(c.status(), c.events.front().headers, body).reason, reason) << body;
  }
}

TEST_F(BedrockFake, Embeddings) {
  const auto ep = at("amazon.titan-embed-text-v2:0");
  const auto c =
      test::fetch(client, p->embeddings_request(ep, {{"input", "hello there"}, {"dimensions", 4}}, Timeouts{}).http);
  ASSERT_EQ(c.status(), 200);
  std::string body;
  for (const auto& e : c.events) {
    if (e.kind == Event::Kind::body) body += e.data;
  }
  const json r = json::parse(p->embeddings_response(ep, body));
  EXPECT_EQ(r["data"][0]["embedding"].size(), 4u);
  EXPECT_EQ(r["usage"]["prompt_tokens"], 2);
}

}  // namespace
}  // namespace llmfailover::providers::bedrock
