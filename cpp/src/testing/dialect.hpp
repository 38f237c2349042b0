// dialect.hpp — (private) what the fake says, apart from how it fails.
//
// A Dialect turns a received request into its model name and a healthy Reply (a JSON body, or a
// list of SSE frames), and renders the error bodies and stream events the fault machinery needs.
// The server (fake_server.cpp) owns timing, sockets and faults and knows nothing of JSON shapes,
// so other providers' dialects (Anthropic, Gemini, ...) plug in beside openai_dialect.cpp.
//
// Thread safety: implementations are stateless; call from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/http.hpp"
#include "llmfailover/json.hpp"  // parse_json: the requests it reads are as hostile as any

namespace llmfailover::testing::detail {

// A request as the dialect understood it.
struct ParsedRequest {
  std::string model;     // "" when the request names none
  bool stream = false;   // the client asked for SSE
  int kind = 0;          // dialect-private endpoint tag
  int error_status = 0;  // != 0: the request itself is bad; answer with this status
  std::string error_message;
  std::string error_param;  // "" = null
  std::string body;         // the raw request body
};

// A scripted tool call (FakeProvider::set_tool_call): the chat answer is this call, not text.
struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text of an object, as the caller gave it (checked when set)
};

// Context the server hands the dialect for one healthy reply.
struct ReplyContext {
  std::string content;                // the reply text
  std::optional<ToolCall> tool_call;  // when set, chat answers are this call instead of `content`
  unsigned embedding_dimensions = 8;  // default when the request sets none
  std::vector<std::string> models;    // for list endpoints
  std::string request_id;
  std::int64_t created = 0;  // unix seconds
  int attempt = 0;           // this request's attempt number for its model (1-based)
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;  // when !stream
  bool stream = false;
  std::vector<std::string> frames;  // when stream: complete SSE frames, in order, no terminator
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const = 0;
  // parse() for dialects that look at the request's headers too (Vertex's Bearer token, the
  // token endpoint's Host); the server calls this one.
  virtual ParsedRequest parse_request(std::string_view method, std::string_view target, std::string body,
                                      const Headers& headers) const {
    (void)headers;
    return parse(method, target, std::move(body));
  }
  // The reply for a request parse() accepted (error_status == 0).
  virtual Reply reply(const ParsedRequest& request, const ReplyContext& context) const = 0;
  // A JSON error body; empty code/message/param mean "the usual for this status".
  virtual std::string error_body(int status, std::string_view code, std::string_view message,
                                 std::string_view param = {}) const = 0;
  virtual std::string error_frame() const = 0;      // an in-stream error event
  virtual std::string malformed_frame() const = 0;  // a frame that is not valid JSON
  virtual std::string done_frame() const = 0;       // the stream terminator ("" if none)
  // The reply text when nothing configures one.
  virtual std::string default_content(std::string_view model, unsigned words) const = 0;
};

// Shared by the dialects: the reply cut into stream pieces (each keeps its leading space, so the
// pieces concatenate to the text), and a word count standing in for tokens.
std::vector<std::string> split_words(const std::string& text);
int count_words(std::string_view text);
// A tool call's arguments cut into stream pieces of at most 8 bytes, never inside a UTF-8
// sequence (each piece must be valid JSON string content); they concatenate to `arguments`.
std::vector<std::string> split_arguments(std::string_view arguments);
// The completion tokens a tool call stands for: its argument pieces, plus one for the name.
int tool_call_tokens(const ToolCall& call);
// RFC 3986 section 2.1 percent-decoding (a path segment, or with `plus_is_space` a form value);
// a '%' not followed by two hex digits stays as it is (a hostile request never throws).
std::string percent_decode(std::string_view s, bool plus_is_space = false);

std::unique_ptr<Dialect> make_openai_dialect();
std::unique_ptr<Dialect> make_anthropic_dialect();
std::unique_ptr<Dialect> make_gemini_dialect();
std::unique_ptr<Dialect> make_bedrock_dialect();
std::unique_ptr<Dialect> make_cohere_dialect();
std::unique_ptr<Dialect> make_google_token_dialect();

// The dialect that serves `target`, by path: /v1/messages -> Anthropic, /v1beta/models/M:action,
// /v1/models/M:action and Vertex's /v1/projects/P/locations/L/publishers/google/models/M:action ->
// Gemini, /token -> Google's OAuth token endpoint, /model/M/{converse,converse-stream,invoke} ->
// Bedrock, /v2/chat and /v2/embed -> Cohere, anything else -> `fallback` (OpenAI). The routed dialects
// are process-wide and stateless.
const Dialect& dialect_for(std::string_view target, const Dialect& fallback);

}  // namespace llmfailover::testing::detail
