// stream_inspect.hpp (private) — reads OpenAI chat chunks, or Responses API events, just enough to
// find the commit point (the first content token), errors and malformed events inside a 200
// stream, and the end of the answer; and builds the configured last-resort answer.
//
// Responses events (https://platform.openai.com/docs/api-reference/responses-streaming): content
// is a non-empty "*.delta" (output text, refusal, function-call arguments, reasoning summary) or
// an output item other than a message or reasoning being added (a tool call); the answer is
// complete with response.completed or response.incomplete; "error" and response.failed are
// errors; an event without a string "type" is malformed.
// Cost: a chat chunk is read by one validating scan (json_scan.hpp scan_chunk: no DOM, only its
// usage object parsed) unless the scan is unsure, then by the full parse, as are Responses events.
// Thread safety: one inspector per call, under its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmfailover/http.hpp"
#include "llmfailover/json_scan.hpp"
#include "llmfailover/providers/openai.hpp"

namespace llmfailover {

enum class ChunkKind {
  content,    // carries text, a tool call or a refusal: the caller would see something
  meta,       // role-only, usage-only, empty choices, keep-alive
  done,       // data: [DONE]
  error,      // {"error": {...}} inside the stream; Responses: "error", response.failed
  malformed,  // not JSON
};

// The counts of an OpenAI usage object (chat: prompt/completion_tokens; Responses:
// input/output_tokens); fields missing or not integers are unknown.
struct Usage {
  std::optional<std::int64_t> completion, total;  // total: total_tokens, else prompt + completion
  // For cost (metrics.hpp): prompt_tokens, prompt_tokens_details.cached_tokens,
  // completion_tokens_details.reasoning_tokens.
  std::optional<std::int64_t> prompt, cached, reasoning;
};
Usage read_usage(const nlohmann::json& usage);
// The same counts read from the text of one JSON value that a validating scan accepted (the
// `usage` span of json_scan.hpp's scan_answer), without building it: {false, {}} when the value
// is not an object (read_usage is not asked then), {true, counts} when it is, nullopt when
// unsure (a key written with an escape, a duplicate of a key read here, an integer outside
// int64): the caller then parses it and calls read_usage. Exactly read_usage(parse_json(text))
// otherwise (stream_inspect_test.cpp compares them). Pure; reentrant.
struct ScannedUsage {
  bool object = false;
  Usage usage;
};
std::optional<ScannedUsage> scan_usage(std::string_view value);

class StreamInspector {
 public:
  StreamInspector() = default;
  // `scan`: chat chunks are scanned (the default); false parses each one fully (tests compare both).
  explicit StreamInspector(bool responses, bool scan = true) : responses_(responses), scan_(scan) {}
  ChunkKind inspect(std::string_view data);
  // Responses: the response's id (from response.created and later events), "" before it.
  const std::string& response_id() const noexcept { return response_id_; }
  const std::string& conversation_id() const noexcept { return conversation_id_; }  // ... its conversation's
  // Responses: the last event as parsed (nullptr when it was not JSON or [DONE]), so what keeps the
  // delivered stream for recovery (responses_resume.hpp) need not parse it again.
  const nlohmann::json* last_event() const noexcept { return last_event_ ? &*last_event_ : nullptr; }
  // Responses: the last event's type (its SSE event name), "" for chat chunks.
  const std::string& event_type() const noexcept { return event_type_; }
  // What an error chunk means (classify_stream_error, or classify_event_error for Responses).
  providers::ErrorVerdict error_verdict(std::string_view data) const;
  bool finished() const noexcept { return finished_; }  // a choice reported its finish_reason
  bool done() const noexcept { return done_; }          // [DONE] arrived
  std::size_t content_chars() const noexcept { return content_chars_; }
  std::size_t output_chars() const noexcept { return content_chars_ + tool_chars_; }  // + tool-call arguments
  // Output tokens when the stream reported none: characters / 4, rounded up.
  std::int64_t estimated_output_tokens() const noexcept { return static_cast<std::int64_t>((output_chars() + 3) / 4); }
  std::optional<std::int64_t> usage_total() const noexcept { return usage_total_; }  // a chunk's usage.total_tokens
  std::optional<std::int64_t> completion_tokens() const noexcept { return completion_tokens_; }
  const std::optional<Usage>& usage() const noexcept { return usage_; }  // the last usage a chunk reported
  const std::string& text() const noexcept { return text_; }             // choice 0's content so far
  const std::string& last_text() const noexcept { return last_text_; }   // ... of the last chunk
  std::size_t malformed() const noexcept { return malformed_; }

 private:
  ChunkKind inspect_event(const nlohmann::json& doc);
  ChunkKind inspect_scanned(std::string_view data, ChunkScan& scan);

  bool responses_ = false, scan_ = true;
  std::string response_id_, conversation_id_, event_type_;
  std::optional<nlohmann::json> last_event_;
  bool finished_ = false, done_ = false;
  std::size_t content_chars_ = 0, tool_chars_ = 0, malformed_ = 0;
  std::optional<std::int64_t> usage_total_, completion_tokens_;
  std::optional<Usage> usage_;
  std::string text_, last_text_;
};

// An error event of a Responses stream ("error", or response.failed's response.error) classified
// as a chat stream's {"error": {...}} would be (providers::classify_stream_error).
providers::ErrorVerdict classify_event_error(std::string_view data);

// `data` (a chunk) with the first `n` bytes of choice 0's delta content removed.
std::string strip_content_prefix(std::string_view data, std::size_t n);

// An error the router met without an error status (an answer or stream event that means an error,
// an answer that did not fit the provider's schema, a refused access token) as the upstream
// answer a caller surfaces when nothing else is left: status 400 for a request error, 401 for
// refused credentials, 429 when rate-limited, 529 for an overloaded provider, else 502; an
// OpenAI-shaped error body whose message names the provider and whose code is the reason.
std::pair<int, std::string> verdict_answer(std::string_view provider, const providers::ErrorVerdict& verdict);

// The degraded answer as a response: head, then a ChatCompletion body, or a short stream.
std::vector<Event> degraded_events(const std::string& text, bool stream, const std::string& model);

}  // namespace llmfailover
