// fake_provider.hpp — an in-process, fault-injecting fake LLM provider (HTTP/1.1, OpenAI dialect).
//
// FakeProvider is a real HTTP/1.1 server on 127.0.0.1 (port 0 = ephemeral) that answers like the
// OpenAI API and fails on cue. Tests (ours and our users') point a client at base_url(), script
// the faults each model should produce on each attempt, run the code under test, then assert on
// the attempt log.
//
// Endpoints (with or without the /v1 prefix, and Azure's /openai/deployments/{d}/... form, where
// the model is the deployment):
//   POST /v1/chat/completions   ChatCompletion JSON, or SSE chunks + [DONE] when "stream": true
//   POST /v1/embeddings         deterministic vectors; "encoding_format": "base64" honoured
//   GET  /v1/models             the configured model list
// Other providers' dialects answer on their own paths (Anthropic, Gemini and Vertex AI, Google's
// OAuth token endpoint POST /token, Bedrock, Cohere): docs/providers.md "Testing against the dialects".
// Replies are deterministic: "Hello from <model>." padded to Options::reply_words words, one word
// per stream chunk, unless set_reply() or Fault::content says otherwise. set_tool_call() makes a
// model's chat answer a tool call instead, in each dialect's own shape (plain and streamed; the
// stream faults apply to it as to text); see set_tool_call() below.
//
// Faults are chosen per model and per attempt: attempt N is the Nth request seen for that model
// (1-based; the model is the JSON "model" field or the Azure deployment; "" when there is none).
// Precedence: an active outage() window, then script(model)[N-1] (N counted from the script()
// call), then set_default(model), then the same two for the wildcard model "*", then healthy.
//
// Call order: construct (the server is listening and serving on return) -> script()/set_default()/
// set_reply()/set_tool_call()/outage() at any time (they affect requests that arrive afterwards)
// -> drive a client -> attempts() -> reset() between cases -> stop() or destruction. stop() closes
// every connection, stalled and no_response ones included, and joins the io threads; it is
// idempotent.
//
// Thread safety: every member function is safe to call from any thread, concurrently with the
// server's io threads. Callbacks (Options::clock) are called on io threads and caller threads.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/http.hpp"

namespace llmfailover::testing {

// What the fake does with one attempt. A plain value: fields combine (e.g. a 200 stream with
// chunk_delay and cut_after). The default-constructed Fault is a healthy answer.
struct Fault {
  enum class Action : std::uint8_t {
    none,         // answer (status/body/stream as configured below)
    no_response,  // read the request, never answer; keep the socket open until the peer leaves
    reset,        // TCP RST before any byte (SO_LINGER {1, 0} then close)
    close,        // clean close (FIN) without a response
  };

  int status = 200;                // != 200: an error response instead of the normal reply
  Headers headers;                 // added to (or replacing) the response's headers
  std::string body;                // verbatim body; "" = the dialect's body for `status`
  std::string error_code;          // error body "code" ("" = the default for `status`)
  std::string error_message;       // error body "message" ("" = the default for `status`)
  Millis delay_before_headers{0};  // also delays `action`
  Action action = Action::none;
  // Streaming (SSE) faults. Chunk indices count the stream's data events from 0, [DONE] excluded.
  Millis first_token_delay{0};         // after the headers, before the first chunk
  Millis chunk_delay{0};               // between two chunks
  int stall_after = -1;                // send this many chunks, then nothing (connection left open)
  int cut_after = -1;                  // send this many chunks, then close with no terminator
  int malformed_at = -1;               // this chunk is sent as "data: {not json"
  int error_event_at = -1;             // this chunk is an error event; the stream then ends
  bool omit_done = false;              // end cleanly but without "data: [DONE]"
  bool chunked = true;                 // false: no Content-Length, the stream ends when we close
  std::optional<std::string> content;  // the reply text for this attempt

  // Non-streaming replies: cut_after >= 0 sends half the body (Content-Length promises all of it)
  // then closes; stall_after >= 0 sends half and waits; malformed_at >= 0 sends "{not json".

  static Fault ok();
  static Fault http_status(int status, Headers headers = {}, std::string body = {});
  // 429 with "Retry-After: <seconds>" and/or "retry-after-ms: <ms>" (nullopt = header omitted).
  static Fault rate_limited(std::optional<double> retry_after_s = 1.0,
                            std::optional<Millis> retry_after_ms = std::nullopt);
  static Fault server_error(int status = 500);
  static Fault unavailable();              // 503
  static Fault overloaded();               // 529, Anthropic's "overloaded_error"
  static Fault unauthorized();             // 401 invalid_api_key
  static Fault context_length_exceeded();  // 400 code context_length_exceeded
  static Fault content_policy();           // 400 code content_policy_violation
  static Fault reset_connection();
  static Fault close_connection();
  static Fault no_response();
  static Fault slow_headers(Millis delay);
  static Fault slow_first_token(Millis delay);
  static Fault cut(int after_chunks);
  static Fault stall(int after_chunks);
  static Fault malformed(int at_chunk);
  static Fault error_event(int at_chunk);
  static Fault no_done();

