// common.hpp — small helpers every adapter needs, defined once: header merging, the `created`
// time of a translated answer, and the walk over an OpenAI message's content parts.
//
// Thread safety: pure functions (now_seconds reads the system clock).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llmfailover/http.hpp"

namespace llmfailover::providers {

// Sets `name` to `value`: the first header of that name (case-insensitive, RFC 9110 section 5.1)
// is replaced, else one is appended.
void set_header(Headers& headers, std::string name, std::string value);
// Every header of `extra` set over `headers` (a deployment's extra headers override the adapter's).
void merge_headers(Headers& headers, const Headers& extra);

// Unix time in whole seconds, for the `created` field of an answer translated into OpenAI's shape
// (the upstream's own answer has no such field, or one in another format).
long long now_seconds();

// obj[key] when `obj` is an object whose member `key` is an integer that fits an int; else
// `fallback`. For indexes and codes in an upstream's events: nlohmann's value<int>() converts a
// fraction or a number beyond int's range as C++ does, which is undefined behaviour for a double.
int int_member(const nlohmann::json& obj, const char* key, int fallback);

// One part of an OpenAI message `content` (chat.completions: text, refusal, image_url,
// input_audio, file).
struct ContentPart {
  std::string_view type;       // "text" for a string content and for refusal parts too
  const nlohmann::json& part;  // the part object (for a string content: the string)
  std::string text;            // text and refusal parts: their text
};

// Walks `content`: null gives no part, a string one text part, an array each of its parts in
// order. Text parts whose text is empty are skipped when `skip_empty_text` (Anthropic, Converse and
// Gemini reject empty text). `visit` returns false for a part type the adapter does not take.
// Throws TranslationError(provider, "messages") for content of another shape, a part that is not an
// object or a text part without a string text (content_text's rules), and a refused part type
// ("content part type 'x' is not supported by <provider>").
void for_each_content_part(std::string_view provider, const nlohmann::json& content,
                           const std::function<bool(const ContentPart&)>& visit, bool skip_empty_text = true);

// The URL of an image_url part: {"image_url": {"url": ...}} or {"image_url": "..."}; "" when absent.
std::string image_url_of(const nlohmann::json& part);

}  // namespace llmfailover::providers
