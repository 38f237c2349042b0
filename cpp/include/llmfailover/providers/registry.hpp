// registry.hpp — what llmfailover knows about each provider, in one list.
//
// One entry per provider: its name and the other names configs use for it (LiteLLM's
// "together_ai"), where it is when a deployment gives no base_url, which environment variables
// hold its key when a deployment gives none (what the provider's own SDK reads), what it can do,
// how it authenticates, and the factory of its Provider. Config validation, the router (default
// keys, token caches, signing secrets), find_provider, the fake provider's dialect choice and the
// provider table in docs/providers.md (scripts/gen_provider_docs.py) all read this list, so a new
// OpenAI-compatible provider is one entry in registry.cpp (and a test).
//
// Thread safety: the registry is built once (on first use) and immutable.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmfailover::providers {

class Provider;

// How a deployment's requests are authenticated.
enum class CredentialSource {
  api_key,          // a static key (header set by the adapter: Bearer, x-api-key, api-key, ...)
  sigv4,            // AWS Signature Version 4 from the AWS credential chain (sigv4.hpp), or a bearer key
  service_account,  // an OAuth access token from a service account, fetched and cached (google_auth.hpp)
};
std::string_view to_string(CredentialSource source) noexcept;

struct Capabilities {
  bool prefill = false;     // continues a final assistant message (stream recovery by prefill)
  bool embeddings = false;  // /embeddings is translated
  bool responses = false;   // speaks OpenAI's Responses API (/responses) natively
  bool operator==(const Capabilities&) const = default;
};

struct ProviderInfo {
  std::string_view name;                  // "openai", "anthropic", ...
  std::string_view adapter;               // "OpenAI-compatible", "Messages API", ...
  std::vector<std::string_view> aliases;  // other spellings a config may use ("together_ai")
  std::string_view default_base_url;      // "" = the deployment must give one (azure) or it is
                                          // built from region/project (bedrock, vertex)
  std::vector<std::string_view> key_env;  // read in order when a deployment gives no api_key
  Capabilities capabilities;
  CredentialSource credential = CredentialSource::api_key;
  std::function<std::unique_ptr<Provider>()> make;
};

// Every provider, in a fixed order (the order of provider_names()).
const std::vector<ProviderInfo>& provider_registry();

// The entry for `name` or one of its aliases; nullptr when unknown.
const ProviderInfo* find_provider_info(std::string_view name);

// The Provider registered under `name` or one of its aliases ("openai", "azure", "anthropic",
// "gemini", "vertex", "bedrock", "cohere", "mistral", "groq", "together_ai", ...); nullptr when unknown.
const Provider* find_provider(std::string_view name);
// The registry's names, in its order.
std::vector<std::string> provider_names();

// The registry as the Markdown table of docs/providers.md (between its "provider-registry" markers).
std::string provider_table_markdown();

}  // namespace llmfailover::providers
