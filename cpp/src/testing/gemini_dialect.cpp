// gemini_dialect.cpp — the Gemini API (generativelanguage v1beta) wire shapes for the fake provider.
// Shapes follow googleapis/python-genai google/genai/types.py (GenerateContentResponse) and
// google.rpc.Status for errors; streams are `alt=sse`: one whole response per data line, no terminator.
#include <nlohmann/json.hpp>

#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

int prompt_tokens(const json& body) {
  int n = 0;
  auto parts_words = [&](const json& content) {
    for (const auto& p : content.value("parts", json::array())) {
      if (p.is_object() && p.contains("text") && p["text"].is_string()) n += count_words(p["text"].get_ref<const std::string&>());
    }
  };
  if (body.contains("systemInstruction") && body["systemInstruction"].is_object()) parts_words(body["systemInstruction"]);
  for (const auto& c : body.value("contents", json::array())) {
    if (c.is_object()) parts_words(c);
  }
  return std::max(n, 1);
}

const char* status_name(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 429: return "RESOURCE_EXHAUSTED";
    case 500: return "INTERNAL";
    case 503: case 529: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
  }
}

std::string default_message(int status, std::string_view code) {
  if (code == "context_length_exceeded") {
    return "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).";
  }
  if (code == "content_policy_violation") return "The request was blocked because it violates the SAFETY policy.";
  switch (status) {
    case 401: return "API key not valid. Please pass a valid API key.";
    case 404: return "models/unknown is not found for API version v1beta, or is not supported for generateContent.";
    case 429: return "You exceeded your current quota, please check your plan and billing details.";
    case 503: case 529: return "The model is overloaded. Please try again later.";
    default: return status >= 500 ? "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting" : "Request contains an invalid argument.";
  }
}

json candidate(const std::string& text, int index, bool last) {
  json c = {{"content", {{"parts", json::array({{{"text", text}}})}, {"role", "model"}}}, {"index", index}};
  if (last) c["finishReason"] = "STOP";
  return c;
}

class GeminiDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    ParsedRequest req;
    req.body = std::move(body);
    std::string_view path = target.substr(0, target.find('?'));
    for (std::string_view prefix : {"/v1beta/models/", "/v1/models/"}) {
      if (path.starts_with(prefix)) path.remove_prefix(prefix.size());
    }
    const auto colon = path.rfind(':');
    const std::string_view action = colon == std::string_view::npos ? "" : path.substr(colon + 1);
    if (method != "POST" || (action != "generateContent" && action != "streamGenerateContent")) {
      req.error_status = 404;
      req.error_message = "Method not found.";
      return req;
    }
    req.model = std::string(path.substr(0, colon));
    req.stream = action == "streamGenerateContent";  // the SDKs add alt=sse; we always answer with SSE
    req.kind = 1;
    const json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      req.error_status = 400;
      req.error_message = "Invalid JSON payload received.";
    } else if (!j.contains("contents")) {
      req.error_status = 400;
      req.error_message = "* GenerateContentRequest.contents: contents is not specified\n";
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    const json body = json::parse(req.body, nullptr, false);
    int n = 1;
    if (auto g = body.find("generationConfig"); g != body.end() && g->is_object()) {
      n = std::clamp(g->value("candidateCount", 1), 1, 8);
    }
    const auto words = split_words(ctx.content);
    const int prompt = prompt_tokens(body);
    const int completion = static_cast<int>(words.size()) * n;
    const json usage = {{"promptTokenCount", prompt}, {"candidatesTokenCount", completion},
                        {"totalTokenCount", prompt + completion},
                        {"promptTokensDetails", json::array({{{"modality", "TEXT"}, {"tokenCount", prompt}}})}};
    const json tail = {{"modelVersion", req.model}, {"responseId", ctx.request_id}};
    Reply r;
    if (!req.stream) {
      json out = {{"candidates", json::array()}, {"usageMetadata", usage}};
      for (int i = 0; i < n; ++i) out["candidates"].push_back(candidate(ctx.content, i, true));
      out.update(tail);
      r.body = out.dump();
      return r;
    }
    r.stream = true;
    r.content_type = "text/event-stream";
    for (std::size_t w = 0; w < words.size(); ++w) {
      const bool last = w + 1 == words.size();
      json chunk = {{"candidates", json::array()}};
      for (int i = 0; i < n; ++i) chunk["candidates"].push_back(candidate(words[w], i, last));
      chunk["usageMetadata"] = last ? usage : json{{"promptTokenCount", prompt}, {"totalTokenCount", prompt}};
      chunk.update(tail);
      r.frames.push_back("data: " + chunk.dump() + "\r\n\r\n");  // Google's servers end lines with CRLF
    }
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message, std::string_view) const override {
    json err = {{"code", status}, {"message", message.empty() ? default_message(status, code) : std::string(message)},
                {"status", status_name(status)}};
    if (status == 429) {
      err["details"] = json::array(
          {{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
            {"violations", json::array({{{"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                                         {"quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}}})}},
           {{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", "1s"}}});
    }
    return json{{"error", std::move(err)}}.dump();
  }

  std::string error_frame() const override {
    return "data: " + error_body(503, "", "", "") + "\r\n\r\n";
  }
  std::string malformed_frame() const override { return "data: {not json\r\n\r\n"; }
  std::string done_frame() const override { return {}; }  // the stream ends at EOF

  std::string default_content(std::string_view model, unsigned) const override {
    return "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
  }
};

}  // namespace

std::unique_ptr<Dialect> make_gemini_dialect() { return std::make_unique<GeminiDialect>(); }

}  // namespace llmfailover::testing::detail
