#include "stream_inspect.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include "llmfailover/json.hpp"  // parse_json: nlohmann with a nesting limit
#include "llmfailover/json_scan.hpp"

namespace llmfailover {

namespace {

bool non_empty(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_string()) return !it->get_ref<const std::string&>().empty();
  if (it->is_array() || it->is_object()) return !it->empty();
  return true;
}

// A choice's "index"; 0 when absent. An index that is not a number (a string "0", a null) is no
// choice the caller asked for: -1 (reading it with json::value() would throw on the io thread).
std::int64_t choice_index(const nlohmann::json& choice) {
  auto it = choice.find("index");
  if (it == choice.end()) return 0;
  return it->is_number_integer() ? it->get<std::int64_t>() : -1;
}

}  // namespace

namespace {

// The integers read_usage looks at, as read from the object (nullopt: absent or not an integer).
enum UsageField : std::size_t {
  field_completion,
  field_output,
  field_total,
  field_prompt,
  field_input,
  field_prompt_cached,         // prompt_tokens_details.cached_tokens
  field_completion_reasoning,  // completion_tokens_details.reasoning_tokens
  field_input_cached,          // input_tokens_details.cached_tokens
  field_output_reasoning,      // output_tokens_details.reasoning_tokens
  usage_fields
};
using UsageCounts = std::array<std::optional<std::int64_t>, usage_fields>;

Usage usage_of(const UsageCounts& c) {
  Usage u;
  u.completion = c[field_completion] ? c[field_completion] : c[field_output];
  u.total = c[field_total];
  u.prompt = c[field_prompt] ? c[field_prompt] : c[field_input];  // input_tokens: the Responses API's name
  if (!u.total) u.total = u.prompt.value_or(0) + u.completion.value_or(0);
  u.cached = c[field_prompt_cached] ? c[field_prompt_cached] : c[field_input_cached];  // Responses API names second
  u.reasoning = c[field_completion_reasoning] ? c[field_completion_reasoning] : c[field_output_reasoning];
  return u;
}

// A cursor over JSON text a validating scan already accepted: only what scan_usage needs.
struct UsageCursor {
  std::string_view t;
  std::size_t i = 0;
  bool unsure = false;

  static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void ws() {
    while (i < t.size() && space(t[i])) ++i;
  }
  bool at(char c) {
    ws();
    return i < t.size() && t[i] == c;
  }
  // The string at i (its opening quote): its raw characters; `escaped` when it has a backslash.
  std::string_view string(bool& escaped) {
    const std::size_t open = ++i;
    escaped = false;
    while (i < t.size() && t[i] != '"') {
      if (t[i] == '\\') {
        escaped = true;
        ++i;
      }
      ++i;
    }
    const std::size_t close = std::min(i, t.size());
    i = std::min(close + 1, t.size());  // past the closing quote
    return t.substr(open, close - open);
  }
  void skip_value() {  // any one value (brackets inside strings do not count)
    ws();
    if (i >= t.size()) return;
    bool escaped = false;
    if (t[i] == '"') {
      string(escaped);
      return;
    }
    if (t[i] == '{' || t[i] == '[') {
      int depth = 0;
      while (i < t.size()) {
        const char c = t[i];
        if (c == '"') {
          string(escaped);
          continue;
        }
        ++i;
        if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) return;
      }
      return;
    }
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !space(t[i])) ++i;  // a number, a literal
  }
  // nlohmann's is_number_integer() and get<int64_t>: a number without fraction or exponent.
  std::optional<std::int64_t> integer() {
    ws();
    const std::size_t start = i;
    skip_value();
    const std::string_view v = t.substr(start, i - start);
    if (v.empty() || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) return std::nullopt;  // no number
    if (v.find_first_of(".eE") != std::string_view::npos) return std::nullopt;             // a float
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || end != v.data() + v.size()) unsure = true;  // beyond int64: nlohmann's own rules
    return out;
  }
  // Reads an object's members, calling member(key) with i at each value (which it must consume).
  template <class F>
  void object(F&& member) {
    ++i;  // '{'
    if (at('}')) {
      ++i;
      return;
    }
    while (!unsure && i < t.size()) {
      if (!at('"')) {
        unsure = true;
        return;
      }
      bool escaped = false;
      const std::string_view key = string(escaped);
      if (escaped) unsure = true;  // it may spell a key read here
      if (!at(':')) unsure = true;
      ++i;
      if (unsure) return;
      member(key);
      if (at(',')) {
        ++i;
        continue;
      }
      if (at('}')) ++i;
      else unsure = true;
      return;
    }
  }
};

}  // namespace

