// registry_test.cpp — the provider registry (registry.hpp) is the one list: every entry has its
// adapter, names and aliases are unique, and what an entry says (default base URL, capabilities)
// is what its Provider does.
#include "llmfailover/providers/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;

const json kChat = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};

TEST(ProviderRegistry, NamesAndAliasesAreUniqueAndFindTheSameProvider) {
  std::set<std::string_view> seen;
  for (const auto& info : provider_registry()) {
    EXPECT_TRUE(seen.insert(info.name).second) << info.name;
    const Provider* p = find_provider(info.name);
    ASSERT_NE(p, nullptr) << info.name;
    EXPECT_EQ(p->name(), info.name);
    EXPECT_EQ(find_provider_info(info.name), &info);
    for (auto alias : info.aliases) {
      EXPECT_TRUE(seen.insert(alias).second) << alias;
      EXPECT_EQ(find_provider(alias), p) << alias;
      EXPECT_EQ(find_provider_info(alias), &info) << alias;
    }
  }
  EXPECT_EQ(find_provider_info("nope"), nullptr);
  EXPECT_EQ(provider_names().size(), provider_registry().size());
}

TEST(ProviderRegistry, CapabilitiesAreWhatTheAdaptersDo) {
  for (const auto& info : provider_registry()) {
    const Provider& p = *find_provider(info.name);
    EXPECT_EQ(p.supports_prefill(), info.capabilities.prefill) << info.name;
    Endpoint ep;
    ep.model = "m";
    ep.base_url = "https://example.test/v1";
    ep.project = "p";
    ep.region = "us-east-1";
    ep.api_key = Secret("k");
    bool refused = false;
    try {
      p.embeddings_request(ep, {{"model", "m"}, {"input", "hi"}}, Timeouts{});
    } catch (const TranslationError& e) {
      refused = std::string(e.what()).find("embeddings are not supported") != std::string::npos;
    }
    EXPECT_EQ(!refused, info.capabilities.embeddings) << info.name;
  }
}

TEST(ProviderRegistry, DefaultBaseUrlIsWhereAnEndpointWithoutOneGoes) {
  for (const auto& info : provider_registry()) {
    if (info.default_base_url.empty()) continue;
    Endpoint ep;
    ep.model = "m";
    ep.api_key = Secret("k");
    const auto tr = find_provider(info.name)->chat_request(ep, kChat, false, Timeouts{});
    EXPECT_TRUE(tr.http.url.starts_with(std::string(info.default_base_url) + "/")) << info.name << ": " << tr.http.url;
  }
}

// The measure of issue 13 point 2: a new OpenAI-compatible provider is one registry entry.
TEST(ProviderRegistry, CerebrasIsAnOpenAiCompatibleEntry) {
  const ProviderInfo* info = find_provider_info("cerebras");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->key_env, std::vector<std::string_view>{"CEREBRAS_API_KEY"});
  Endpoint ep;
  ep.model = "llama-3.3-70b";
  ep.api_key = Secret("csk-test");
  const auto tr = find_provider("cerebras")->chat_request(ep, kChat, true, Timeouts{});
  EXPECT_EQ(tr.http.url, "https://api.cerebras.ai/v1/chat/completions");
  EXPECT_EQ(*find_header(tr.http.headers, "Authorization"), "Bearer csk-test");
  EXPECT_THROW(find_provider("cerebras")->embeddings_request(ep, {{"input", "x"}}, Timeouts{}), TranslationError);
}

// What the router used to know (Azure's "/openai", the key variables, Bedrock's signing secrets)
// is the registry's: complete_endpoint() and environment_secrets with an injected environment.
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(ProviderRegistry, CompleteEndpointAppendsAzuresOpenAiPathOnce) {
  const auto& azure = *find_provider_info("azure_openai");
  for (auto [given, wanted] : {std::pair{"https://r.openai.azure.com", "https://r.openai.azure.com/openai"},
                               {"https://r.openai.azure.com//", "https://r.openai.azure.com/openai"},
                               {"https://r.openai.azure.com/openai", "https://r.openai.azure.com/openai"},
                               {"http://127.0.0.1:9/openai/", "http://127.0.0.1:9/openai"}}) {
    Endpoint ep;
    ep.base_url = given;
    ep.api_key = Secret("k");
    complete_endpoint(azure, ep, env_of({}));
    EXPECT_EQ(ep.base_url, wanted) << given;
  }
  Endpoint openai;
  openai.base_url = "https://gateway.example/v1/";  // other providers: as configured
  complete_endpoint(*find_provider_info("openai"), openai, env_of({}));
  EXPECT_EQ(openai.base_url, "https://gateway.example/v1/");
  EXPECT_TRUE(azure.requires_base_url());
  EXPECT_FALSE(find_provider_info("openai")->requires_base_url());
  EXPECT_FALSE(find_provider_info("bedrock")->requires_base_url());  // built from the region
  EXPECT_FALSE(find_provider_info("vertex")->requires_base_url());
}

