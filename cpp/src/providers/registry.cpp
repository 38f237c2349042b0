// registry.cpp — every provider llmfailover speaks, one entry each (registry.hpp). To add an
// OpenAI-compatible provider: one entry below with compat(); quirks, if any, go in openai_compat.cpp.
#include "llmfailover/providers/registry.hpp"

#include "llmfailover/providers/anthropic.hpp"
#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/cohere.hpp"
#include "llmfailover/providers/gemini.hpp"
#include "llmfailover/providers/openai_compat.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/providers/sigv4.hpp"
#include "llmfailover/providers/vertex.hpp"

namespace llmfailover::providers {
namespace {

constexpr std::string_view kCompat = kOpenAiCompatible;

std::function<std::unique_ptr<Provider>()> compat(std::string_view name) {
  return [name] { return make_openai_compat(name); };
}

// Azure OpenAI's endpoint is the resource ("https://<resource>.openai.azure.com"); its API lives
// under /openai (openai-python lib/azure.py: base_url = f"{azure_endpoint}/openai"). A base_url
// that already has it is kept.
std::string azure_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find("/openai") == std::string::npos) url += "/openai";
  return url;
}

// What SigV4 signs with (the AWS credential chain: sigv4.hpp) and the Bedrock API key
// (AWS_BEARER_TOKEN_BEDROCK, boto3's name for it).
std::vector<std::string> aws_secrets(const EnvLookup& env) {
  std::vector<std::string> out;
  if (auto creds = sigv4::load_credentials(env, sigv4::real_files())) {
    out.push_back(creds->secret_access_key.reveal());
    out.push_back(creds->session_token.reveal());
  }
  out.push_back(env("AWS_BEARER_TOKEN_BEDROCK").value_or(""));
  return out;
}

// Key variables: what each provider's own SDK reads (openai-python OPENAI_API_KEY, anthropic-sdk
// ANTHROPIC_API_KEY, google-genai GEMINI_API_KEY then GOOGLE_API_KEY, cohere CO_API_KEY, ...).
// An OpenAI-compatible entry needs no factory: compat(name) is filled in below.
std::vector<ProviderInfo> build() {
  const Capabilities embed{.embeddings = true};
  const Capabilities responses{.embeddings = true, .responses = true};
  std::vector<ProviderInfo> v = {
      {.name = "openai",
       .adapter = kCompat,
       .default_base_url = "https://api.openai.com/v1",
       .key_env = {"OPENAI_API_KEY"},
       .capabilities = responses},
      {.name = "azure",
       .adapter = kCompat,
       .aliases = {"azure_openai"},
       .base_url_example = "https://<resource>.openai.azure.com",
       .key_env = {"AZURE_OPENAI_API_KEY"},
       .capabilities = responses,
       .complete_base_url = azure_base_url},
      {.name = "groq",
       .adapter = kCompat,
       .default_base_url = "https://api.groq.com/openai/v1",
       .key_env = {"GROQ_API_KEY"},
       .capabilities = embed},
      {.name = "together",
       .adapter = kCompat,
       .aliases = {"together_ai"},
       .default_base_url = "https://api.together.xyz/v1",
       .key_env = {"TOGETHER_API_KEY"},
       .capabilities = embed},
      {.name = "openrouter",
       .adapter = kCompat,
       .default_base_url = "https://openrouter.ai/api/v1",
       .key_env = {"OPENROUTER_API_KEY"},
       .capabilities = embed},
      {.name = "vllm",
       .adapter = kCompat,
       .aliases = {"hosted_vllm"},
       .default_base_url = "http://localhost:8000/v1",
       .capabilities = embed},
      {.name = "ollama", .adapter = kCompat, .default_base_url = "http://localhost:11434/v1", .capabilities = embed},
      {.name = "mistral",
       .adapter = kCompat,
       .default_base_url = "https://api.mistral.ai/v1",
       .key_env = {"MISTRAL_API_KEY"},
       .capabilities = {.prefill = true, .embeddings = true}},
      {.name = "deepseek",
       .adapter = kCompat,
       .default_base_url = "https://api.deepseek.com/v1",
       .key_env = {"DEEPSEEK_API_KEY"},
       .capabilities = embed},
      {.name = "fireworks",
       .adapter = kCompat,
       .aliases = {"fireworks_ai"},
       .default_base_url = "https://api.fireworks.ai/inference/v1",
       .key_env = {"FIREWORKS_API_KEY"},
       .capabilities = embed},
      {.name = "xai",
       .adapter = kCompat,
       .default_base_url = "https://api.x.ai/v1",
       .key_env = {"XAI_API_KEY"},
       .capabilities = embed},
      // https://inference-docs.cerebras.ai/resources/openai (the base URL; the cerebras-cloud-sdk
      // reads CEREBRAS_API_KEY). It serves no embeddings.
      {.name = "cerebras",
       .adapter = kCompat,
       .default_base_url = "https://api.cerebras.ai/v1",
       .key_env = {"CEREBRAS_API_KEY"}},
      {.name = "anthropic",
       .adapter = "Messages API",
       .default_base_url = anthropic::kDefaultBaseUrl,
       .key_env = {"ANTHROPIC_API_KEY"},
       .capabilities = {.prefill = true},
       .make = anthropic::make_provider},
      {.name = "gemini",
       .adapter = "generateContent / batchEmbedContents",
       .default_base_url = gemini::kDefaultBaseUrl,
       .key_env = {"GEMINI_API_KEY", "GOOGLE_API_KEY"},
       .capabilities = embed,
       .make = gemini::make_provider},
      {.name = "vertex",
       .adapter = "generateContent / batchEmbedContents (Gemini's body)",
       .aliases = {"vertex_ai"},
       .capabilities = embed,
       .credential = CredentialSource::service_account,
       .make = vertex::make_provider,
       .make_credentials = vertex::make_credentials},
      {.name = "bedrock",
       .adapter = "Converse / ConverseStream",
       .capabilities = {.prefill = true, .embeddings = true},
       .credential = CredentialSource::sigv4,
       .make = [] { return bedrock::make_provider(); },
       .environment_secrets = aws_secrets},
      {.name = "cohere",
       .adapter = "v2 Chat / v2 Embed",
       .default_base_url = cohere::kDefaultBaseUrl,
       .key_env = {"CO_API_KEY", "COHERE_API_KEY"},
       .capabilities = embed,
       .make = cohere::make_provider},
  };
  for (auto& info : v)
    if (!info.make && info.adapter == kCompat) info.make = compat(info.name);
  return v;
}

