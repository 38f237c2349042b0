// gemini_test.cpp — the Gemini adapter beyond the golden fixtures: error classification, the
// retry hint in 429 bodies, safety blocks, and answers that do not fit the schema.
#include "llmfailover/providers/gemini.hpp"

#include <gtest/gtest.h>

namespace llmfailover::providers {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const Provider& gemini_p() { return *find_provider("gemini"); }

std::string err(int code, const std::string& status, const std::string& message, json details = nullptr) {
  json e = {{"code", code}, {"message", message}, {"status", status}};
  if (!details.is_null()) e["details"] = details;
  return json{{"error", e}}.dump();
}

json quota(const std::string& quota_id, const std::string& delay) {
  return json::array({{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
                       {"violations",
                        {{{"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                          {"quotaId", quota_id}}}}},
                      {{"@type", "type.googleapis.com/google.rpc.Help"}, {"links", json::array()}},
                      {{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", delay}}});
}

TEST(GeminiClassify, Table) {
  struct Case {
    int status;
    std::string body;
    ErrorClass cls;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {429,
       err(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota",
           quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "12s")),
       ErrorClass::rate_limited, "rate_limited"},
      {429,
       err(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota",
           quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "50s")),
       ErrorClass::rate_limited, "quota"},
      {400,
       err(400, "INVALID_ARGUMENT",
           "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."),
       ErrorClass::fatal_request, "context_length_exceeded"},
      {400, err(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."), ErrorClass::fatal_target,
       "auth"},
      {400, err(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
       ErrorClass::fatal_target, "bad_request"},
      {400, err(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"foo\""),
       ErrorClass::fatal_request, "bad_request"},
      {403, err(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"), ErrorClass::fatal_target,
       "auth"},
      {404, err(404, "NOT_FOUND", "models/gemini-9 is not found"), ErrorClass::fatal_target, "not_found"},
      {500, err(500, "INTERNAL", "An internal error has occurred."), ErrorClass::retryable, "server_error"},
      {503, err(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), ErrorClass::retryable,
       "overloaded"},
      {504, err(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."), ErrorClass::retryable,
       "server_error"},
  };
  for (const auto& c : cases) {
    const ErrorVerdict v = gemini_p().classify(c.status, {}, c.body);
    EXPECT_EQ(v.cls, c.cls) << c.body;
    EXPECT_EQ(v.reason, c.reason) << c.body;
    EXPECT_FALSE(v.message.empty());
  }
}

TEST(Gemini, RetryDelayInTheBodyIsTheHint) {
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q", quota("PerMinute", "12s"))), Millis{12000});
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q", quota("PerMinute", "1.5s"))), Millis{1500});
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q", quota("PerMinute", "0.25s"))), Millis{250});
  json obj = quota("x", "1s");
  obj[2]["retryDelay"] = {{"seconds", 3}, {"nanos", 500000000}};
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q", obj)), Millis{3500});
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q")), std::nullopt);
  EXPECT_EQ(gemini_p().body_retry_hint("not json"), std::nullopt);
  EXPECT_EQ(gemini_p().body_retry_hint(err(429, "RESOURCE_EXHAUSTED", "q", quota("x", "soon"))), std::nullopt);
}

TEST(Gemini, BlockedPromptIsAContentPolicyRequestError) {
  const std::string body =
      R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":3}})";
  try {
    gemini_p().chat_response({}, body);
    FAIL() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.provider(), "gemini");
    ASSERT_TRUE(e.verdict().has_value());
    EXPECT_EQ(e.verdict()->cls, ErrorClass::fatal_request);
    EXPECT_EQ(e.verdict()->reason, "content_policy");
    EXPECT_NE(e.verdict()->message.find("SAFETY"), std::string::npos);
  }
}

TEST(Gemini, MalformedAnswersThrowTranslationErrorNamingTheProvider) {
  for (std::string body :
       {"{not json", "[1]", "{}", R"({"candidates":"x"})", R"({"candidates":[{"content":{"parts":[{"text":1}]}}]})",
        R"({"candidates":[{"content":{"parts":{"text":"x"}}}]})",
        R"({"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]}}]})"}) {
    try {
      gemini_p().chat_response({}, body);
      ADD_FAILURE() << "no throw for " << body;
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), "gemini");
      EXPECT_FALSE(e.verdict().has_value()) << body;
    }
  }
}

TEST(Gemini, UrlAndKeyHeader) {
  Endpoint ep;
  ep.api_key = Secret("AIza-test");
  ep.model = "gemini-2.5-flash";
  const json req = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto plain = gemini_p().chat_request(ep, req, false, Timeouts{});
  EXPECT_EQ(plain.http.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(*find_header(plain.http.headers, "x-goog-api-key"), "AIza-test");
  EXPECT_EQ(plain.http.url.find("key="), std::string::npos);  // the key never goes into the URL (logs)
  auto stream = gemini_p().chat_request(ep, req, true, Timeouts{});
  EXPECT_EQ(stream.http.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_FALSE(gemini_p().supports_prefill());
}

TEST(Gemini, FinishReasons) {
  EXPECT_EQ(gemini::finish_reason("STOP", false), "stop");
  EXPECT_EQ(gemini::finish_reason("STOP", true), "tool_calls");
  EXPECT_EQ(gemini::finish_reason("MAX_TOKENS", false), "length");
  for (auto f : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}) {
    EXPECT_EQ(gemini::finish_reason(f, false), "content_filter") << f;
  }
  for (auto f : {"OTHER", "LANGUAGE", "MALFORMED_FUNCTION_CALL", "FINISH_REASON_UNSPECIFIED"}) {
    EXPECT_EQ(gemini::finish_reason(f, false), "stop") << f;
  }
}

TEST(Gemini, StreamWithTwoCandidatesEndsWhenBothFinished) {
  Endpoint ep;
  ep.model = "gemini-2.5-flash";
  auto tr = gemini_p().stream_translator(ep, {{"n", 2}});
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  tr->on_sse(
      "",
      R"({"candidates":[{"content":{"parts":[{"text":"a"}]},"index":0,"finishReason":"STOP"},{"content":{"parts":[{"text":"b"}]},"index":1}]})",
      chunks, error);
  EXPECT_TRUE(std::find(chunks.begin(), chunks.end(), "[DONE]") == chunks.end());
  tr->on_sse("", R"({"candidates":[{"content":{"parts":[{"text":"c"}]},"index":1,"finishReason":"MAX_TOKENS"}]})",
             chunks, error);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back(), "[DONE]");
  EXPECT_EQ(json::parse(chunks[chunks.size() - 2])["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(error);
}

// A stream's error event with a code no status can be (a string, a fraction, past int64 or
// negative) is classified as a 500, never converted out of range (found by fuzz_provider: UBSan
// in nlohmann's number conversion for 55555555555555555503).
TEST(Gemini, StreamErrorEventWithAnOddCodeIsAServerError) {
  Endpoint ep;
  ep.model = "gemini-2.5-flash";
  for (const std::string code : {"55555555555555555503", "-429", "429.5", "\"429\"", "null", "99"}) {
    SCOPED_TRACE(code);
    auto tr = gemini_p().stream_translator(ep, json::object());
    std::vector<std::string> chunks;
    std::optional<ErrorVerdict> error;
    tr->on_sse("", R"({"error":{"code":)" + code + R"(,"message":"boom","status":"INTERNAL"}})", chunks, error);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->cls, ErrorClass::retryable);
    EXPECT_EQ(error->reason, "server_error");
  }
  auto tr = gemini_p().stream_translator(ep, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  tr->on_sse("", R"({"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}})", chunks, error);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->cls, ErrorClass::rate_limited);
}

// ---- embeddings (batchEmbedContents) ----------------------------------------------------------

TEST(GeminiEmbeddings, RequestIsOneBatchEmbedContentsRequestPerInput) {
  Endpoint ep;
  ep.api_key = Secret("test-key");
  ep.model = "models/gemini-embedding-001";
  const auto tr = gemini_p().embeddings_request(ep,
                                                {{"model", "x"},
                                                 {"input", {"first", "second"}},
                                                 {"dimensions", 256},
                                                 {"encoding_format", "base64"},
                                                 {"user", "u1"}},
                                                Timeouts{});
  EXPECT_EQ(tr.http.method, "POST");
  EXPECT_EQ(tr.http.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents");
  ASSERT_NE(find_header(tr.http.headers, "x-goog-api-key"), nullptr);
  EXPECT_EQ(*find_header(tr.http.headers, "x-goog-api-key"), "test-key");
  EXPECT_EQ(json::parse(tr.http.body), json::parse(R"({"requests":[
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"first"}]},"outputDimensionality":256},
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"second"}]},"outputDimensionality":256}]})"));
  EXPECT_EQ(tr.warnings, (std::vector<std::string>{"encoding_format base64 is not supported by gemini; floats returned",
                                                   "user is not supported by gemini embeddings; dropped"}));
  const auto one = gemini_p().embeddings_request(ep, {{"input", "just one"}, {"encoding_format", "float"}}, Timeouts{});
  EXPECT_EQ(json::parse(one.http.body)["requests"].size(), 1u);
  EXPECT_FALSE(json::parse(one.http.body)["requests"][0].contains("outputDimensionality"));
  EXPECT_TRUE(one.warnings.empty());
}

