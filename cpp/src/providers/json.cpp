// json.cpp — parse_json: a bracket-depth pre-scan, then nlohmann's (iterative) parser.
#include "llmfailover/json.hpp"

#include <atomic>
#include <stdexcept>

namespace llmfailover {

namespace {

std::atomic<std::size_t> g_max_depth{kDefaultMaxJsonDepth};

}  // namespace

std::size_t max_json_depth() noexcept { return g_max_depth.load(std::memory_order_relaxed); }

void set_max_json_depth(std::size_t depth) {
  if (depth < 1 || depth > 10000)
    throw std::invalid_argument("JSON nesting limit must be in [1, 10000], got " + std::to_string(depth));
  g_max_depth.store(depth, std::memory_order_relaxed);
}

std::string JsonError::message() const {
  if (kind == Kind::too_deep) return "nested deeper than " + std::to_string(limit) + " levels";
  return "not valid JSON";
}

std::optional<std::size_t> find_too_deep(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

template <class Json>
Json parse_json(std::string_view text, JsonError* error, std::size_t max_depth) {
  if (auto at = find_too_deep(text, max_depth)) {
    if (error) *error = {JsonError::Kind::too_deep, *at, max_depth};
    return Json(Json::value_t::discarded);
  }
  if (!error) return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    *error = {JsonError::Kind::syntax, e.byte, max_depth};
  } catch (const nlohmann::json::exception&) {
    *error = {JsonError::Kind::syntax, 0, max_depth};
  }
  return Json(Json::value_t::discarded);
}

template nlohmann::json parse_json<nlohmann::json>(std::string_view, JsonError*, std::size_t);
template nlohmann::ordered_json parse_json<nlohmann::ordered_json>(std::string_view, JsonError*, std::size_t);

}  // namespace llmfailover
