// reasoning.hpp (private) — an OpenAI `reasoning_effort` as the thinking-token budget of the
// dialects that take a budget instead (Anthropic `thinking.budget_tokens`, Gemini
// `generationConfig.thinkingConfig.thinkingBudget`).
//
// The budgets are those Google's OpenAI-compatible endpoint uses for the same mapping
// (https://ai.google.dev/gemini-api/docs/openai, "Thinking"): low 1,024, medium 8,192, high
// 24,576 tokens, and "none" turns thinking off. "minimal" takes the smallest budget, 1,024, which is
// also Anthropic's minimum (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking:
// "budget_tokens" must be at least 1,024 and below max_tokens). Pure; thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace llmfailover::providers {

inline constexpr long long kMinThinkingBudget = 1024;

// 0 for "none" (no thinking), the budget for minimal / low / medium / high; nullopt for another value.
inline std::optional<long long> reasoning_budget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "minimal" || effort == "low") return kMinThinkingBudget;
  if (effort == "medium") return 8192;
  if (effort == "high") return 24576;
  return std::nullopt;
}

}  // namespace llmfailover::providers
