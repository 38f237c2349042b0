// provider.hpp — one provider dialect behind one interface: requests are translated from the
// OpenAI chat format, answers back into it, so the router, the stream commit point and the
// Python types only ever see OpenAI-shaped JSON (drop_in.md sections 4 and 5).
//
// A Provider is a stateless translator (credentials and model come in an Endpoint per call);
// a StreamTranslator holds one stream's state (tool-call indices, usage seen, ...).
// Unsupported parameters are translated, dropped with a warning, or rejected with a
// TranslationError naming the parameter (see README's provider table).
// A provider answer that does not fit its schema throws TranslationError, which the router
// classifies as a retryable error naming the provider — never a crash.
//
// Thread safety: Provider methods are const and safe from any thread; a StreamTranslator is used
// by one call at a time.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmfailover/http.hpp"
#include "llmfailover/json.hpp"
#include "llmfailover/json_scan.hpp"
#include "llmfailover/providers/common.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/providers/registry.hpp"
#include "llmfailover/secret.hpp"

namespace llmfailover::providers {

// What one call needs to know about its target.
struct Endpoint {
  std::string base_url;  // provider default when empty
  Secret api_key;
  std::string model;        // the provider's model id
  std::string api_version;  // azure api-version, anthropic-version, ...
  std::string organization;
  std::string region;   // bedrock / vertex
  std::string project;  // vertex
  Headers headers;      // extra headers from the deployment
};

class TranslationError : public std::runtime_error {
 public:
  TranslationError(std::string provider, std::string parameter, const std::string& message)
      : std::runtime_error(provider + ": " + message),
        provider_(std::move(provider)),
        parameter_(std::move(parameter)) {}
  // A well-formed answer that means an error (Gemini's promptFeedback.blockReason -> content_policy,
  // Mistral's finish_reason "error" -> retryable): the router uses `verdict` as if the provider had
  // answered with an error status.
  TranslationError(std::string provider, ErrorVerdict verdict)
      : std::runtime_error(provider + ": " + verdict.message),
        provider_(std::move(provider)),
        verdict_(std::move(verdict)) {}
  const std::string& provider() const noexcept { return provider_; }
  const std::string& parameter() const noexcept { return parameter_; }  // "" when not about one
  // Set only by the second constructor. Without one: thrown by chat_request it means "this provider
  // cannot take this request" (another provider may); thrown by chat_response / on_sse it means the
  // answer did not fit the provider's schema (retryable).
  const std::optional<ErrorVerdict>& verdict() const noexcept { return verdict_; }

 private:
  std::string provider_, parameter_;
  std::optional<ErrorVerdict> verdict_;
};

struct TranslatedRequest {
  HttpRequest http;
  std::vector<std::string> warnings;  // parameters dropped, e.g. "logit_bias is not supported by anthropic; dropped"
};

class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // One upstream SSE event -> zero or more OpenAI chat.completion.chunk JSON texts (and "[DONE]"
  // once the provider said the answer is complete). An error event inside the stream is
  // returned as `error` (the router fails over before the first token).
  virtual void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& chunks,
                      std::optional<ErrorVerdict>& error) = 0;
  // Raw body bytes, for streams that are not SSE (Bedrock's binary event stream).
  virtual void on_bytes(std::string_view bytes, std::vector<std::string>& chunks, std::optional<ErrorVerdict>& error) {
    (void)bytes, (void)chunks, (void)error;
  }
  // True when this dialect streams raw bytes (on_bytes) rather than SSE.
  virtual bool wants_bytes() const { return false; }
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;

  // OpenAI chat request (parsed JSON; "model" already set to endpoint.model) -> this provider's
  // HTTP request. Throws TranslationError for a parameter it must reject.
  virtual TranslatedRequest chat_request(const Endpoint& endpoint, const nlohmann::json& openai_request, bool stream,
                                         const Timeouts& timeouts) const = 0;
  // A successful non-streaming answer -> OpenAI ChatCompletion JSON text.
  virtual std::string chat_response(const Endpoint& endpoint, std::string_view body) const = 0;
  // One stream's translator. `openai_request` is the request chat_request() translated (the
  // translator needs stream_options.include_usage and n, which the provider's stream does not echo).
  virtual std::unique_ptr<StreamTranslator> stream_translator(const Endpoint& endpoint,
                                                              const nlohmann::json& openai_request) const = 0;

  // Embeddings; providers without them throw TranslationError.
  virtual TranslatedRequest embeddings_request(const Endpoint& endpoint, const nlohmann::json& openai_request,
                                               const Timeouts& timeouts) const;
  virtual std::string embeddings_response(const Endpoint& endpoint, std::string_view body) const;

  // The hot path of an OpenAI-shaped provider: a chat ("/chat/completions") or embeddings
  // ("/embeddings") request sent as the caller wrote it (`body`, scanned by scan_request into
  // `scan`), with only its top-level "model" replaced by endpoint.model (else by `model`, else
  // kept). Returns nullopt when this provider must translate the parsed request (the default): the
  // caller then parses `body` and calls chat_request / embeddings_request. For a stream, `translator`
  // receives what stream_translator would return. Same results as the parsed path, byte for byte
  // apart from the JSON's formatting.
  virtual std::optional<TranslatedRequest> verbatim_request(const Endpoint& endpoint, std::string_view path,
                                                            std::string_view body, const RequestScan& scan,
                                                            std::string_view model, bool stream,
                                                            const Timeouts& timeouts,
                                                            std::unique_ptr<StreamTranslator>& translator) const {
    (void)endpoint, (void)path, (void)body, (void)scan, (void)model, (void)stream, (void)timeouts, (void)translator;
    return std::nullopt;
  }

  // An error answer -> what it means for failover (reason words as in openai.hpp).
  virtual ErrorVerdict classify(int status, const Headers& headers, std::string_view body) const = 0;
  // A wait the provider asked for in its error body (Gemini's RetryInfo.retryDelay), if any.
  virtual std::optional<Millis> body_retry_hint(std::string_view body) const {
    (void)body;
    return std::nullopt;
  }
  // Accepts an assistant message as a prefix to continue (stream recovery by prefill): the
  // registry's capability of name() (registry.hpp).
  bool supports_prefill() const;
};

