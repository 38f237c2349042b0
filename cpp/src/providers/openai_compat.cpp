// openai_compat.cpp — the OpenAI-compatible family: one Provider class, one row of quirks per
// member. URL, auth and error classification are openai.cpp's; this file only adjusts bodies.
#include "llmfailover/providers/openai_compat.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>

namespace llmfailover::providers {
namespace {

using nlohmann::json;

struct Quirks {
  std::string_view name;
  Upstream::Kind kind = Upstream::Kind::openai;
  bool short_tool_ids = false;            // mistral: ids of 9 alphanumerics
  bool random_seed = false;               // mistral: seed is spelled random_seed
  bool drop_stream_options = false;       // not in the provider's request model
  bool max_tokens_only = false;           // max_completion_tokens unknown: send max_tokens
  bool single_choice = false;             // n must be 1
  std::vector<std::string_view> dropped;  // rejected upstream with a 400: dropped with a warning
};

// Members without quirks (openai, together, openrouter, ...) need no row: their default base URL
// and key variables are in the registry (registry.cpp).
// Sources: drop_in.md 4.0/4.6; console.groq.com/docs/openai ("not supported ... will result in a
// 400": logprobs, logit_bias, top_logprobs; n must be 1); docs.mistral.ai API reference.
const std::vector<Quirks>& family() {
  static const std::vector<Quirks> rows = [] {
    std::vector<Quirks> v;
    v.push_back({"azure", Upstream::Kind::azure});
    v.push_back(
        {"groq", Upstream::Kind::openai, false, false, false, false, true, {"logprobs", "top_logprobs", "logit_bias"}});
    v.push_back({"mistral", Upstream::Kind::openai, true, true, true, true});
    v.push_back({"deepseek", Upstream::Kind::openai, false, false, false, true});
    return v;
  }();
  return rows;
}

bool standard_finish(std::string_view r) {
  return r == "stop" || r == "length" || r == "tool_calls" || r == "content_filter" || r == "function_call";
}

void rewrite_tool_ids(json& body) {
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array()) return;
  for (auto& m : *msgs) {
    if (!m.is_object()) continue;
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (auto& c : *calls) {
        if (c.is_object() && c.contains("id") && c["id"].is_string())
          c["id"] = mistral_tool_id(c["id"].get<std::string>());
      }
    }
    if (auto id = m.find("tool_call_id"); id != m.end() && id->is_string())
      *id = mistral_tool_id(id->get<std::string>());
  }
}

// Applies the quirks to `body`; returns the warnings.
std::vector<std::string> adjust(const Quirks& q, json& body, bool stream) {
  std::vector<std::string> warnings;
  auto drop = [&](std::string_view key, std::string_view why) {
    if (body.erase(std::string(key))) {
      warnings.push_back(std::string(key) + " is not supported by " + std::string(q.name) + "; dropped" +
                         std::string(why));
    }
  };
  for (auto key : q.dropped) drop(key, "");
  if (q.single_choice) {
    if (auto n = body.find("n"); n != body.end() && n->is_number_integer() && n->get<long long>() > 1) {
      throw TranslationError(std::string(q.name), "n", "n > 1 is not supported by " + std::string(q.name));
    }
  }
  if (q.drop_stream_options && body.contains("stream_options")) {
    body.erase("stream_options");
    // The usage still arrives (on the last chunk): the stream translator re-emits it as requested.
    if (stream) warnings.push_back("stream_options is not supported by " + std::string(q.name) + "; dropped");
  }
  if (q.max_tokens_only && body.contains("max_completion_tokens")) {
    if (!body.contains("max_tokens")) body["max_tokens"] = body["max_completion_tokens"];
    body.erase("max_completion_tokens");
  }
  if (q.random_seed && body.contains("seed")) {
    body["random_seed"] = body["seed"];
    body.erase("seed");
  }
  if (q.short_tool_ids) {
    rewrite_tool_ids(body);
    // Mistral continues a final assistant message only when it is marked as a prefix.
    auto it = body.find("messages");
    json& msgs = it == body.end() ? body : *it;
    if (it != body.end() && msgs.is_array() && !msgs.empty() && msgs.back().is_object() &&
        msgs.back().value("role", "") == "assistant" && !msgs.back().contains("tool_calls")) {
      msgs.back()["prefix"] = true;
    }
  }
  return warnings;
}