Usage read_usage(const nlohmann::json& usage) {
  auto count = [&](const char* key) -> std::optional<std::int64_t> {
    auto it = usage.find(key);  // a null or a string where a count belongs is no count
    if (it == usage.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  auto detail = [&](const char* object, const char* key) -> std::optional<std::int64_t> {
    auto it = usage.find(object);
    if (it == usage.end() || !it->is_object()) return std::nullopt;
    auto v = it->find(key);
    if (v == it->end() || !v->is_number_integer()) return std::nullopt;
    return v->get<std::int64_t>();
  };
  UsageCounts c;
  c[field_completion] = count("completion_tokens");
  c[field_output] = count("output_tokens");
  c[field_total] = count("total_tokens");
  c[field_prompt] = count("prompt_tokens");
  c[field_input] = count("input_tokens");
  c[field_prompt_cached] = detail("prompt_tokens_details", "cached_tokens");
  c[field_completion_reasoning] = detail("completion_tokens_details", "reasoning_tokens");
  c[field_input_cached] = detail("input_tokens_details", "cached_tokens");
  c[field_output_reasoning] = detail("output_tokens_details", "reasoning_tokens");
  return usage_of(c);
}

std::optional<ScannedUsage> scan_usage(std::string_view value) {
  UsageCursor cur{value};
  if (!cur.at('{')) return ScannedUsage{};  // not an object: no counts (read_usage is not asked)
  static constexpr std::array<std::string_view, 5> kCounts = {"completion_tokens", "output_tokens", "total_tokens",
                                                              "prompt_tokens", "input_tokens"};
  struct Detail {
    std::string_view object, key;
    UsageField field;
  };
  static constexpr std::array<Detail, 4> kDetails = {
      {{"prompt_tokens_details", "cached_tokens", field_prompt_cached},
       {"completion_tokens_details", "reasoning_tokens", field_completion_reasoning},
       {"input_tokens_details", "cached_tokens", field_input_cached},
       {"output_tokens_details", "reasoning_tokens", field_output_reasoning}}};
  UsageCounts c;
  unsigned seen = 0;  // the members read here met so far: a second one is unsure (nlohmann keeps the last)
  auto once = [&](unsigned bit) {
    if (seen & bit) cur.unsure = true;
    seen |= bit;
  };
  cur.object([&](std::string_view key) {
    for (std::size_t k = 0; k < kCounts.size(); ++k)
      if (key == kCounts[k]) {
        once(1U << k);
        c[k] = cur.integer();
        return;
      }
    for (std::size_t d = 0; d < kDetails.size(); ++d)
      if (key == kDetails[d].object) {
        once(1U << (kCounts.size() + d));
        if (!cur.at('{')) return cur.skip_value();  // not an object: no detail
        bool inner_seen = false;
        cur.object([&](std::string_view inner) {
          if (inner != kDetails[d].key) return cur.skip_value();
          if (inner_seen) cur.unsure = true;
          inner_seen = true;
          c[kDetails[d].field] = cur.integer();
        });
        return;
      }
    cur.skip_value();
  });
  if (cur.unsure) return std::nullopt;
  return ScannedUsage{true, usage_of(c)};
}

ChunkKind StreamInspector::inspect(std::string_view data) {
  if (responses_) last_event_.reset();
  if (responses_ && data == "[DONE]") return ChunkKind::meta;  // not the Responses API's end: completed is
  if (data == "[DONE]") {
    done_ = true;
    return ChunkKind::done;
  }
  if (!responses_ && scan_)
    if (auto scan = scan_chunk(data, max_json_depth())) return inspect_scanned(data, *scan);
  auto doc = parse_json(data);
  if (doc.is_discarded() || !doc.is_object()) {
    ++malformed_;
    return ChunkKind::malformed;
  }
  if (responses_) {
    last_event_ = std::move(doc);
    return inspect_event(*last_event_);
  }
  if (doc.contains("error") && !doc["error"].is_null()) return ChunkKind::error;
  if (auto u = doc.find("usage"); u != doc.end() && u->is_object()) {
    const auto usage = read_usage(*u);
    usage_total_ = usage.total;
    if (usage.completion) completion_tokens_ = usage.completion;
    usage_ = usage;
  }
  ChunkKind kind = ChunkKind::meta;
  last_text_.clear();
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array()) return kind;
  for (const auto& choice : *choices) {
    if (!choice.is_object()) continue;
    if (non_empty(choice, "finish_reason")) finished_ = true;
    if (auto t = choice.find("text");
        t != choice.end() && t->is_string() && !t->get_ref<const std::string&>().empty()) {
      content_chars_ += t->get_ref<const std::string&>().size();  // a legacy /completions chunk
      kind = ChunkKind::content;
    }
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    if (auto c = delta->find("content"); c != delta->end() && c->is_string()) {
      const auto& piece = c->get_ref<const std::string&>();
      content_chars_ += piece.size();
      if (choice_index(choice) == 0) {
        last_text_ += piece;
        text_ += piece;
      }
    }
    if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array()) {
      for (const auto& call : *calls) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
        if (auto a = call["function"].find("arguments"); a != call["function"].end() && a->is_string())
          tool_chars_ += a->get_ref<const std::string&>().size();
      }
    }
    if (non_empty(*delta, "content") || non_empty(*delta, "tool_calls") || non_empty(*delta, "refusal") ||
        non_empty(*delta, "function_call"))
      kind = ChunkKind::content;
  }
  return kind;
}

