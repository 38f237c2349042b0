// cohere.cpp — the Cohere Provider: URL, headers, error classification, and v2 embed.
// Errors: the SDK's per-status classes (src/cohere/errors: 400, 401, 403, 404, 422, 429,
// 498 InvalidToken, 499 ClientClosedRequest, 500, 501, 503, 504); bodies are {"id", "message"}.
#include <chrono>

#include "llmfailover/providers/cohere.hpp"
#include "llmfailover/saturate.hpp"

namespace llmfailover::providers::cohere {
namespace {

using nlohmann::json;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string api_url(const std::string& base, std::string_view path) {
  std::string url = base.empty() ? std::string(kDefaultBaseUrl) : base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.ends_with("/v2")) url.resize(url.size() - 3);
  return url + std::string(path);
}

class CohereProvider final : public Provider {
 public:
  std::string_view name() const override { return "cohere"; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    TranslatedRequest out;
    json body = request_body(request, stream, out.warnings);
    if (!ep.model.empty()) body["model"] = ep.model;
    out.http = build(ep, "/v2/chat", body.dump(), stream, timeouts);
    return out;
  }

  std::string chat_response(const Endpoint& ep, std::string_view body) const override {
    return chat_completion(parse_answer("cohere", body), ep.model, now_seconds()).dump();
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint& ep, const json& request) const override {
    return make_stream(ep.model.empty() ? request.value("model", "") : ep.model, include_usage(request));
  }

  TranslatedRequest embeddings_request(const Endpoint& ep, const json& request,
                                       const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const json& input = request.contains("input") ? request["input"] : json();
    json texts = input.is_string() ? json::array({input}) : input;
    if (!texts.is_array() || texts.empty())
      throw TranslationError("cohere", "input", "input must be a string or a non-empty array of strings");
    for (const auto& t : texts) {
      if (!t.is_string())
        throw TranslationError("cohere", "input", "cohere embeds text; token arrays are not supported");
    }
    json body = {{"model", ep.model.empty() ? request.value("model", "") : ep.model},
                 {"texts", std::move(texts)},
                 {"input_type", "search_document"},
                 {"embedding_types", {"float"}}};
    if (request.contains("dimensions") && !request["dimensions"].is_null())
      body["output_dimension"] = request["dimensions"];
    if (request.value("encoding_format", "float") == "base64") {
      out.warnings.push_back("encoding_format base64 is not supported by cohere; floats returned");
    }
    out.http = build(ep, "/v2/embed", body.dump(), false, timeouts);
    return out;
  }

  std::string embeddings_response(const Endpoint& ep, std::string_view body) const override {
    const json doc = parse_answer("cohere", body);
    const json e = doc.value("embeddings", json());
    const json vectors = e.is_object() ? e.value("float", json()) : e;
    if (!vectors.is_array())
      throw TranslationError("cohere", "", "the answer does not fit the v2 embed schema: no float embeddings");
    json data = json::array();
    for (std::size_t i = 0; i < vectors.size(); ++i)
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
    const json billed = doc.value("meta", json::object()).value("billed_units", json::object());
    const long long tokens = billed.is_object() && billed.contains("input_tokens") && billed["input_tokens"].is_number()
                                 ? saturate_ll(billed["input_tokens"].get<double>())
                                 : 0;
    return json{{"object", "list"},
                {"data", std::move(data)},
                {"model", ep.model},
                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}
        .dump();
  }

  ErrorVerdict classify(int status, const Headers&, std::string_view body) const override {
    return cohere::classify(status, body);
  }

 private:
  static HttpRequest build(const Endpoint& ep, std::string_view path, std::string body, bool stream,
                           const Timeouts& timeouts) {
    HttpRequest h;
    h.method = "POST";
    h.url = api_url(ep.base_url, path);
    h.timeouts = timeouts;
    h.body = std::move(body);
    h.headers = {{"Accept", stream ? "text/event-stream" : "application/json"}, {"Content-Type", "application/json"}};
    if (!ep.api_key.empty()) h.headers.push_back({"Authorization", "Bearer " + ep.api_key.reveal()});
    merge_headers(h.headers, ep.headers);
    return h;
  }
};

}  // namespace

ErrorVerdict classify(int status, std::string_view body) {
  const json doc = parse_json(body);
  const std::string message = doc.is_object() ? doc.value("message", "") : "";
  ErrorVerdict v = classify_response(status, body);
  v.message = message;
  if (status == 429) {
    // Trial keys have a monthly call limit: this key cannot serve until it resets; others may.
    v = {ErrorClass::rate_limited,
         contains(message, "Trial key") || contains(message, "per month") ? "quota" : "rate_limited", message};
  } else if (status == 498 || status == 401) {
    v = {ErrorClass::fatal_target, "auth", message};
  } else if (status == 402) {
    v = {ErrorClass::fatal_target, "quota", message};
  } else if (status == 499) {
    v = {ErrorClass::retryable, "server_error", message};  // the request was cancelled upstream, not by us
  } else if (status == 501) {
    v = {ErrorClass::fatal_target, "not_found", message};  // this model or feature is not implemented here
  } else if ((status == 400 || status == 422) &&
             (contains(message, "too many tokens") || contains(message, "context length") ||
              contains(message, "too long"))) {
    v = {ErrorClass::fatal_request, "context_length_exceeded", message};
  }
  return v;
}

std::unique_ptr<Provider> make_provider() { return std::make_unique<CohereProvider>(); }

}  // namespace llmfailover::providers::cohere
