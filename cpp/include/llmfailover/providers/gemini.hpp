// gemini.hpp — Google's Gemini API (generativelanguage, v1beta) behind the Provider interface
// (drop_in.md 4.2).
//
//   POST {base_url default https://generativelanguage.googleapis.com/v1beta}/models/{model}:generateContent
//   POST .../models/{model}:streamGenerateContent?alt=sse     header x-goog-api-key
//
// Request (OpenAI -> Gemini; the table is in docs/providers.md): system/developer ->
//   systemInstruction; assistant -> role "model"; text / image_url / file parts -> text /
//   inlineData (data: URLs) / fileData (http(s) URLs, MIME type from the extension); assistant
//   tool_calls -> functionCall parts (args an object; a Gemini thought signature carried in
//   tool_calls[].extra_content.google.thought_signature is echoed back, and Gemini 3 models get
//   Google's "skip_thought_signature_validator" for calls that came from elsewhere); tool messages
//   -> functionResponse parts named after the matching call id, consecutive ones in one turn;
//   tools -> functionDeclarations with parametersJsonSchema (plain JSON Schema, so OpenAI's
//   strict schemas with additionalProperties pass); tool_choice -> functionCallingConfig;
//   response_format -> responseMimeType + responseJsonSchema; temperature, top_p, max_tokens,
//   stop, seed, n, presence/frequency_penalty -> generationConfig.
// Response: candidates -> choices; functionCall parts -> tool_calls with ids "call_<hash>";
//   finishReason -> finish_reason; usageMetadata -> usage. A prompt blocked by safety
//   (promptFeedback.blockReason, no candidates) throws TranslationError with a fatal_request /
//   content_policy verdict.
// Stream: every SSE data is a whole GenerateContentResponse; there is no terminator, so [DONE]
//   follows the chunk that carries the last finishReason.
// Embeddings: POST .../models/{model}:batchEmbedContents, one request per input
//   ({"model": "models/{model}", "content": {"parts": [{"text"}]}, "outputDimensionality"}) ->
//   an OpenAI embedding list (usage from usageMetadata when the answer carries it, else zeros).
//   Token-array inputs are rejected (TranslationError naming "input"); encoding_format base64 is
//   dropped with a warning and floats come back (as bedrock and cohere; the Python client decodes
//   base64 only when it gets strings). Vertex AI (vertex.hpp) reuses these with its own body shape.
//
// Thread safety: immutable Provider; pure functions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers::gemini {

inline constexpr std::string_view kDefaultBaseUrl = "https://generativelanguage.googleapis.com/v1beta";

std::unique_ptr<Provider> make_provider();

// The generateContent body for an OpenAI chat request; appends to `warnings`.
nlohmann::json request_body(const nlohmann::json& openai_request, std::vector<std::string>& warnings);
// An OpenAI ChatCompletion for a GenerateContentResponse; throws TranslationError when it does not
// fit, or (with a verdict) when the prompt was blocked.
nlohmann::json chat_completion(const nlohmann::json& response, std::string_view model, long long created);
// finishReason -> finish_reason ("stop" becomes "tool_calls" when the candidate called a function).
std::string_view finish_reason(std::string_view finish, bool has_function_call);
// The OpenAI usage for usageMetadata.
nlohmann::json usage(const nlohmann::json& usage_metadata);
// An error answer (also an error object inside a stream, with its "code" as status).
ErrorVerdict classify(int status, std::string_view body);
// RetryInfo.retryDelay ("12s", "1.5s") in an error body.
std::optional<Millis> retry_delay(std::string_view body);
// One stream's translator.
std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage, int candidates);

// A JSON POST to `url` with Accept `accept`, the `auth` header and the deployment's `extra`
// headers (which replace same-named ones). Shared with Vertex AI.
HttpRequest json_post(std::string url, std::string body, const Timeouts& timeouts, std::string_view accept,
                      std::optional<Header> auth, const Headers& extra);

// The batchEmbedContents body for an OpenAI embeddings request. `provider` is "gemini" (each
// request names "models/{model}" and carries outputDimensionality) or "vertex" (no model; the
// dimensions go in embedContentConfig, as google-genai sends them); it also names the provider in
// a TranslationError and in warnings. Appends to `warnings`.
nlohmann::json embed_body(const nlohmann::json& openai_request, std::string_view model, std::string_view provider,
                          std::vector<std::string>& warnings);
// An OpenAI embedding list ("object": "list") for a BatchEmbedContentsResponse; throws
// TranslationError naming `provider` when it does not fit.
nlohmann::json embedding_list(const nlohmann::json& response, std::string_view model, std::string_view provider);

}  // namespace llmfailover::providers::gemini