// Normalises every choice's finish_reason in place; true when something changed. A finish_reason
// of "error" sets `failed`.
bool normalize_choices(json& doc, bool& failed) {
  bool changed = false;
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array()) return false;
  for (auto& c : *choices) {
    if (!c.is_object()) continue;
    auto fr = c.find("finish_reason");
    if (fr == c.end() || !fr->is_string()) continue;
    const auto& s = fr->get_ref<const std::string&>();
    if (standard_finish(s)) continue;
    if (normalize_finish_reason(s) == "error") failed = true;
    *fr = std::string(normalize_finish_reason(s) == "error" ? "stop" : normalize_finish_reason(s));
    changed = true;
  }
  return changed;
}

class CompatStream final : public StreamTranslator {
 public:
  CompatStream(std::string provider, bool include_usage)
      : provider_(std::move(provider)), include_usage_(include_usage) {}

  void on_sse(std::string_view, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    if (data == "[DONE]") {
      chunks.emplace_back("[DONE]");
      return;
    }
    // Fast path: most chunks need nothing, and parsing each would cost more than the rest of the
    // stream. One validating scan (json_scan.hpp) tells whether the parse below would change or
    // refuse anything: an error member, an empty "object", a finish reason that is not a standard
    // one, a usage object. Whatever the scan is unsure of (invalid JSON, nested past the limit,
    // duplicate or escaped keys) is parsed, and refused there naming the provider.
    if (auto scan = scan_answer(data, max_json_depth());
        scan && !scan->error && !scan->object_empty &&
        std::all_of(scan->finish_reasons.begin(), scan->finish_reasons.end(), standard_finish) &&
        !(scan->usage.found() && data[scan->usage.begin] == '{')) {
      chunks.emplace_back(data);
      return;
    }
    json doc = parse_answer(provider_, data);
    if (doc.contains("error") && !doc.contains("choices")) {
      error = classify_stream_error(data);
      return;
    }
    if (doc.value("object", "x").empty()) {  // Azure's prompt-filter prelude: not a chunk openai can validate
      if (!doc.contains("choices") || doc["choices"].empty()) return;
      doc["object"] = "chat.completion.chunk";
    }
    bool failed = false;
    normalize_choices(doc, failed);
    if (failed) {
      error = ErrorVerdict{ErrorClass::retryable, "stream_error_event",
                           provider_ + " ended the stream with finish_reason \"error\""};
      return;
    }
    auto usage = doc.find("usage");
    const bool has_choices = doc.contains("choices") && doc["choices"].is_array() && !doc["choices"].empty();
    if (usage != doc.end() && usage->is_object() && has_choices) {
      json usage_chunk = doc;  // usage on a content chunk (Mistral, Groq's x_groq): give it its own chunk
      usage_chunk["choices"] = json::array();
      doc.erase("usage");
      chunks.push_back(doc.dump());
      if (include_usage_) chunks.push_back(usage_chunk.dump());
      return;
    }
    if (usage != doc.end() && usage->is_object() && !include_usage_) return;
    chunks.push_back(doc.dump());
  }

 private:
  std::string provider_;
  bool include_usage_;
};

class CompatProvider final : public Provider {
 public:
  CompatProvider(Quirks q, const ProviderInfo& info) : q_(std::move(q)), info_(info) {}
  std::string_view name() const override { return q_.name; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    json body = request;
    TranslatedRequest out;
    out.warnings = adjust(q_, body, stream);
    if (!ep.model.empty()) body["model"] = ep.model;
    if (stream) body["stream"] = true;
    out.http =
        build_request(upstream(ep), ApiCall{"POST", "/chat/completions", body.dump(), {}, {}, ep.model}, timeouts);
    return out;
  }

  std::optional<TranslatedRequest> verbatim_request(const Endpoint& ep, std::string_view path, std::string_view body,
                                                    const RequestScan& scan, std::string_view model, bool stream,
                                                    const Timeouts& timeouts,
                                                    std::unique_ptr<StreamTranslator>& translator) const override {
    const bool chat = path == "/chat/completions";
    if (!chat && (path != "/embeddings" || !info_.capabilities.embeddings)) return std::nullopt;
    if (!q_.dropped.empty() || q_.short_tool_ids || q_.random_seed || q_.drop_stream_options || q_.max_tokens_only ||
        q_.single_choice)
      return std::nullopt;  // a member with body quirks adjusts the parsed request
    // chat_request sets "stream": true; a body that does not say so already takes that path.
    if (chat && stream && scan.stream != RequestScan::Flag::is_true) return std::nullopt;
    const std::string_view target = !ep.model.empty() ? std::string_view(ep.model) : model;
    std::string sent = target.empty() || (scan.model_text && *scan.model_text == target)
                           ? std::string(body)
                           : with_model(body, scan, target);
    TranslatedRequest out;
    out.http =
        build_request(upstream(ep), ApiCall{"POST", std::string(path), std::move(sent), {}, {}, ep.model}, timeouts);
    if (chat && stream) translator = std::make_unique<CompatStream>(std::string(q_.name), scan.include_usage);
    return out;
  }

