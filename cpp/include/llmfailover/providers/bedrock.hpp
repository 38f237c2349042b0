// bedrock.hpp — Amazon Bedrock's Converse / ConverseStream API behind the Provider interface
// (drop_in.md 4.4; field names from botocore's bedrock-runtime service model, 2023-09-30).
//
//   POST {base_url default https://bedrock-runtime.{region}.amazonaws.com}/model/{modelId}/converse
//   POST .../model/{modelId}/converse-stream     (answer: application/vnd.amazon.eventstream)
//   POST .../model/{modelId}/invoke              (embeddings: Titan and Cohere embed models)
//   The model id is percent-encoded as a path segment (':' -> %3A, '/' of an ARN -> %2F).
//   Auth: Endpoint::api_key (or AWS_BEARER_TOKEN_BEDROCK) -> "Authorization: Bearer" (Bedrock API
//   keys); otherwise SigV4 (service "bedrock") with credentials from the environment or the shared
//   credentials file (sigv4.hpp). Region: Endpoint::region, else AWS_REGION / AWS_DEFAULT_REGION /
//   the config file.
//
// Request (OpenAI -> Converse; the table is in docs/providers.md): system/developer -> `system`
//   text blocks; text / image_url (base64 data: URLs; png, jpeg, gif, webp) / file (base64 PDF and
//   other documents) parts -> content blocks; assistant tool_calls -> toolUse blocks (input an
//   object); tool messages -> toolResult blocks in a user turn (consecutive turns of one role are
//   merged: Converse requires alternation); tools -> toolConfig.tools[].toolSpec (inputSchema.json,
//   strict); tool_choice auto/required/named -> auto/any/tool (none -> no toolChoice, and no
//   toolConfig unless the history holds tool calls, which Converse then requires: tool specs are
//   synthesised for names the request no longer offers); response_format json_schema ->
//   outputConfig.textFormat (json_object is rejected: Converse has no JSON mode); max_tokens /
//   max_completion_tokens, temperature, top_p, stop -> inferenceConfig; n > 1 rejected; seed,
//   penalties, logprobs, user, parallel_tool_calls=false ... dropped with a warning.
// Response: output.message.content text -> content, toolUse -> tool_calls; stopReason ->
//   finish_reason (malformed_model_output / malformed_tool_use throw a retryable verdict);
//   usage inputTokens (+ cache read/write) / outputTokens / cacheReadInputTokens.
// Stream: the binary event stream (eventstream.hpp) through on_bytes(); each message's
//   `:event-type` and JSON payload are handled as on_sse(event_type, payload) would be, so golden
//   fixtures can list decoded events. messageStart / contentBlockStart / contentBlockDelta /
//   messageStop -> chunks; `metadata` (after messageStop) -> the usage chunk and [DONE].
//   `:message-type exception` -> an error verdict (throttlingException -> rate_limited;
//   modelStreamErrorException, internalServerException, serviceUnavailableException -> retryable;
//   validationException -> fatal_request, context_length_exceeded when it says so).
//
// Thread safety: the Provider is immutable (its lookups must be thread-safe); pure functions.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/provider.hpp"
#include "llmfailover/providers/sigv4.hpp"

namespace llmfailover::providers::bedrock {

// Where a provider finds credentials and the time (all injectable for tests).
struct Options {
  EnvLookup env = process_env();
  sigv4::FileReader files = sigv4::real_files();
  std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
};

inline constexpr std::string_view kService = "bedrock";

std::unique_ptr<Provider> make_provider(Options options = {});

// https://bedrock-runtime.{region}.amazonaws.com/model/{encoded model}/{action} (or under base_url).
std::string model_url(std::string_view base_url, std::string_view region, std::string_view model,
                      std::string_view action);

// The Converse body for an OpenAI chat request; appends to `warnings`.
nlohmann::json request_body(const nlohmann::json& openai_request, std::vector<std::string>& warnings);
// An OpenAI ChatCompletion for a Converse answer; throws TranslationError when it does not fit.
nlohmann::json chat_completion(const nlohmann::json& response, std::string_view model, std::string_view id,
                               long long created);
// stopReason -> finish_reason ("" for malformed_model_output / malformed_tool_use: an error).
std::string_view finish_reason(std::string_view stop_reason);
// The OpenAI usage for a Converse TokenUsage.
nlohmann::json usage(const nlohmann::json& token_usage);
// An error answer: status, x-amzn-ErrorType (or the body's __type), {"message": ...}.
ErrorVerdict classify(int status, const Headers& headers, std::string_view body);
// An exception inside the event stream (":exception-type" and its JSON payload).
ErrorVerdict exception_verdict(std::string_view exception_type, std::string_view payload);
// One stream's translator. Converse has no response id (only the x-amzn-RequestId header, which
// translators do not see), so the provider passes "chatcmpl-bedrock-" + a hash of the request.
std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage, std::string id);
// "chatcmpl-bedrock-<16 hex>" from FNV-1a of `text` (deterministic, so golden fixtures are stable).
std::string response_id(std::string_view text);

}  // namespace llmfailover::providers::bedrock