struct Instances {
  std::vector<std::unique_ptr<Provider>> providers;  // parallel to provider_registry()
  Instances() {
    for (const auto& info : provider_registry()) providers.push_back(info.make());
  }
};

const Instances& instances() {
  static const Instances r;  // built once, thread-safe (C++11 magic statics); Providers are immutable
  return r;
}

std::size_t index_of(std::string_view name) {
  const auto& all = provider_registry();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == name) return i;
    for (auto alias : all[i].aliases)
      if (alias == name) return i;
  }
  return all.size();
}

std::string code_list(const std::vector<std::string_view>& items, std::string_view none) {
  std::string out;
  for (auto s : items) out += (out.empty() ? "`" : ", `") + std::string(s) + "`";
  return out.empty() ? std::string(none) : out;
}

}  // namespace

std::string_view to_string(CredentialSource source) noexcept {
  switch (source) {
    case CredentialSource::api_key: return "api_key";
    case CredentialSource::sigv4: return "sigv4";
    case CredentialSource::service_account: return "service_account";
  }
  return "?";
}

const std::vector<ProviderInfo>& provider_registry() {
  static const std::vector<ProviderInfo> registry = build();
  return registry;
}

const ProviderInfo* find_provider_info(std::string_view name) {
  auto i = index_of(name);
  return i < provider_registry().size() ? &provider_registry()[i] : nullptr;
}

std::optional<Secret> default_key(const ProviderInfo& info, const EnvLookup& env) {
  for (auto name : info.key_env)
    if (auto v = env(std::string(name)); v && !v->empty()) return Secret(std::move(*v));
  return std::nullopt;
}

void complete_endpoint(const ProviderInfo& info, Endpoint& endpoint, const EnvLookup& env) {
  if (info.complete_base_url && !endpoint.base_url.empty())
    endpoint.base_url = info.complete_base_url(std::move(endpoint.base_url));
  if (endpoint.api_key.empty())
    if (auto key = default_key(info, env)) endpoint.api_key = std::move(*key);
}

std::shared_ptr<Credentials> make_credentials(const ProviderInfo& info, const CredentialConfig& config,
                                              Endpoint& endpoint, const TimeSource& clock, CredentialPool& pool,
                                              const EnvLookup& env) {
  return info.make_credentials ? info.make_credentials(config, endpoint, clock, pool, env) : nullptr;
}

const Provider* find_provider(std::string_view name) {
  auto i = index_of(name);
  return i < provider_registry().size() ? instances().providers[i].get() : nullptr;
}

std::vector<std::string> provider_names() {
  std::vector<std::string> out;
  for (const auto& info : provider_registry()) out.emplace_back(info.name);
  return out;
}

std::string provider_table_markdown() {
  std::string out =
      "| name | adapter | aliases | default base URL | key when none is configured | credential | prefill | "
      "embeddings | Responses API |\n|---|---|---|---|---|---|---|---|---|\n";
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  for (const auto& p : provider_registry()) {
    std::string url = p.requires_base_url()        ? std::string("none (required)")
                      : p.default_base_url.empty() ? std::string("from `region` / `project` (below)")
                                                   : "`" + std::string(p.default_base_url) + "`";
    out += "| `" + std::string(p.name) + "` | " + std::string(p.adapter) + " | " + code_list(p.aliases, "") + " | " +
           url + " | " + code_list(p.key_env, "none") + " | " + std::string(to_string(p.credential)) + " | " +
           yes(p.capabilities.prefill) + " | " + yes(p.capabilities.embeddings) + " | " +
           yes(p.capabilities.responses) + " |\n";
  }
  return out;
}

}  // namespace llmfailover::providers
