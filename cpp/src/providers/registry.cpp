// registry.cpp — provider name -> Provider. One line per provider: add yours to kFactories.
#include <functional>

#include "llmfailover/providers/anthropic.hpp"
#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/cohere.hpp"
#include "llmfailover/providers/gemini.hpp"
#include "llmfailover/providers/openai_compat.hpp"
#include "llmfailover/providers/vertex.hpp"

namespace llmfailover::providers {
namespace {

struct Factory {
  std::string_view name;
  std::function<std::unique_ptr<Provider>()> make;
};

std::function<std::unique_ptr<Provider>()> compat(std::string_view name) {
  return [name] { return make_openai_compat(name); };
}

const std::vector<Factory>& factories() {
  static const std::vector<Factory> kFactories = {
      {"openai", compat("openai")},
      {"azure", compat("azure")},
      {"groq", compat("groq")},
      {"together", compat("together")},
      {"openrouter", compat("openrouter")},
      {"vllm", compat("vllm")},
      {"ollama", compat("ollama")},
      {"mistral", compat("mistral")},
      {"deepseek", compat("deepseek")},
      {"fireworks", compat("fireworks")},
      {"xai", compat("xai")},
      {"anthropic", anthropic::make_provider},
      {"gemini", gemini::make_provider},
      {"vertex", vertex::make_provider},
      {"bedrock", [] { return bedrock::make_provider(); }},
      {"cohere", cohere::make_provider},
  };
  return kFactories;
}

struct Registry {
  std::vector<std::pair<std::string, std::unique_ptr<Provider>>> providers;
  Registry() {
    for (const auto& f : factories()) providers.emplace_back(std::string(f.name), f.make());
  }
};

const Registry& registry() {
  static const Registry r;  // built once, thread-safe (C++11 magic statics); Providers are immutable
  return r;
}

}  // namespace

const Provider* find_provider(std::string_view name) {
  for (const auto& [n, p] : registry().providers) {
    if (n == name) return p.get();
  }
  return nullptr;
}

std::vector<std::string> provider_names() {
  std::vector<std::string> out;
  for (const auto& [n, p] : registry().providers) out.push_back(n);
  return out;
}

}  // namespace llmfailover::providers
