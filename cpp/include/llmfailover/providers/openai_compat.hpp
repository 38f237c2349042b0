// openai_compat.hpp — the OpenAI-compatible family as Providers: OpenAI, Azure OpenAI, and the
// providers that speak the OpenAI chat format with known quirks (Groq, Together, OpenRouter, vLLM,
// Ollama, Mistral, DeepSeek, Fireworks, xAI). URL and authentication reuse openai.hpp
// (build_request / url_for / classify_response); the body is the caller's, changed only where a
// provider's quirk demands it (drop_in.md 4.0 and 4.6):
//   - mistral: tool-call ids rewritten to 9 alphanumeric characters, consistently in
//     assistant.tool_calls[].id and tool.tool_call_id; seed -> random_seed; stream_options dropped;
//     max_completion_tokens -> max_tokens; finish_reason "model_length" -> "length", "error" -> an error.
//   - groq: n > 1 rejected; logprobs, top_logprobs, logit_bias dropped with a warning.
//   - every member: an off-enum finish_reason is normalised (so openai's pydantic types validate),
//     Azure's empty prelude chunk is dropped, and usage riding on a content chunk is split into
//     its own chunk when the caller asked for include_usage (stripped when it did not).
//
// Thread safety: Providers are immutable; the functions are pure.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/provider.hpp"
#include "llmfailover/providers/registry.hpp"

namespace llmfailover::providers {

// The registry's adapter name of the family (ProviderInfo::adapter).
inline constexpr std::string_view kOpenAiCompatible = "OpenAI-compatible";

// A member of the family by name or alias: a registry entry whose adapter is kOpenAiCompatible
// ("openai", "azure", "groq", "together", ...); nullptr when `name` is not one.
std::unique_ptr<Provider> make_openai_compat(std::string_view name);

// The family's names, in registry order.
std::vector<std::string> openai_compat_names();

// Mistral accepts only ids of exactly 9 characters [a-zA-Z0-9]: such an id is kept, any other is
// replaced by a deterministic hash of it (the same id maps the same way in every turn).
std::string mistral_tool_id(std::string_view id);

// An OpenAI finish_reason for an OpenAI-compatible provider's value: the five OpenAI values pass,
// "model_length"/"max_tokens" -> "length", "tool_call"/"tool_use" -> "tool_calls",
// "content_filtered"/"safety" -> "content_filter", "error" -> "error" (the caller fails over),
// anything else -> "stop".
std::string_view normalize_finish_reason(std::string_view reason);

}  // namespace llmfailover::providers
