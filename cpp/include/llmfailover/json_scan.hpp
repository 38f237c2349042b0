// json_scan.hpp — read the few facts the hot path needs from a JSON text without building it.
//
// A routed chat call needs, from the caller's request, only the top-level "model" (to replace it
// per deployment), "stream" / "stream_options.include_usage", the token estimate of the quotas
// (the text of "messages" / "input", the max_*tokens integers) and, from the answer, only whether
// "choices" is an array, its finish reasons and the "usage" object. Parsing the whole text into
// nlohmann's DOM, copying it and dumping it again costs more than the rest of the native call;
// these scans validate the text in one pass (RFC 8259 grammar, UTF-8 per RFC 3629, the nesting
// limit of json.hpp) and record only those facts.
//
// Contract: a scan either returns facts that are exactly what parse_json + nlohmann lookups would
// give for the same text, or nullopt ("unsure"), and the caller then takes the full parse. Unsure
// covers: invalid JSON, not an object, nesting deeper than the limit (or than 512 levels, the
// scan's own recursion bound), a duplicate key at the top level (nlohmann keeps the last value; the
// upstream's parser may not), a duplicate key among the looked-up members, any object key written
// with a backslash escape (it may spell "model"), and a max_*tokens integer outside int64.
//
// Thread safety: pure functions of their input; reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmfailover {

inline constexpr std::size_t kNoSpan = static_cast<std::size_t>(-1);

// Byte offsets [begin, end) of one JSON value in the scanned text; begin == kNoSpan when absent.
struct JsonSpan {
  std::size_t begin = kNoSpan, end = kNoSpan;
  bool found() const noexcept { return begin != kNoSpan; }
};

struct RequestScan {
  std::size_t open = 0;  // offset of the top-level object's `{`
  bool empty = true;     // the object has no member
  JsonSpan model;        // the top-level "model" value (any type)
  // The "model" value when it is a string written without escapes (its characters, no quotes).
  std::optional<std::string_view> model_text;
  enum class Flag { absent, is_true, is_false, other };
  Flag stream = Flag::absent;  // the top-level "stream" value
  bool include_usage = false;  // top-level "stream_options" is an object whose include_usage is true
  // As routed_call.cpp's text_chars over the top-level "messages" and "input": the UTF-8 bytes of
  // every string in them once unescaped, skipping the values of keys "role" and "type".
  std::size_t text_chars = 0;
  // Top-level integers (nlohmann's is_number_integer) under these keys; nullopt when absent or
  // not an integer.
  std::optional<std::int64_t> max_completion_tokens, max_tokens, max_output_tokens;
};

// Scans a request body (see the contract above). `max_depth` is json.hpp's nesting limit.
std::optional<RequestScan> scan_request(std::string_view body, std::size_t max_depth);

struct AnswerScan {
  bool choices_array = false;  // top-level "choices" is an array
  // Each element of "choices" that is an object with a string "finish_reason" (written without
  // escapes): that string, in order. Other elements contribute nothing.
  std::vector<std::string_view> finish_reasons;
  JsonSpan usage;             // the top-level "usage" value (any type)
  bool error = false;         // there is a top-level "error" member (any value)
  bool object_empty = false;  // the top-level "object" is the string "" (Azure's prompt-filter prelude)
};

// Scans an answer body (see the contract above; an escaped finish_reason string is also unsure).
std::optional<AnswerScan> scan_answer(std::string_view body, std::size_t max_depth);

// What a routed stream's inspector (router/stream_inspect.hpp) reads from one OpenAI chat chunk
// (or legacy completions chunk). Over the elements of "choices" that are objects:
struct ChunkScan {
  JsonSpan usage;                 // the top-level "usage" value (any type)
  bool finished = false;          // a choice's "finish_reason" is present and not null, "", [] or {}
  bool content = false;           // a non-empty "text", or a delta whose content / tool_calls / refusal /
                                  // function_call is present and not null, "", [] or {}
  std::size_t content_chars = 0;  // UTF-8 bytes of every string "text" and delta "content"
  std::size_t tool_chars = 0;     // ... of every delta.tool_calls[].function.arguments string
  std::string text;               // the delta "content" strings of choices whose "index" is 0 (or absent), unescaped
};

// Scans a chunk. Besides the contract above, unsure when the chunk has a top-level "error" member
// (the caller's full parse classifies it), a duplicate key in a choice, its delta, a tool call or
// its function, or an "index" beyond int64.
std::optional<ChunkScan> scan_chunk(std::string_view data, std::size_t max_depth);

// `body` with its top-level "model" value replaced by the JSON string `model` (inserted as the
// first member when absent). `scan` must come from scan_request(body).
std::string with_model(std::string_view body, const RequestScan& scan, std::string_view model);

}  // namespace llmfailover
