// common.cpp — the helpers of common.hpp.
#include "llmfailover/providers/common.hpp"

#include <chrono>
#include <cstdint>
#include <limits>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers {

using nlohmann::json;

void set_header(Headers& headers, std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

void merge_headers(Headers& headers, const Headers& extra) {
  for (const auto& h : extra) set_header(headers, h.name, h.value);
}

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int int_member(const json& obj, const char* key, int fallback) {
  if (!obj.is_object()) return fallback;
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return fallback;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    return v <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ? static_cast<int>(v) : fallback;
  }
  const auto v = it->get<std::int64_t>();
  return v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max() ? static_cast<int>(v) : fallback;
}

void for_each_content_part(std::string_view provider, const json& content,
                           const std::function<bool(const ContentPart&)>& visit, bool skip_empty_text) {
  if (content.is_null()) return;
  if (content.is_string()) {
    const auto& text = content.get_ref<const std::string&>();
    if (!(skip_empty_text && text.empty())) visit(ContentPart{"text", content, text});
    return;
  }
  if (!content.is_array())
    throw TranslationError(std::string(provider), "messages", "message content must be a string or an array of parts");
  for (const auto& part : content) {
    const std::string type = part.is_object() ? part.value("type", "") : "";
    if (type == "text" || type == "refusal") {
      std::string text = content_text(provider, json::array({part}));
      if (skip_empty_text && text.empty()) continue;
      visit(ContentPart{"text", part, std::move(text)});
    } else if (!visit(ContentPart{type, part, {}})) {
      throw TranslationError(std::string(provider), "messages",
                             "content part type '" + type + "' is not supported by " + std::string(provider));
    }
  }
}

std::string image_url_of(const json& part) {
  const json& iu = part.contains("image_url") ? part["image_url"] : json();
  return iu.is_object() ? iu.value("url", "") : iu.is_string() ? iu.get<std::string>() : "";
}

}  // namespace llmfailover::providers
