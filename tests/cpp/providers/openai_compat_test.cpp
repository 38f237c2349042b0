// openai_compat_test.cpp — the registry and the OpenAI-compatible family's quirks.
#include "llmfailover/providers/openai_compat.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace llmfailover::providers {
namespace {

using nlohmann::json;

TEST(Registry, KnowsEveryProviderOnce) {
  const auto names = provider_names();
  const std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const char* n : {"openai", "azure", "groq", "together", "openrouter", "vllm", "ollama", "mistral", "deepseek",
                        "fireworks", "xai", "anthropic", "gemini"}) {
    const Provider* p = find_provider(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(p->name(), n);
    EXPECT_EQ(find_provider(n), p);  // one instance per name
  }
  EXPECT_EQ(find_provider("nope"), nullptr);
  EXPECT_EQ(find_provider(""), nullptr);
}

TEST(OpenAiCompat, DefaultBaseUrls) {
  const json req = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"openai", "https://api.openai.com/v1/chat/completions"},
      {"groq", "https://api.groq.com/openai/v1/chat/completions"},
      {"together", "https://api.together.xyz/v1/chat/completions"},
      {"openrouter", "https://openrouter.ai/api/v1/chat/completions"},
      {"vllm", "http://localhost:8000/v1/chat/completions"},
      {"ollama", "http://localhost:11434/v1/chat/completions"},
      {"mistral", "https://api.mistral.ai/v1/chat/completions"},
      {"deepseek", "https://api.deepseek.com/v1/chat/completions"},
      {"fireworks", "https://api.fireworks.ai/inference/v1/chat/completions"},
      {"xai", "https://api.x.ai/v1/chat/completions"},
  };
  for (const auto& [name, url] : expected) {
    Endpoint ep;
    ep.api_key = Secret("k");
    ep.model = "m";
    auto t = find_provider(name)->chat_request(ep, req, false, Timeouts{});
    EXPECT_EQ(t.http.url, url) << name;
    EXPECT_EQ(*find_header(t.http.headers, "Authorization"), "Bearer k") << name;
  }
}

TEST(OpenAiCompat, EmbeddingsForTheFamily) {
  Endpoint ep;
  ep.model = "text-embedding-3-small";
  auto t = find_provider("openai")->embeddings_request(ep, {{"model", "text-embedding-3-small"}, {"input", "x"}},
                                                       Timeouts{});
  EXPECT_EQ(t.http.url, "https://api.openai.com/v1/embeddings");
  EXPECT_THROW(find_provider("anthropic")->embeddings_request(ep, json::object(), Timeouts{}), TranslationError);
}

TEST(Mistral, ToolIdsAreNineAlphanumericsAndStable) {
  const std::regex nine("^[A-Za-z0-9]{9}$");
  std::set<std::string> seen;
  for (std::string id : {"call_abc123", "toolu_01A09q90qw90lq917835lq9", "call_g1", "x", "", "a-b_c"}) {
    const std::string m = mistral_tool_id(id);
    EXPECT_TRUE(std::regex_match(m, nine)) << id << " -> " << m;
    EXPECT_EQ(mistral_tool_id(id), m);
    seen.insert(m);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(mistral_tool_id("D681PevKs"), "D681PevKs");  // already valid: kept
}

TEST(OpenAiCompat, FinishReasonNormalisation) {
  EXPECT_EQ(normalize_finish_reason("stop"), "stop");
  EXPECT_EQ(normalize_finish_reason("model_length"), "length");
  EXPECT_EQ(normalize_finish_reason("tool_call"), "tool_calls");
  EXPECT_EQ(normalize_finish_reason("error"), "error");
  EXPECT_EQ(normalize_finish_reason("eos"), "stop");
}

TEST(OpenAiCompat, MalformedAnswerNamesTheProvider) {
  for (const char* name : {"openai", "mistral", "groq"}) {
    try {
      find_provider(name)->chat_response({}, "{\"object\":\"chat.completion\"}");
      ADD_FAILURE() << name;
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), name);
    }
  }
}

TEST(OpenAiCompat, MistralErrorFinishIsRetryable) {
  const std::string body =
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"error"}]})";
  try {
    find_provider("mistral")->chat_response({}, body);
    FAIL();
  } catch (const TranslationError& e) {
    ASSERT_TRUE(e.verdict().has_value());
    EXPECT_EQ(e.verdict()->cls, ErrorClass::retryable);
  }
}

