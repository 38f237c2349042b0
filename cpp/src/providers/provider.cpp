// provider.cpp — Provider's default members and the small helpers every adapter shares.
#include "llmfailover/providers/provider.hpp"

#include "llmfailover/providers/registry.hpp"
#include "llmfailover/providers/sigv4.hpp"

namespace llmfailover::providers {

using nlohmann::json;

TranslatedRequest Provider::embeddings_request(const Endpoint&, const json&, const Timeouts&) const {
  throw TranslationError(std::string(name()), "", "embeddings are not supported by " + std::string(name()));
}

std::string Provider::embeddings_response(const Endpoint&, std::string_view) const {
  throw TranslationError(std::string(name()), "", "embeddings are not supported by " + std::string(name()));
}

bool Provider::supports_prefill() const {
  const ProviderInfo* info = find_provider_info(name());
  return info && info->capabilities.prefill;
}

std::optional<DataUrl> parse_data_url(std::string_view url) {
  // RFC 2397: data:[<mediatype>][;param=value]*;base64,<data>. Only base64 is useful to providers.
  if (!url.starts_with("data:")) return std::nullopt;
  const auto comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(5, comma - 5);
  if (!meta.ends_with(";base64")) return std::nullopt;
  meta.remove_suffix(7);
  DataUrl out;
  out.media_type = std::string(meta.substr(0, meta.find(';')));
  if (out.media_type.empty()) out.media_type = "text/plain";
  out.data = std::string(url.substr(comma + 1));
  return out;
}

std::string path_segment(std::string_view provider, std::string_view parameter, std::string_view text,
                         std::string_view keep) {
  if (text.empty() || text == "." || text == "..")
    throw TranslationError(std::string(provider), std::string(parameter),
                           std::string(parameter) + " must not be empty, \".\" or \"..\" (it goes into the URL path)");
  return sigv4::uri_encode(text, keep);  // the encoding SigV4 signs, so Bedrock's paths match botocore's
}

std::string path_segments(std::string_view provider, std::string_view parameter, std::string_view text) {
  std::string out;
  for (std::size_t start = 0;;) {
    const auto slash = text.find('/', start);
    out += path_segment(provider, parameter, text.substr(start, slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

json parse_answer(std::string_view provider, std::string_view body) {
  JsonError error;
  json doc = parse_json(body, &error);
  if (doc.is_discarded()) throw TranslationError(std::string(provider), "", "the answer is " + error.message());
  if (!doc.is_object()) throw TranslationError(std::string(provider), "", "the answer is not a JSON object");
  return doc;
}

std::string content_text(std::string_view provider, const json& content, std::string_view separator) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw TranslationError(std::string(provider), "messages", "message content must be a string or an array of parts");
  std::string out;
  bool first = true;
  for (const auto& part : content) {
    if (!part.is_object())
      throw TranslationError(std::string(provider), "messages", "a content part must be an object");
    const auto type = part.value("type", "");
    if (type != "text" && type != "refusal") {
      throw TranslationError(std::string(provider), "messages",
                             "content part type '" + type + "' is not allowed here (text only)");
    }
    const auto key = type == "text" ? "text" : "refusal";
    if (!part.contains(key) || !part[key].is_string())
      throw TranslationError(std::string(provider), "messages", "a text part needs a string 'text'");
    if (!first) out += separator;
    out += part[key].get<std::string>();
    first = false;
  }
  return out;
}

bool include_usage(const json& openai_request) {
  auto so = openai_request.find("stream_options");
  if (so == openai_request.end() || !so->is_object()) return false;
  auto iu = so->find("include_usage");
  return iu != so->end() && iu->is_boolean() && iu->get<bool>();
}

json openai_usage(long long prompt, long long completion, long long cached, long long reasoning) {
  json u = {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  if (cached) u["prompt_tokens_details"] = {{"cached_tokens", cached}};
  if (reasoning) u["completion_tokens_details"] = {{"reasoning_tokens", reasoning}};
  return u;
}

void append_turn(nlohmann::json& messages, const std::string& role, nlohmann::json blocks) {
  if (blocks.empty()) return;
  if (!messages.empty() && messages.back()["role"] == role) {
    for (auto& b : blocks) messages.back()["content"].push_back(std::move(b));
    return;
  }
  messages.push_back({{"role", role}, {"content", std::move(blocks)}});
}

nlohmann::json tool_call_arguments(std::string_view provider, const nlohmann::json& function) {
  const std::string args = function.value("arguments", "");
  if (args.empty()) return nlohmann::json::object();
  auto input = parse_json(args);
  if (!input.is_object())
    throw TranslationError(std::string(provider), "messages",
                           "tool call arguments must be a JSON object for " + std::string(provider));
  return input;
}

}  // namespace llmfailover::providers