TEST(GeminiEmbeddings, TokenArraysAndBadInputsAreRejectedNamingTheParameter) {
  Endpoint ep;
  ep.model = "gemini-embedding-001";
  for (const json& input :
       {json::array({1, 2, 3}), json::array({json::array({1, 2})}), json::array(), json(42), json()}) {
    try {
      gemini_p().embeddings_request(ep, {{"input", input}}, Timeouts{});
      FAIL() << input;
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), "gemini");
      EXPECT_EQ(e.parameter(), "input") << input;
    }
  }
  try {
    gemini_p().embeddings_request(ep, {{"input", "x"}, {"dimensions", -3}}, Timeouts{});
    FAIL() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.parameter(), "dimensions");
  }
}

TEST(GeminiEmbeddings, AnswerBecomesAnOpenAIEmbeddingList) {
  Endpoint ep;
  ep.model = "gemini-embedding-001";
  const json out =
      json::parse(gemini_p().embeddings_response(ep, R"({"embeddings":[{"values":[0.5,-0.25]},{"values":[1,0]}]})"));
  EXPECT_EQ(out, json::parse(R"({"object":"list","model":"gemini-embedding-001",
      "data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]},{"object":"embedding","index":1,"embedding":[1,0]}],
      "usage":{"prompt_tokens":0,"total_tokens":0}})"));
  const json counted = json::parse(gemini_p().embeddings_response(
      ep, R"({"embeddings":[{"values":[0.5]}],"usageMetadata":{"promptTokenCount":7}})"));
  EXPECT_EQ(counted["usage"], json::parse(R"({"prompt_tokens":7,"total_tokens":7})"));
  for (const char* bad : {R"({})", R"({"embeddings":[{"value":[1]}]})", R"({"embeddings":{}})", "not json"}) {
    EXPECT_THROW(gemini_p().embeddings_response(ep, bad), TranslationError) << bad;
  }
}

}  // namespace
}  // namespace llmfailover::providers