ChunkKind StreamInspector::inspect_scanned(std::string_view data, ChunkScan& scan) {
  if (scan.usage.found()) {
    auto u = parse_json(data.substr(scan.usage.begin, scan.usage.end - scan.usage.begin));
    if (u.is_object()) {
      const auto usage = read_usage(u);
      usage_total_ = usage.total;
      if (usage.completion) completion_tokens_ = usage.completion;
      usage_ = usage;
    }
  }
  finished_ = finished_ || scan.finished;
  content_chars_ += scan.content_chars;
  tool_chars_ += scan.tool_chars;
  text_ += scan.text;
  last_text_ = std::move(scan.text);
  return scan.content ? ChunkKind::content : ChunkKind::meta;
}

ChunkKind StreamInspector::inspect_event(const nlohmann::json& doc) {
  auto t = doc.find("type");
  if (t == doc.end() && doc.contains("error") && !doc["error"].is_null()) return ChunkKind::error;  // chat-style
  if (t == doc.end() || !t->is_string()) {
    ++malformed_;
    return ChunkKind::malformed;
  }
  const std::string& type = t->get_ref<const std::string&>();
  event_type_ = type;
  last_text_.clear();
  if (type == "error" || type == "response.failed") return ChunkKind::error;
  if (auto r = doc.find("response"); r != doc.end() && r->is_object()) {
    if (auto id = r->find("id"); id != r->end() && id->is_string()) response_id_ = id->get<std::string>();
    if (auto c = r->find("conversation"); c != r->end() && c->is_object())
      if (auto id = c->find("id"); id != c->end() && id->is_string()) conversation_id_ = id->get<std::string>();
    if (auto u = r->find("usage"); u != r->end() && u->is_object()) {
      const auto usage = read_usage(*u);
      usage_total_ = usage.total;
      if (usage.completion) completion_tokens_ = usage.completion;
    }
  }
  if (type == "response.completed" || type == "response.incomplete") {
    finished_ = true;
    return ChunkKind::meta;
  }
  if (type.size() > 6 && type.compare(type.size() - 6, 6, ".delta") == 0) {
    auto d = doc.find("delta");
    if (d == doc.end() || !d->is_string()) return ChunkKind::meta;  // audio and other non-text deltas
    const auto& piece = d->get_ref<const std::string&>();
    if (piece.empty()) return ChunkKind::meta;
    if (type == "response.output_text.delta") {
      content_chars_ += piece.size();
      last_text_ = piece;
      text_ += piece;
    } else {
      tool_chars_ += piece.size();
    }
    return ChunkKind::content;
  }
  if (type == "response.output_item.added") {
    auto item = doc.find("item");
    const std::string kind = item != doc.end() && item->is_object() ? item->value("type", "") : "";
    if (!kind.empty() && kind != "message" && kind != "reasoning") return ChunkKind::content;  // a tool call
  }
  return ChunkKind::meta;
}