// ---- helpers shared by the adapters (provider.cpp) ----------------------------------------------

// A parsed `data:<media type>;base64,<data>` URL.
struct DataUrl {
  std::string media_type;
  std::string data;  // still base64
  bool operator==(const DataUrl&) const = default;
};
std::optional<DataUrl> parse_data_url(std::string_view url);

// The provider's JSON answer; throws TranslationError naming `provider` when it is not a JSON object.
// Appends `blocks` as a `role` turn ({"role", "content": [...]}), merging them into the last turn
// when it has the same role (Anthropic and Bedrock want strictly alternating turns).
void append_turn(nlohmann::json& messages, const std::string& role, nlohmann::json blocks);
// An OpenAI tool call's `function.arguments` (a JSON string) as an object ({} when empty);
// anything but an object is a TranslationError naming `provider` and "messages".
nlohmann::json tool_call_arguments(std::string_view provider, const nlohmann::json& function);
nlohmann::json parse_answer(std::string_view provider, std::string_view body);

// `text` as one path segment (RFC 3986 section 3.3): every octet but the unreserved ones
// (ALPHA / DIGIT / "-" / "." / "_" / "~") and those in `keep` percent-encoded, so a model, project
// or deployment name such as "../../admin", "x?key=evil", "a#b", "a%2F" or "a:b" stays one segment
// of the path it was put in. `keep` may only hold pchars that mean nothing to the upstream: "@"
// by default (Vertex model versions, "gemini-2.5-flash@001"); ":" is encoded because Google's
// paths end in ":method" (AIP-136).
// "", "." and ".." cannot be (a server that normalizes decodes %2E, RFC 3986 section 6.2.2.2, and
// then removes dot segments, section 5.2.4): TranslationError naming `provider` and `parameter`.
std::string path_segment(std::string_view provider, std::string_view parameter, std::string_view text,
                         std::string_view keep = "@");
// A '/'-separated resource name (Vertex's "projects/p/locations/l/endpoints/e"), each segment
// encoded by path_segment, the slashes kept.
std::string path_segments(std::string_view provider, std::string_view parameter, std::string_view text);

// The text of an OpenAI message `content`: a string, or the text parts of an array joined with
// `separator`; "" for null. Throws TranslationError (provider, "messages") for other shapes.
std::string content_text(std::string_view provider, const nlohmann::json& content, std::string_view separator = "");

// `stream_options.include_usage` of an OpenAI request.
bool include_usage(const nlohmann::json& openai_request);

// An OpenAI `usage` object from the three counts (+ prompt_tokens_details.cached_tokens and
// completion_tokens_details.reasoning_tokens when non-zero).
nlohmann::json openai_usage(long long prompt, long long completion, long long cached = 0, long long reasoning = 0);

}  // namespace llmfailover::providers
