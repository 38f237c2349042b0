// anthropic.cpp — the Anthropic Provider: URL, headers, and error classification.
// Error types: platform.claude.com/docs/en/api/errors; SDK classes in src/anthropic/_exceptions.py.
#include <chrono>

#include "llmfailover/providers/anthropic.hpp"

namespace llmfailover::providers::anthropic {
namespace {

using nlohmann::json;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string messages_url(const std::string& base) {
  std::string url = base.empty() ? std::string(kDefaultBaseUrl) : base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.ends_with("/v1")) url += "/v1";
  return url + "/messages";
}

// Which anthropic-ratelimit-* budget is exhausted ("" when the headers do not say).
std::string exhausted_limit(const Headers& headers) {
  for (std::string_view kind : {"requests", "tokens", "input-tokens", "output-tokens"}) {
    const std::string name = "anthropic-ratelimit-" + std::string(kind) + "-remaining";
    if (const auto* v = find_header(headers, name); v && *v == "0") {
      const auto* reset = find_header(headers, "anthropic-ratelimit-" + std::string(kind) + "-reset");
      return std::string(kind) + (reset ? " (resets " + *reset + ")" : "");
    }
  }
  return {};
}

class AnthropicProvider final : public Provider {
 public:
  std::string_view name() const override { return "anthropic"; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    TranslatedRequest out;
    json body = request_body(request, stream, out.warnings);
    if (!ep.model.empty()) body["model"] = ep.model;
    HttpRequest& h = out.http;
    h.method = "POST";
    h.url = messages_url(ep.base_url);
    h.timeouts = timeouts;
    h.body = body.dump();
    h.headers = {{"Accept", stream ? "text/event-stream" : "application/json"},
                 {"Content-Type", "application/json"},
                 {"anthropic-version", ep.api_version.empty() ? std::string(kDefaultVersion) : ep.api_version}};
    if (!ep.api_key.empty()) h.headers.push_back({"x-api-key", ep.api_key.reveal()});
    merge_headers(h.headers, ep.headers);
    return out;
  }

  std::string chat_response(const Endpoint&, std::string_view body) const override {
    return chat_completion(parse_answer("anthropic", body), now_seconds()).dump();
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint&, const json& request) const override {
    return make_stream(include_usage(request));
  }

  ErrorVerdict classify(int status, const Headers& headers, std::string_view body) const override {
    ErrorVerdict v = classify_response(status, body);  // reads {"error": {"type", "message"}} too
    const std::string& msg = v.message;
    if (status == 429) {
      if (auto which = exhausted_limit(headers); !which.empty()) v.message += " [exhausted: " + which + "]";
    } else if (status == 402 || contains(msg, "credit balance is too low")) {
      v = {ErrorClass::fatal_target, "quota", msg};  // billing: this account cannot serve, another may
    } else if (status == 400 && (contains(msg, "prompt is too long") || contains(msg, "exceed context limit") ||
                                 contains(msg, "context window"))) {
      v = {ErrorClass::fatal_request, "context_length_exceeded", msg};
    } else if (status == 400 && contains(msg, "content filtering policy")) {
      v = {ErrorClass::fatal_request, "content_policy", msg};
    }
    return v;
  }
};

}  // namespace

std::unique_ptr<Provider> make_provider() { return std::make_unique<AnthropicProvider>(); }

}  // namespace llmfailover::providers::anthropic
