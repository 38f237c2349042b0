// cohere.hpp — Cohere's v2 Chat and Embed APIs behind the Provider interface (drop_in.md 4.5;
// field names from cohere-ai/cohere-python src/cohere/v2/raw_client.py and src/cohere/types).
//
//   POST {base_url default https://api.cohere.com}/v2/chat    Authorization: Bearer <key>
//   POST .../v2/embed
//
// Request (OpenAI -> Cohere; the table is in docs/providers.md): messages keep their roles
//   (developer -> system; system/assistant content flattened to a string; user content keeps text
//   and image_url parts; tool messages keep tool_call_id); tools pass in the OpenAI shape (strict ->
//   strict_tools); tool_choice required/none -> REQUIRED/NONE, auto -> omitted, a named function ->
//   REQUIRED with only that tool offered (Cohere cannot name one); response_format json_object /
//   json_schema -> {type: json_object[, json_schema]}; max_tokens / max_completion_tokens,
//   temperature, top_p -> p, stop -> stop_sequences, seed, frequency/presence_penalty, logprobs;
//   stream_options is dropped with a warning (Cohere rejects it); n > 1 rejected; user,
//   parallel_tool_calls, top_logprobs ... dropped with a warning.
// Response: message.content text parts -> content, tool_calls as they are; finish_reason
//   COMPLETE/STOP_SEQUENCE -> stop, MAX_TOKENS -> length, TOOL_CALL -> tool_calls, ERROR/TIMEOUT ->
//   a retryable verdict; usage from `tokens` (billed_units when absent), cached_tokens.
// Stream: SSE events whose data carry `type`: message-start, content-delta, tool-call-start /
//   -delta, message-end (finish_reason, usage) -> chunks and [DONE]; content-start/-end,
//   tool-plan-delta, tool-call-end, citation-*, debug carry nothing OpenAI has.
// Embeddings: input -> texts, input_type search_document, embedding_types [float], dimensions ->
//   output_dimension; usage from meta.billed_units.input_tokens.
//
// Thread safety: immutable Provider; pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers::cohere {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.cohere.com";

std::unique_ptr<Provider> make_provider();

// The v2/chat body for an OpenAI chat request; appends to `warnings`.
nlohmann::json request_body(const nlohmann::json& openai_request, bool stream, std::vector<std::string>& warnings);
// An OpenAI ChatCompletion for a v2 chat answer; throws TranslationError when it does not fit
// (with a retryable verdict for finish_reason ERROR / TIMEOUT).
nlohmann::json chat_completion(const nlohmann::json& response, std::string_view model, long long created);
// finish_reason -> OpenAI's ("" for ERROR and TIMEOUT: an error).
std::string_view finish_reason(std::string_view cohere_finish);
// The OpenAI usage for a Cohere usage object.
nlohmann::json usage(const nlohmann::json& cohere_usage);
// An error answer ({"message": ...}; 498 invalid token, 499 cancelled, 429 rate limits ...).
ErrorVerdict classify(int status, std::string_view body);
// One stream's translator.
std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage);

}  // namespace llmfailover::providers::cohere