TEST(OpenAiCompat, UntouchedAnswersAreForwardedByteForByte) {
  const std::string body =
      R"({"id":"x",  "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})";
  EXPECT_EQ(find_provider("openai")->chat_response({}, body), body);
  auto tr = find_provider("openai")->stream_translator({}, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  const std::string chunk = R"({"id":"x", "choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]})";
  tr->on_sse("", chunk, chunks, error);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], chunk);
}

TEST(OpenAiCompat, ErrorInsideTheStream) {
  auto tr = find_provider("openai")->stream_translator({}, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  tr->on_sse("", R"({"error":{"message":"Rate limit","type":"rate_limit_error"}})", chunks, error);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->cls, ErrorClass::rate_limited);
  EXPECT_TRUE(chunks.empty());
}

// A chunk passes as it came only when the parse would not change or refuse it (one validating scan
// decides); these need the parse, however they are written.
TEST(OpenAiCompat, StreamChunksThatNeedTheParseTakeIt) {
  auto run = [](const std::string& chunk, bool include_usage) {
    auto tr =
        find_provider("openai")->stream_translator({}, json{{"stream_options", {{"include_usage", include_usage}}}});
    std::vector<std::string> chunks;
    std::optional<ErrorVerdict> error;
    tr->on_sse("", chunk, chunks, error);
    EXPECT_FALSE(error) << chunk;
    std::vector<json> out;
    for (auto& c : chunks) out.push_back(json::parse(c));
    return out;
  };
  // A non-standard finish reason, with white space around the colon, or escaped: normalised.
  for (std::string c : {R"({"choices":[{"index":0,"delta":{},"finish_reason" : "eos"}]})",
                        R"({"choices":[{"index":0,"delta":{},"finish_reason":"\u0065os"}]})"}) {
    auto out = run(c, false);
    ASSERT_EQ(out.size(), 1u) << c;
    EXPECT_EQ(out[0]["choices"][0]["finish_reason"], "stop") << c;
  }
  // Usage on a content chunk, written with a space before the colon: split off, or dropped.
  const std::string usage = R"({"choices":[{"index":0,"delta":{"content":"a"}}],"usage" : {"total_tokens":3}})";
  auto split = run(usage, true);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_FALSE(split[0].contains("usage"));
  EXPECT_EQ(split[1]["usage"]["total_tokens"], 3);
  EXPECT_TRUE(split[1]["choices"].empty());
  auto dropped = run(usage, false);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_FALSE(dropped[0].contains("usage"));
  EXPECT_TRUE(run(R"({"choices":[],"usage":{"total_tokens":3}})", false).empty());
  // Azure's prompt-filter prelude (an empty "object"): dropped when it has no choices.
  EXPECT_TRUE(run(R"({"object" : "","choices":[],"prompt_filter_results":[]})", false).empty());
  // A null error beside choices is still a chunk.
  auto with_null_error = run(R"({"error":null,"choices":[{"index":0,"delta":{"content":"a"}}]})", false);
  ASSERT_EQ(with_null_error.size(), 1u);
  EXPECT_EQ(with_null_error[0]["choices"][0]["delta"]["content"], "a");
  // Look-alikes inside strings change nothing: the chunk passes byte for byte.
  const std::string lookalike =
      R"({"id":"\"finish_reason\":\"eos\",\"usage\":{","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\"error\""},"finish_reason":"length"}],"usage":null})";
  auto tr = find_provider("openai")->stream_translator({}, json::object());
  std::vector<std::string> chunks;
  std::optional<ErrorVerdict> error;
  tr->on_sse("", lookalike, chunks, error);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], lookalike);
  // Invalid or too deep: refused, naming the provider.
  for (std::string bad : {std::string(R"({"choices":[{"delta":{"content":"a"}}])"), std::string("{\"a\":\"\xff\"}"),
                          "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}"}) {
    chunks.clear();
    try {
      tr->on_sse("", bad, chunks, error);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const TranslationError& e) {
      EXPECT_FALSE(e.verdict().has_value());
      EXPECT_NE(std::string(e.what()).find("openai"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace llmfailover::providers