providers::ErrorVerdict StreamInspector::error_verdict(std::string_view data) const {
  return responses_ ? classify_event_error(data) : providers::classify_stream_error(data);
}

providers::ErrorVerdict classify_event_error(std::string_view data) {
  auto doc = parse_json(data);
  if (!doc.is_object()) return providers::classify_stream_error(data);
  nlohmann::json err = doc.contains("error") && doc["error"].is_object() ? doc["error"] : doc;
  if (auto r = doc.find("response");
      r != doc.end() && r->is_object() && r->contains("error") && (*r)["error"].is_object())
    err = (*r)["error"];  // response.failed
  if (err.contains("code") && err["code"].is_string() && !err.contains("type")) {
    const std::string code = err["code"];  // the Responses API names its errors by code
    if (code == "rate_limit_exceeded") err["type"] = "rate_limit_error";
    else if (code.starts_with("invalid_") || code == "context_length_exceeded") err["type"] = "invalid_request_error";
  }
  return providers::classify_stream_error(nlohmann::json{{"error", err}}.dump());
}

std::string strip_content_prefix(std::string_view data, std::size_t n) {
  auto doc = parse_json(data);
  if (!doc.is_object() || !doc.contains("choices") || !doc["choices"].is_array()) return std::string(data);
  for (auto& choice : doc["choices"]) {
    if (!choice.is_object() || choice_index(choice) != 0) continue;
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    auto content = delta->find("content");
    if (content == delta->end() || !content->is_string()) continue;
    const auto& text = content->get_ref<const std::string&>();
    *content = text.substr(std::min(n, text.size()));
  }
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::pair<int, std::string> verdict_answer(std::string_view provider, const providers::ErrorVerdict& verdict) {
  int status = 502;
  const char* type = "api_error";
  switch (verdict.cls) {
    case ErrorClass::fatal_request: status = 400, type = "invalid_request_error"; break;
    case ErrorClass::fatal_target: status = 401, type = "authentication_error"; break;
    case ErrorClass::rate_limited: status = 429, type = "rate_limit_error"; break;
    default: status = verdict.reason == "overloaded" ? 529 : 502; break;
  }
  std::string message(provider);
  message += ": " + (verdict.message.empty() ? verdict.reason : verdict.message);
  if (verdict.message.rfind(std::string(provider) + ":", 0) == 0) message = verdict.message;  // named already
  const nlohmann::json body = {
      {"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", verdict.reason}}}};
  return {status,
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};  // upstream text may not be UTF-8
}

std::vector<Event> degraded_events(const std::string& text, bool stream, const std::string& model) {
  using nlohmann::json;
  long created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<Event> out;
  Headers h{{"content-type", stream ? "text/event-stream" : "application/json"}, {"x-llmfailover-degraded", "true"}};
  out.push_back(Event::head(200, h));
  if (!stream) {
    json body = {
        {"id", "llmfailover-degraded"},
        {"object", "chat.completion"},
        {"created", created},
        {"model", model},
        {"choices", json::array({{{"index", 0},
                                  {"finish_reason", "stop"},
                                  {"logprobs", nullptr},
                                  {"message", {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}}}}})}};
    out.push_back(Event::body(body.dump()));
  } else {
    auto chunk = [&](json delta, json finish) {
      json c = {{"id", "llmfailover-degraded"},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices",
                 json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}};
      return Event::sse("", c.dump());
    };
    out.push_back(chunk({{"role", "assistant"}, {"content", text}}, nullptr));
    out.push_back(chunk(json::object(), "stop"));
    out.push_back(Event::sse("", "[DONE]"));
  }
  out.push_back(Event::end());
  return out;
}

}  // namespace llmfailover