TEST(ProviderRegistry, CompleteEndpointTakesTheFirstSetKeyVariableOnlyWhenNoneIsConfigured) {
  const auto& gemini = *find_provider_info("gemini");
  Endpoint ep;
  complete_endpoint(gemini, ep, env_of({{"GEMINI_API_KEY", ""}, {"GOOGLE_API_KEY", "g-key"}}));
  EXPECT_EQ(ep.api_key.reveal(), "g-key");  // an empty variable counts as unset
  complete_endpoint(gemini, ep, env_of({{"GEMINI_API_KEY", "other"}}));
  EXPECT_EQ(ep.api_key.reveal(), "g-key");  // a key already there wins
  Endpoint local;
  complete_endpoint(*find_provider_info("vllm"), local, env_of({{"OPENAI_API_KEY", "sk"}}));
  EXPECT_TRUE(local.api_key.empty());  // vllm reads no variable
  EXPECT_FALSE(default_key(*find_provider_info("cohere"), env_of({})).has_value());
  EXPECT_EQ(default_key(*find_provider_info("cohere"), env_of({{"COHERE_API_KEY", "c"}}))->reveal(), "c");
}

TEST(ProviderRegistry, OnlySigV4ProvidersHaveEnvironmentSecrets) {
  for (const auto& info : provider_registry())
    EXPECT_EQ(info.environment_secrets != nullptr, info.credential == CredentialSource::sigv4) << info.name;
  const auto secrets =
      find_provider_info("bedrock")->environment_secrets(env_of({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                                 {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"},
                                                                 {"AWS_SESSION_TOKEN", "session-token"},
                                                                 {"AWS_BEARER_TOKEN_BEDROCK", "bedrock-key"},
                                                                 {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"},
                                                                 {"AWS_CONFIG_FILE", "/nonexistent"}}));
  for (const char* s : {"wJalrXUtnFEMI", "session-token", "bedrock-key"})
    EXPECT_NE(std::find(secrets.begin(), secrets.end(), s), secrets.end()) << s;
  EXPECT_EQ(std::find(secrets.begin(), secrets.end(), "AKIDEXAMPLE"), secrets.end());  // not a secret
}

// docs/providers.md's table is generated from the registry: this test fails when it is stale;
// LLMF_UPDATE_DOCS=1 llmfailover_tests --gtest_filter=ProviderRegistry.DocsTableIsCurrent rewrites it.
TEST(ProviderRegistry, DocsTableIsCurrent) {
  const std::string path = std::string(LLMF_SOURCE_DIR) + "/docs/providers.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  const std::string begin = "<!-- provider-registry: generated from cpp/src/providers/registry.cpp -->\n";
  const std::string end = "<!-- /provider-registry -->";
  const auto b = doc.find(begin), e = doc.find(end);
  ASSERT_TRUE(b != std::string::npos && e != std::string::npos && b < e) << path << " has no " << begin;
  const std::string current = doc.substr(b + begin.size(), e - b - begin.size());
  const std::string wanted = provider_table_markdown();
  if (current != wanted && std::getenv("LLMF_UPDATE_DOCS")) {
    doc.replace(b + begin.size(), current.size(), wanted);
    std::ofstream(path) << doc;
    return;
  }
  EXPECT_EQ(current, wanted) << "docs/providers.md's provider table is stale: run LLMF_UPDATE_DOCS=1 "
                                "llmfailover_tests --gtest_filter=ProviderRegistry.DocsTableIsCurrent";
}

TEST(ProviderRegistry, DocsTableListsEveryEntry) {
  const std::string table = provider_table_markdown();
  for (const auto& info : provider_registry())
    EXPECT_NE(table.find("| `" + std::string(info.name) + "` |"), std::string::npos) << info.name;
  EXPECT_NE(table.find("`CEREBRAS_API_KEY`"), std::string::npos);
}

}  // namespace
}  // namespace llmfailover::providers