  bool healthy() const;  // == Fault{} except for content
  bool operator==(const Fault&) const = default;
};

std::string_view to_string(Fault::Action action) noexcept;
std::string to_string(const Fault& fault);  // "Fault{status=429, headers=[Retry-After: 1]}"
std::ostream& operator<<(std::ostream& os, const Fault& fault);

// One request the server received, and what it did with it.
struct AttemptRecord {
  double time = 0;    // seconds since the provider started (its clock)
  std::string model;  // "" when the request named none
  int attempt = 0;    // 1-based, per model
  std::string method;
  std::string target;      // path + query as received
  Headers headers;         // request headers, in order
  std::string body;        // request body
  bool stream = false;     // the request asked for SSE
  std::string request_id;  // the x-request-id we sent (or would have sent)
  int status = 0;          // status sent (or planned); 0 for reset / close / no_response
  // "ok", "status:429", "reset", "close", "no_response", "cut:3", "stall:2", "malformed:1",
  // "error_event:2", "no_done"; several stream faults are joined with ','.
  std::string outcome;
  bool operator==(const AttemptRecord&) const = default;
};

std::ostream& operator<<(std::ostream& os, const AttemptRecord& record);

// FakeProvider's construction options (a namespace-level struct so `Options = {}` defaults work).
struct FakeProviderOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;             // 0 = ephemeral; read it back with port()
  unsigned threads = 1;               // io threads
  unsigned reply_words = 3;           // default reply length in words (= stream content chunks)
  unsigned embedding_dimensions = 8;  // unless the request sets "dimensions"
  std::vector<std::string> models = {"gpt-4o-mini", "gpt-4o", "text-embedding-3-small"};
  std::function<Clock::time_point()> clock;  // outage windows and record times; null = steady
};

class FakeProvider {
 public:
  using Options = FakeProviderOptions;

  // Binds, listens and starts serving. Throws std::system_error when the address cannot be bound.
  explicit FakeProvider(Options options = {});
  ~FakeProvider();  // stop()
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  std::uint16_t port() const noexcept;
  std::string root_url() const;  // "http://127.0.0.1:<port>" (Azure endpoint form)
  std::string base_url() const;  // root_url() + "/v1" (OpenAI base_url form)

  // The Nth attempt of `model` after this call gets faults[N-1] (before any traffic: attempt N);
  // later attempts fall back (see the header comment). Replaces any earlier script for `model`,
  // used up or not, and counts from the next attempt; attempts() numbering is not reset.
  void script(std::string model, std::vector<Fault> faults);
  // Used for every attempt of `model` that no script entry covers.
  void set_default(std::string model, Fault fault);
  // The reply text for `model` ("*" = every model without its own).
  void set_reply(std::string model, std::string content);
  // From now on, `model`'s healthy chat answer ("*" = every model without its own reply or tool
  // call) is one call of tool `name` with `arguments` (JSON text of an object, e.g.
  // R"({"city":"Paris"})"), in the serving dialect's wire shape:
  //   OpenAI     message.tool_calls[{id "call_<request id>", type function, function{name, arguments}}],
  //              finish_reason tool_calls; stream: delta.tool_calls index 0 with id + name, the
  //              arguments in pieces, then a finish_reason chunk
  //   Anthropic  content[{type tool_use, id "toolu_<request id>", name, input}], stop_reason tool_use;
  //              stream: content_block_start(tool_use, input {}) + input_json_delta pieces
  //   Gemini     parts[{functionCall{name, args}}] (no id, as the Gemini API), finishReason STOP;
  //              stream: one chunk holding the whole call
  //   Bedrock    content[{toolUse{toolUseId "tooluse_<request id>", name, input}}], stopReason
  //              tool_use; ConverseStream: contentBlockStart(toolUse) + contentBlockDelta pieces
  //   Cohere     message.tool_calls[{id "<name>_<request id>", ...}], finish_reason TOOL_CALL;
  //              stream: tool-call-start, tool-call-delta pieces, tool-call-end
  // Streamed argument pieces are at most 8 bytes of `arguments` as given (never inside a UTF-8
  // sequence), so they concatenate to it; objects on the wire (input, args) are it parsed.
  // Completion tokens = pieces + 1. An attempt whose Fault::content is set answers that text
  // instead (e.g. the turn after the tool result); reset() forgets tool calls. Embeddings are
  // unaffected. Throws std::invalid_argument when `name` is empty or `arguments` is not a JSON
  // object.
  void set_tool_call(std::string model, std::string name, std::string arguments);
  // From now until now + duration, every request for `model` gets `fault`.
  void outage(std::string model, Millis duration, Fault fault = Fault::unavailable());

  // Copies of the records, in arrival order; only `model`'s when given.
  std::vector<AttemptRecord> attempts(std::optional<std::string_view> model = std::nullopt) const;
  // Forgets scripts, defaults, replies, tool calls, outages, attempt counters and records.
  void reset();
  // Stops accepting, closes every connection and joins the io threads. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::testing
