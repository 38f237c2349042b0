// registry.hpp — what llmfailover knows about each provider, in one list.
//
// One entry per provider: its name and the other names configs use for it (LiteLLM's
// "together_ai"), where it is when a deployment gives no base_url (or that it must give one), how
// a configured base_url is completed (Azure's "/openai"), which environment variables hold its key
// when a deployment gives none (what the provider's own SDK reads), which other environment values
// sign its requests (so they can be scrubbed from echoed text), what it can do, how it
// authenticates (and the factory of the Credentials that fetch what it needs: credentials.hpp),
// and the factory of its Provider. Config validation, the router (endpoints, default keys,
// credentials, signing secrets), find_provider, the fake provider's dialect choice and the
// provider table in docs/providers.md (generated: tests/cpp/providers/registry_test.cpp) all read this list, so a new
// OpenAI-compatible provider is one entry in registry.cpp (and a test). Nothing above this layer
// compares provider names.
//
// Call order: a config names a provider (find_provider_info); the router builds each target's
// Endpoint from the deployment, calls complete_endpoint() once and make_credentials()
// (credentials.hpp) once; requests then go through
// find_provider()'s Provider.
//
// Thread safety: the registry is built once (on first use) and immutable; the free functions read
// only it and the EnvLookup they are given.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/credentials.hpp"
#include "llmfailover/secret.hpp"

namespace llmfailover::providers {

class Provider;
struct Endpoint;

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
  std::string_view base_url_example;      // shown when a required base_url is missing
  std::vector<std::string_view> key_env;  // read in order when a deployment gives no api_key
  Capabilities capabilities;
  CredentialSource credential = CredentialSource::api_key;
  std::function<std::unique_ptr<Provider>()> make;
  // A configured base_url as requests are built on it; nullptr: as configured.
  std::string (*complete_base_url)(std::string configured) = nullptr;
  // Environment values that authenticate requests without being sent as configured (AWS SigV4's
  // secret key, session token and Bedrock bearer token): an echo of one must be scrubbed.
  std::vector<std::string> (*environment_secrets)(const EnvLookup& env) = nullptr;
  // The deployment's Credentials when its requests need one fetched (service_account); nullptr:
  // the Endpoint's own key or signing values authenticate (credentials.hpp make_credentials).
  std::shared_ptr<Credentials> (*make_credentials)(const CredentialConfig& config, Endpoint& endpoint,
                                                   const TimeSource& clock, CredentialPool& pool,
                                                   const EnvLookup& env) = nullptr;

  // No default base URL and none built from region/project: a deployment must give one (azure).
  bool requires_base_url() const noexcept {
    return default_base_url.empty() && credential == CredentialSource::api_key;
  }
};

// Every provider, in a fixed order (the order of provider_names()).
const std::vector<ProviderInfo>& provider_registry();

// The entry for `name` or one of its aliases; nullptr when unknown.
const ProviderInfo* find_provider_info(std::string_view name);

// The key for a deployment that configures none: the first variable of info.key_env that is set
// and not empty; nullopt when none is (or the provider reads no variable).
std::optional<Secret> default_key(const ProviderInfo& info, const EnvLookup& env = process_env());

// Completes an Endpoint filled from a deployment's configuration (base_url, api_key, model, ...)
// with what the provider adds: the base URL as requests use it (complete_base_url) and, when the
// deployment gave no key, default_key(). The one call the router makes per target.
void complete_endpoint(const ProviderInfo& info, Endpoint& endpoint, const EnvLookup& env = process_env());

// The Provider registered under `name` or one of its aliases ("openai", "azure", "anthropic",
// "gemini", "vertex", "bedrock", "cohere", "mistral", "groq", "together_ai", ...); nullptr when unknown.
const Provider* find_provider(std::string_view name);
// The registry's names, in its order.
std::vector<std::string> provider_names();

// The registry as the Markdown table of docs/providers.md (between its "provider-registry" markers).
std::string provider_table_markdown();

}  // namespace llmfailover::providers
