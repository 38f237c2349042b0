// anthropic.hpp — Anthropic's Messages API behind the Provider interface (drop_in.md 4.1, 5).
//
//   POST {base_url default https://api.anthropic.com}/v1/messages
//   headers: x-api-key, anthropic-version (Endpoint::api_version, default 2023-06-01)
//
// Request (OpenAI -> Anthropic), each parameter translated, dropped with a warning, or rejected
// with TranslationError (the table is in docs/providers.md):
//   system/developer messages -> `system` (joined with a blank line); image_url parts -> image
//   blocks (data: URLs -> base64 source, http(s) -> url source); file parts with PDF data ->
//   document blocks; assistant tool_calls -> tool_use blocks; tool messages -> tool_result blocks,
//   consecutive ones (and a following user message) merged into one user turn; tools / tool_choice
//   (auto, none, required -> any, named -> tool; parallel_tool_calls=false ->
//   disable_parallel_tool_use); response_format json_schema -> output_config.format (Anthropic's
//   structured outputs); json_object -> a forced tool named kJsonTool whose input comes back as
//   the message content; temperature clamped to 1 (with a warning); max_tokens /
//   max_completion_tokens, default kDefaultMaxTokens (Anthropic requires one); stop ->
//   stop_sequences; user -> metadata.user_id; n > 1 rejected; seed, penalties, logprobs, ... dropped.
// Response: text blocks -> content, tool_use -> tool_calls (arguments = JSON text of input),
//   stop_reason -> finish_reason, usage (prompt = input + cache creation + cache read;
//   cached_tokens = cache read).
// Stream: message_start / content_block_* / message_delta / message_stop -> chunks and [DONE];
//   ping ignored; `event: error` -> the error verdict (overloaded_error -> retryable/overloaded,
//   rate_limit_error -> rate_limited).
//
// Thread safety: immutable Provider; pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers::anthropic {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.anthropic.com";
inline constexpr std::string_view kDefaultVersion = "2023-06-01";
inline constexpr int kDefaultMaxTokens = 4096;  // every Claude model since Claude 3 allows 4096 output tokens
inline constexpr std::string_view kJsonTool = "json_object_response";

std::unique_ptr<Provider> make_provider();

// The Messages request body for an OpenAI chat request; appends to `warnings`.
nlohmann::json request_body(const nlohmann::json& openai_request, bool stream, std::vector<std::string>& warnings);
// An OpenAI ChatCompletion for a Messages answer; throws TranslationError when it does not fit.
nlohmann::json chat_completion(const nlohmann::json& message, long long created);
// stop_reason -> finish_reason.
std::string_view finish_reason(std::string_view stop_reason);
// The OpenAI usage for an Anthropic usage object.
nlohmann::json usage(const nlohmann::json& anthropic_usage);
// One stream's translator (what Provider::stream_translator returns).
std::unique_ptr<StreamTranslator> make_stream(bool include_usage);

}  // namespace llmfailover::providers::anthropic
