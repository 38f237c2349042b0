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

}  // namespace
}  // namespace llmfailover::providers