  std::string chat_response(const Endpoint&, std::string_view body) const override {
    // The usual answer (choices an array, every finish reason a standard one) goes back as it came,
    // checked by a scan instead of a parse (json_scan.hpp).
    if (auto scan = scan_answer(body, max_json_depth());
        scan && scan->choices_array &&
        std::all_of(scan->finish_reasons.begin(), scan->finish_reasons.end(), standard_finish))
      return std::string(body);
    json doc = parse_answer(q_.name, body);
    if (!doc.contains("choices") || !doc["choices"].is_array()) {
      throw TranslationError(std::string(q_.name), "", "the answer has no 'choices' array");
    }
    bool failed = false;
    if (!normalize_choices(doc, failed)) return std::string(body);
    if (failed) {
      throw TranslationError(std::string(q_.name), ErrorVerdict{ErrorClass::retryable, "server_error",
                                                                "the answer ended with finish_reason \"error\""});
    }
    return doc.dump();
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint&, const json& request) const override {
    return std::make_unique<CompatStream>(std::string(q_.name), include_usage(request));
  }

  TranslatedRequest embeddings_request(const Endpoint& ep, const json& request,
                                       const Timeouts& timeouts) const override {
    if (!info_.capabilities.embeddings) return Provider::embeddings_request(ep, request, timeouts);  // refuses
    TranslatedRequest out;
    out.http = build_request(upstream(ep), ApiCall{"POST", "/embeddings", request.dump(), {}, {}, ep.model}, timeouts);
    return out;
  }
  std::string embeddings_response(const Endpoint&, std::string_view body) const override {
    if (!scan_answer(body, max_json_depth())) parse_answer(q_.name, body);  // a scanned answer is an object
    return std::string(body);
  }

  ErrorVerdict classify(int status, const Headers&, std::string_view body) const override {
    return classify_response(status, body);
  }

 private:
  Upstream upstream(const Endpoint& ep) const {
    Upstream u;
    u.kind = q_.kind;
    u.base_url = ep.base_url.empty() ? std::string(info_.default_base_url) : ep.base_url;
    if (u.base_url.empty())
      throw TranslationError(std::string(q_.name), "base_url", std::string(q_.name) + " needs a base_url");
    u.api_key = ep.api_key.reveal();
    u.organization = ep.organization;
    u.api_version = ep.api_version;
    u.default_headers = ep.headers;
    return u;
  }

  const Quirks q_;
  const ProviderInfo& info_;  // the registry's entry: default base URL, capabilities
};

}  // namespace

std::unique_ptr<Provider> make_openai_compat(std::string_view name) {
  const ProviderInfo* info = find_provider_info(name);
  if (!info || info->adapter != kOpenAiCompatible) return nullptr;
  for (const auto& q : family()) {
    if (q.name == info->name) return std::make_unique<CompatProvider>(q, *info);
  }
  return std::make_unique<CompatProvider>(Quirks{info->name}, *info);  // no quirks: the body as sent
}

std::vector<std::string> openai_compat_names() {
  std::vector<std::string> out;
  for (const auto& info : provider_registry())
    if (info.adapter == kOpenAiCompatible) out.emplace_back(info.name);
  return out;
}

std::string mistral_tool_id(std::string_view id) {
  const bool ok = id.size() == 9 && std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                  });
  if (ok) return std::string(id);
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs and platforms
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  std::string out(9, 'A');
  for (auto& c : out) {
    c = kAlphabet[h % 62];
    h /= 62;
    if (h == 0) h = 0x9E3779B97F4A7C15ull;
  }
  return out;
}

std::string_view normalize_finish_reason(std::string_view r) {
  if (standard_finish(r)) return r;
  if (r == "model_length" || r == "max_tokens") return "length";
  if (r == "tool_call" || r == "tool_use") return "tool_calls";
  if (r == "content_filtered" || r == "safety") return "content_filter";
  if (r == "error") return "error";
  return "stop";
}

}  // namespace llmfailover::providers
