// responses_bridge.hpp — the OpenAI Responses API (POST /responses) over every provider.
//
// OpenAI-family targets (provider openai or azure, which includes any OpenAI-compatible server
// configured as openai + base_url) take the request natively: the body as the caller sent it, the
// model replaced by the deployment's, the answer and its events passed through. Every other
// provider speaks the chat form, so a Responses request is translated into a chat request (which
// the provider's own adapter then translates into its dialect), and the chat answer / chat chunks
// the adapter produces are translated back into a Response object / Responses events.
//
// The shapes follow the Responses API reference (https://platform.openai.com/docs/api-reference/
// responses) and openai-python's types (src/openai/types/responses/response.py,
// response_stream_event.py), which the Python tests validate the output against.
//
// Not expressible through a chat dialect, and so rejected with a TranslationError naming the
// feature and the provider (400 invalid_request_error when no target of the group can take it):
// built-in tools (web_search, file_search, computer use, code interpreter, MCP, ...), server-side
// state (previous_response_id, conversation, background, prompt templates, item_reference inputs).
// Dropped with a warning in the route log, as the chat adapters drop sampling options they lack:
// reasoning.summary, text.verbosity, truncation, include, and parameters that only tune OpenAI's
// own storage (store, metadata, prompt_cache_key, service_tier, safety_identifier).
//
// Thread safety: the functions are pure; a stream translator belongs to one call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers::responses {

// True when `provider` serves the Responses API itself (openai, azure).
bool native(std::string_view provider);

// A request for an OpenAI-family `provider`: `method` `path` ("/responses", "/responses/{id}",
// "/completions", "/moderations", ...) with `body` sent as given (JSON content type when not
// empty; the router puts the caller's own Content-Type, e.g. multipart, on top), with the
// endpoint's URL, key and api-version. Throws TranslationError for another provider.
TranslatedRequest native_request(std::string_view provider, const Endpoint& endpoint, std::string method,
                                 std::string_view path, std::string body, const Timeouts& timeouts);

// A multipart/form-data `body` (RFC 7578) with the value of its text field `name` replaced by
// `value` (the deployment's model in an audio upload); unchanged when it has no such field.
std::string replace_form_field(std::string_view body, std::string_view boundary, std::string_view name,
                               std::string_view value);

// The field of a Responses request that depends on state held by the deployment that served an
// earlier response ("previous_response_id", "conversation", "background", "prompt"), or "" when it
// carries its full input (what fails over freely).
std::string stateful_field(const nlohmann::json& request);

// A Responses request -> the equivalent chat completions request for `provider`'s chat adapter
// (stream_options.include_usage set when `stream`, so the translated stream can report usage).
// Throws TranslationError (provider, parameter) for what a chat dialect cannot express.
nlohmann::json to_chat(std::string_view provider, const nlohmann::json& request, bool stream,
                       std::vector<std::string>& warnings);

// A chat completion (the adapter's answer) -> a Response object (JSON text), echoing the request's
// instructions, tools and sampling options as the API does.
std::string to_response(std::string_view provider, std::string_view chat_answer, const nlohmann::json& request);

// The Response object's fields before its output: the id, model and creation time, with the
// request's instructions, tools and sampling options echoed as the API does; status in_progress.
nlohmann::json response_object(const nlohmann::json& request, const std::string& id, const std::string& model,
                               long long created);
// A chat usage object as a Responses usage (input/output/total tokens and their details).
nlohmann::json response_usage(const nlohmann::json& chat_usage);
// Sets status (completed, or incomplete with incomplete_details for "length" / "content_filter").
void finish_response(nlohmann::json& response, std::string_view chat_finish_reason);

// The adapter's stream translator (chat chunks) wrapped into one that emits Responses events
// (JSON texts with "type" and "sequence_number"): response.created, response.in_progress,
// output_item.added, content_part.added, output_text.delta/done, function_call_arguments.delta/done,
// content_part.done, output_item.done, then response.completed (response.incomplete when the
// answer was cut by max_output_tokens or a content filter) once the adapter says the answer is
// complete. A chat stream that ends without a finish reason ends without response.completed, which
// the router treats as an interruption.
std::unique_ptr<StreamTranslator> bridge_stream(std::string_view provider, std::unique_ptr<StreamTranslator> chat,
                                                const nlohmann::json& request);

// A native Responses event stream, passed through (a "[DONE]" line, which the API does not send
// but proxies may, is dropped).
std::unique_ptr<StreamTranslator> native_stream();

}  // namespace llmfailover::providers::responses
