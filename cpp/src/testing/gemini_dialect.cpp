// gemini_dialect.cpp — the Gemini API (generativelanguage v1beta) wire shapes for the fake provider,
// also served on Vertex AI's paths (/v1/projects/P/locations/L/publishers/google/models/M:action,
// which require "Authorization: Bearer fake-token-*", as the fake's token endpoint hands out).
// Shapes follow googleapis/python-genai google/genai/types.py (GenerateContentResponse,
// BatchEmbedContentsResponse) and google.rpc.Status for errors; streams are `alt=sse`: one whole
// response per data line, no terminator. A scripted tool call is a functionCall part (no id, as
// the Gemini API sends none) with finishReason STOP; streamed, one chunk holds the whole call, as
// Gemini streams function calls.
#include <cmath>

#include <nlohmann/json.hpp>

#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

int prompt_tokens(const json& body) {
  int n = 0;
  auto parts_words = [&](const json& content) {
    for (const auto& p : content.value("parts", json::array())) {
      if (p.is_object() && p.contains("text") && p["text"].is_string())
        n += count_words(p["text"].get_ref<const std::string&>());
    }
  };
  if (body.contains("systemInstruction") && body["systemInstruction"].is_object())
    parts_words(body["systemInstruction"]);
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
    case 503:
    case 529: return "UNAVAILABLE";
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
    case 503:
    case 529: return "The model is overloaded. Please try again later.";
    default:
      return status >= 500 ? "An internal error has occurred. Please retry or report in "
                             "https://developers.generativeai.google/guide/troubleshooting"
                           : "Request contains an invalid argument.";
  }
}

enum Kind : int { generate = 1, embed };

// Deterministic unit vectors: same text, same vector.
json embedding(const std::string& text, unsigned dims) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  std::vector<double> v(dims);
  double norm = 0;
  for (unsigned i = 0; i < dims; ++i) {
    v[i] = std::cos(static_cast<double>(h % 1000) + i);
    norm += v[i] * v[i];
  }
  for (auto& x : v) x = std::round(x / std::sqrt(norm) * 1e6) / 1e6;
  return json{{"values", v}};
}

// The texts of a batchEmbedContents body; an error message when it does not fit.
std::string embed_texts(const json& body, std::string_view model, bool vertex, std::vector<std::string>& texts) {
  const json requests = body.value("requests", json());
  if (!requests.is_array() || requests.empty())
    return "* BatchEmbedContentsRequest.requests: requests is not specified";
  for (const auto& r : requests) {
    if (!r.is_object() || !r.contains("content") || !r["content"].is_object())
      return "* requests[].content is not specified";
    if (!vertex && r.value("model", "") != "models/" + std::string(model)) {
      return "* BatchEmbedContentsRequest.model: the model of each request must match the batch's model";
    }
    std::string text;
    for (const auto& p : r["content"].value("parts", json::array())) {
      if (p.is_object() && p.contains("text") && p["text"].is_string()) text += p["text"].get<std::string>();
    }
    texts.push_back(std::move(text));
  }
  return {};
}

unsigned embed_dimensions(const json& request, unsigned fallback) {
  json d = request.value("outputDimensionality", json());
  if (d.is_null()) d = request.value("embedContentConfig", json::object()).value("outputDimensionality", json());
  return d.is_number_unsigned() && d.get<unsigned>() > 0 ? std::min(d.get<unsigned>(), 4096u) : fallback;
}

// The thought summary the fake sends when asked to include thoughts.
constexpr const char* kThought = "The user greets me; a short answer will do.";

json candidate(const std::string& text, int index, bool last, const std::optional<ToolCall>& call = std::nullopt) {
  const json part = call ? json{{"functionCall", {{"name", call->name}, {"args", parse_json(call->arguments)}}}}
                         : json{{"text", text}};
  json c = {{"content", {{"parts", json::array({part})}, {"role", "model"}}}, {"index", index}};
  if (last) c["finishReason"] = "STOP";
  return c;
}

class GeminiDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    return parse_request(method, target, std::move(body), {});
  }

  ParsedRequest parse_request(std::string_view method, std::string_view target, std::string body,
                              const Headers& headers) const override {
    ParsedRequest req;
    req.body = std::move(body);
    std::string_view path = target.substr(0, target.find('?'));
    bool vertex = false;
    for (std::string_view prefix : {"/v1beta/models/", "/v1/models/"}) {
      if (path.starts_with(prefix)) path.remove_prefix(prefix.size());
    }
    for (std::string_view prefix : {"/v1/projects/", "/v1beta1/projects/"}) {
      if (path.starts_with(prefix)) {
        vertex = true;
        path.remove_prefix(path.find_last_of('/', path.rfind(':')) +
                           1);  // .../publishers/google/models/M:action -> M:action
      }
    }
    const auto colon = path.rfind(':');
    const std::string_view action = colon == std::string_view::npos ? "" : path.substr(colon + 1);
    if (method != "POST" ||
        (action != "generateContent" && action != "streamGenerateContent" && action != "batchEmbedContents")) {
      req.error_status = 404;
      req.error_message = "Method not found.";
      return req;
    }
    req.model = percent_decode(path.substr(0, colon));  // as Google does: "a%3Fb" is model "a?b"
    req.stream = action == "streamGenerateContent";     // the SDKs add alt=sse; we always answer with SSE
    req.kind = action == "batchEmbedContents" ? embed : generate;
    const std::string* auth = find_header(headers, "authorization");
    if (vertex && (!auth || !auth->starts_with("Bearer fake-token-"))) {
      req.error_status = 401;
      req.error_message =
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
          "other valid authentication credential.";
      return req;
    }
    const json j = parse_json(req.body);
    std::vector<std::string> texts;
    if (!j.is_object()) {
      req.error_status = 400;
      req.error_message = "Invalid JSON payload received.";
    } else if (req.kind == embed) {
      req.error_message = embed_texts(j, req.model, vertex, texts);
      if (!req.error_message.empty()) req.error_status = 400;
    } else if (!j.contains("contents")) {
      req.error_status = 400;
      req.error_message = "* GenerateContentRequest.contents: contents is not specified\n";
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    const json body = parse_json(req.body);
    if (req.kind == embed) return embeddings(body, ctx);
    int n = 1;
    // Thinking (generationConfig.thinkingConfig): a budget above 0 spends thoughtsTokenCount
    // tokens; includeThoughts sends the thought summary as a part marked thought: true, first.
    bool thinks = false, shows = false;
    if (auto g = body.find("generationConfig"); g != body.end() && g->is_object()) {
      n = std::clamp(g->value("candidateCount", 1), 1, 8);
      if (auto t = g->find("thinkingConfig"); t != g->end() && t->is_object()) {
        // proto3 JSON takes either spelling; google-genai sends snake_case here
        const json budget = t->value("thinkingBudget", t->value("thinking_budget", json()));
        thinks = budget.is_number_integer() && budget.get<long long>() != 0;
        shows = thinks && t->value("includeThoughts", t->value("include_thoughts", json())) == json(true);
      }
    }
    const int thoughts = thinks ? count_words(kThought) : 0;
    const auto& call = ctx.tool_call;
    const auto words = call ? std::vector<std::string>{""} : split_words(ctx.content);  // a call: one chunk
    const int prompt = prompt_tokens(body);
    const int completion = (call ? tool_call_tokens(*call) : static_cast<int>(words.size())) * n;
    json usage = {{"promptTokenCount", prompt},
                  {"candidatesTokenCount", completion},
                  {"totalTokenCount", prompt + completion + thoughts},
                  {"promptTokensDetails", json::array({{{"modality", "TEXT"}, {"tokenCount", prompt}}})}};
    if (thinks) usage["thoughtsTokenCount"] = thoughts;
    const json thought_part = {{"text", kThought}, {"thought", true}};
    const json tail = {{"modelVersion", req.model}, {"responseId", ctx.request_id}};
    Reply r;
    if (!req.stream) {
      json out = {{"candidates", json::array()}, {"usageMetadata", usage}};
      for (int i = 0; i < n; ++i) {
        json c = candidate(ctx.content, i, true, call);
        if (shows) c["content"]["parts"].insert(c["content"]["parts"].begin(), thought_part);
        out["candidates"].push_back(std::move(c));
      }
      out.update(tail);
      r.body = out.dump();
      return r;
    }
    r.stream = true;
    r.content_type = "text/event-stream";
    if (shows) {
      json chunk = {{"candidates", json::array()}};
      for (int i = 0; i < n; ++i)
        chunk["candidates"].push_back(
            {{"content", {{"parts", json::array({thought_part})}, {"role", "model"}}}, {"index", i}});
      chunk["usageMetadata"] = {{"promptTokenCount", prompt}, {"totalTokenCount", prompt}};
      chunk.update(tail);
      r.frames.push_back("data: " + chunk.dump() + "\r\n\r\n");
    }
    for (std::size_t w = 0; w < words.size(); ++w) {
      const bool last = w + 1 == words.size();
      json chunk = {{"candidates", json::array()}};
      for (int i = 0; i < n; ++i) chunk["candidates"].push_back(candidate(words[w], i, last, call));
      chunk["usageMetadata"] = last ? usage : json{{"promptTokenCount", prompt}, {"totalTokenCount", prompt}};
      chunk.update(tail);
      r.frames.push_back("data: " + chunk.dump() + "\r\n\r\n");  // Google's servers end lines with CRLF
    }
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message, std::string_view) const override {
    json err = {{"code", status},
                {"message", message.empty() ? default_message(status, code) : std::string(message)},
                {"status", status_name(status)}};
    if (status == 429) {
      err["details"] = json::array(
          {{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
            {"violations",
             json::array({{{"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                           {"quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}}})}},
           {{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", "1s"}}});
    }
    return json{{"error", std::move(err)}}.dump();
  }

  std::string error_frame() const override { return "data: " + error_body(503, "", "", "") + "\r\n\r\n"; }
  std::string malformed_frame() const override { return "data: {not json\r\n\r\n"; }
  std::string done_frame() const override { return {}; }  // the stream ends at EOF

  std::string default_content(std::string_view model, unsigned) const override {
    return "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
  }

 private:
  static Reply embeddings(const json& body, const ReplyContext& ctx) {
    json out = json::array();
    for (const auto& r : body.value("requests", json::array())) {
      std::string text;
      for (const auto& p : r["content"].value("parts", json::array())) {
        if (p.is_object() && p.contains("text") && p["text"].is_string()) text += p["text"].get<std::string>();
      }
      out.push_back(embedding(text, embed_dimensions(r, ctx.embedding_dimensions)));
    }
    Reply reply;
    reply.body = json{{"embeddings", std::move(out)}}.dump();
    return reply;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_gemini_dialect() { return std::make_unique<GeminiDialect>(); }

}  // namespace llmfailover::testing::detail
