// gemini.cpp — the Gemini Provider: URL, headers, error classification and the retry hint.
// Error shape: google.rpc.Status ({"error": {code, message, status, details[]}}), details per
// google/rpc/error_details.proto (RetryInfo, QuotaFailure, ErrorInfo).
#include <chrono>
#include <cstdlib>

#include "llmfailover/providers/gemini.hpp"
#include "llmfailover/saturate.hpp"

namespace llmfailover::providers::gemini {
namespace {

using nlohmann::json;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The error object's details of one type ("type.googleapis.com/google.rpc.RetryInfo", ...).
std::vector<json> details(const json& doc, std::string_view type) {
  std::vector<json> out;
  if (!doc.is_object() || !doc.contains("error") || !doc["error"].is_object()) return out;
  const json d = doc["error"].value("details", json::array());
  if (!d.is_array()) return out;
  for (const auto& x : d) {
    if (x.is_object() && x.value("@type", "").ends_with(type)) out.push_back(x);
  }
  return out;
}

bool per_day_quota(const json& doc) {
  for (const auto& qf : details(doc, "google.rpc.QuotaFailure")) {
    for (const auto& v : qf.value("violations", json::array())) {
      if (contains(v.value("quotaId", ""), "PerDay")) return true;
    }
  }
  return false;
}

std::string model_path(std::string model) {
  if (model.starts_with("models/")) model.erase(0, 7);
  return model;
}

class GeminiProvider final : public Provider {
 public:
  std::string_view name() const override { return "gemini"; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const json body = request_body(request, out.warnings);
    out.http = build(ep, model_of(ep, request), stream ? ":streamGenerateContent?alt=sse" : ":generateContent",
                     body.dump(), timeouts, stream ? "text/event-stream" : "application/json");
    return out;
  }

  TranslatedRequest embeddings_request(const Endpoint& ep, const json& request,
                                       const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const std::string model = model_of(ep, request);
    const json body = embed_body(request, model, "gemini", out.warnings);
    out.http = build(ep, model, ":batchEmbedContents", body.dump(), timeouts, "application/json");
    return out;
  }

  std::string embeddings_response(const Endpoint& ep, std::string_view body) const override {
    return embedding_list(parse_answer("gemini", body), ep.model, "gemini").dump();
  }

  std::string chat_response(const Endpoint& ep, std::string_view body) const override {
    return chat_completion(parse_answer("gemini", body), ep.model, now_seconds()).dump();
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint& ep, const json& request) const override {
    const json n = request.value("n", json(1));
    return make_stream(ep.model.empty() ? request.value("model", "") : ep.model, include_usage(request),
                       n.is_number_integer() ? n.get<int>() : 1);
  }

  ErrorVerdict classify(int status, const Headers&, std::string_view body) const override {
    return gemini::classify(status, body);
  }
  std::optional<Millis> body_retry_hint(std::string_view body) const override { return retry_delay(body); }

 private:
  static std::string model_of(const Endpoint& ep, const json& request) {
    std::string model = model_path(ep.model.empty() ? request.value("model", "") : ep.model);
    if (model.empty()) throw TranslationError("gemini", "model", "gemini needs a model");
    return model;
  }

  static HttpRequest build(const Endpoint& ep, const std::string& model, std::string_view action, std::string body,
                           const Timeouts& timeouts, std::string_view accept) {
    std::string url = ep.base_url.empty() ? std::string(kDefaultBaseUrl) : ep.base_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    std::optional<Header> auth;
    if (!ep.api_key.empty()) auth = Header{"x-goog-api-key", ep.api_key.reveal()};
    return json_post(url + "/models/" + path_segment("gemini", "model", model) + std::string(action), std::move(body),
                     timeouts, accept, std::move(auth), ep.headers);
  }
};

}  // namespace

ErrorVerdict classify(int status, std::string_view body) {
  const json doc = parse_json(body);
  const json err = doc.is_object() && doc.contains("error") && doc["error"].is_object() ? doc["error"] : json::object();
  const std::string message = err.value("message", "");
  const std::string code = err.value("status", "");
  ErrorVerdict v = classify_response(status, body);
  v.message = message;
  if (status == 429 || code == "RESOURCE_EXHAUSTED") {
    // Per-day quota ids mean "do not retry here today, fail over" (drop_in.md 4.2).
    v = {ErrorClass::rate_limited, per_day_quota(doc) ? "quota" : "rate_limited", message};
  } else if (code == "UNAVAILABLE" || contains(message, "overloaded")) {
    v = {ErrorClass::retryable, "overloaded", message};
  } else if (status == 400 && (contains(message, "API key not valid") || contains(message, "API_KEY_INVALID"))) {
    v = {ErrorClass::fatal_target, "auth", message};
  } else if (code == "FAILED_PRECONDITION") {
    v = {ErrorClass::fatal_target, "bad_request",
         message};  // e.g. "User location is not supported": another target may
  } else if (status == 400 &&
             (contains(message, "input token count") || contains(message, "maximum number of tokens") ||
              contains(message, "exceeds the maximum"))) {
    v = {ErrorClass::fatal_request, "context_length_exceeded", message};
  } else if (status == 400 &&
             (contains(message, "SAFETY") || contains(message, "safety") || contains(message, "blocked"))) {
    v = {ErrorClass::fatal_request, "content_policy", message};
  }
  return v;
}

std::optional<Millis> retry_delay(std::string_view body) {
  const json doc = parse_json(body);
  for (const auto& ri : details(doc, "google.rpc.RetryInfo")) {
    const json d = ri.value("retryDelay", json());
    // proto3 JSON Duration: "<seconds>[.<fraction>]s"; some proxies send {"seconds": N, "nanos": M}.
    if (d.is_string()) {
      const std::string s = d.get<std::string>();
      char* end = nullptr;
      const double seconds = std::strtod(s.c_str(), &end);
      if (end && end != s.c_str() && *end == 's' && seconds >= 0) return saturate_millis(seconds * 1000 + 0.5);
    } else if (d.is_object()) {
      return saturate_millis(d.value("seconds", 0.0) * 1000 + d.value("nanos", 0.0) / 1e6);
    }
  }
  return std::nullopt;
}

HttpRequest json_post(std::string url, std::string body, const Timeouts& timeouts, std::string_view accept,
                      std::optional<Header> auth, const Headers& extra) {
  HttpRequest h;
  h.method = "POST";
  h.url = std::move(url);
  h.timeouts = timeouts;
  h.body = std::move(body);
  h.headers = {{"Accept", std::string(accept)}, {"Content-Type", "application/json"}};
  if (auth) h.headers.push_back(std::move(*auth));
  merge_headers(h.headers, extra);
  return h;
}

std::unique_ptr<Provider> make_provider() { return std::make_unique<GeminiProvider>(); }

}  // namespace llmfailover::providers::gemini
