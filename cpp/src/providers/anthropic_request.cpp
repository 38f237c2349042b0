// anthropic_request.cpp — OpenAI chat request -> Anthropic Messages request body.
// Field names: anthropics/anthropic-sdk-python src/anthropic/types/message_create_params.py.
#include <algorithm>
#include <cctype>

#include "llmfailover/providers/anthropic.hpp"
#include "reasoning.hpp"

namespace llmfailover::providers::anthropic {
namespace {

using nlohmann::json;

constexpr std::string_view kName = "anthropic";

[[noreturn]] void reject(std::string_view param, const std::string& message) {
  throw TranslationError(std::string(kName), std::string(param), message);
}

json image_block(const json& part) {
  const std::string url = image_url_of(part);
  if (auto d = parse_data_url(url)) {
    return {{"type", "image"}, {"source", {{"type", "base64"}, {"media_type", d->media_type}, {"data", d->data}}}};
  }
  if (url.starts_with("http://") || url.starts_with("https://")) {
    return {{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
  }
  reject("messages", "image_url must be a base64 data: URL or an http(s) URL");
}

json file_block(const json& part) {
  const json f = part.value("file", json::object());
  auto d = parse_data_url(f.value("file_data", ""));
  if (!d) reject("messages", "file parts need file_data as a base64 data: URL (file_id is OpenAI-only)");
  return {{"type", "document"}, {"source", {{"type", "base64"}, {"media_type", d->media_type}, {"data", d->data}}}};
}

// OpenAI user/assistant content -> Anthropic content blocks (empty text is skipped: Anthropic rejects it).
json blocks(const json& content) {
  json out = json::array();
  for_each_content_part(kName, content, [&](const ContentPart& p) {
    if (p.type == "text") out.push_back({{"type", "text"}, {"text", p.text}});
    else if (p.type == "image_url") out.push_back(image_block(p.part));
    else if (p.type == "file") out.push_back(file_block(p.part));
    else return false;
    return true;
  });
  return out;
}

json tool_use_block(const json& call) {
  const json fn = call.value("function", json::object());
  json input = tool_call_arguments(kName, fn);
  return {
      {"type", "tool_use"}, {"id", call.value("id", "")}, {"name", fn.value("name", "")}, {"input", std::move(input)}};
}

json tool_result_block(const json& msg) {
  json block = {{"type", "tool_result"}, {"tool_use_id", msg.value("tool_call_id", "")}};
  const json& c = msg.contains("content") ? msg["content"] : json();
  block["content"] = c.is_array() ? blocks(c) : json(content_text(kName, c));
  return block;
}

// Anthropic rejects a final assistant turn ending in whitespace (the prefill case).
void trim_prefill(json& messages) {
  if (messages.empty() || messages.back()["role"] != "assistant") return;
  auto& last = messages.back()["content"].back();
  if (last.value("type", "") != "text") return;
  std::string text = last["text"].get<std::string>();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty()) messages.back()["content"].erase(messages.back()["content"].size() - 1);
  else last["text"] = text;
  if (messages.back()["content"].empty()) messages.erase(messages.size() - 1);
}

void translate_messages(const json& in, json& out, std::vector<std::string>& warnings) {
  if (!in.is_array() || in.empty()) reject("messages", "messages must be a non-empty array");
  std::string system;
  json messages = json::array();
  bool warned_name = false;
  for (const auto& m : in) {
    if (!m.is_object()) reject("messages", "each message must be an object");
    const std::string role = m.value("role", "");
    const json& content = m.contains("content") ? m["content"] : json();
    if (m.contains("name") && !warned_name) {
      warnings.push_back("messages[].name is not supported by anthropic; dropped");
      warned_name = true;
    }
    if (role == "system" || role == "developer") {
      std::string text = content_text(kName, content, "\n");
      if (!system.empty() && !text.empty()) system += "\n\n";
      system += text;
    } else if (role == "user") {
      append_turn(messages, "user", blocks(content));
    } else if (role == "assistant") {
      json b = blocks(content);
      if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
        for (const auto& call : m["tool_calls"]) b.push_back(tool_use_block(call));
      }
      append_turn(messages, "assistant", std::move(b));
    } else if (role == "tool") {
      append_turn(messages, "user", json::array({tool_result_block(m)}));
    } else {
      reject("messages", "message role '" + role + "' is not supported by anthropic");
    }
  }
  trim_prefill(messages);
  if (messages.empty()) reject("messages", "anthropic needs at least one user or assistant message");
  if (!system.empty()) out["system"] = system;
  out["messages"] = std::move(messages);
}

json tool_choice(const json& tc) {
  if (tc.is_string()) {
    const auto s = tc.get<std::string>();
    if (s == "auto") return {{"type", "auto"}};
    if (s == "none") return {{"type", "none"}};
    if (s == "required") return {{"type", "any"}};
  } else if (tc.is_object() && tc.contains("function") && tc["function"].contains("name")) {
    return {{"type", "tool"}, {"name", tc["function"]["name"]}};
  }
  reject("tool_choice", "tool_choice must be auto, none, required or {type: function, function: {name}}");
}

void translate_tools(const json& req, json& out, std::vector<std::string>& warnings) {
  if (auto t = req.find("tools"); t != req.end() && !t->is_null()) {
    json tools = json::array();
    for (const auto& tool : *t) {
      if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function")) {
        reject("tools", "only function tools are supported by anthropic");
      }
      const json& fn = tool["function"];
      json schema =
          fn.contains("parameters") ? fn["parameters"] : json{{"type", "object"}, {"properties", json::object()}};
      json a = {{"name", fn.value("name", "")}, {"input_schema", std::move(schema)}};
      if (fn.contains("description")) a["description"] = fn["description"];
      if (fn.contains("strict")) warnings.push_back("tools[].function.strict is not supported by anthropic; dropped");
      tools.push_back(std::move(a));
    }
    if (!tools.empty()) out["tools"] = std::move(tools);
  }
  if (auto tc = req.find("tool_choice"); tc != req.end() && !tc->is_null()) out["tool_choice"] = tool_choice(*tc);
  if (auto p = req.find("parallel_tool_calls"); p != req.end() && p->is_boolean() && !p->get<bool>()) {
    if (!out.contains("tool_choice")) out["tool_choice"] = {{"type", "auto"}};
    if (out["tool_choice"]["type"] != "none") out["tool_choice"]["disable_parallel_tool_use"] = true;
  }
}

void translate_response_format(const json& rf, json& out) {
  const std::string type = rf.is_object() ? rf.value("type", "") : "";
  if (type == "text" || type.empty()) return;
  if (type == "json_schema") {
    const json js = rf.value("json_schema", json::object());
    if (!js.contains("schema")) reject("response_format", "response_format.json_schema needs a schema");
    out["output_config"] = {{"format", {{"type", "json_schema"}, {"schema", js["schema"]}}}};
  } else if (type == "json_object") {
    // No JSON mode: force a tool whose input is the object; chat_completion() turns it back into content.
    if (!out.contains("tools")) out["tools"] = json::array();
    out["tools"].push_back({{"name", kJsonTool},
                            {"description", "Answer with a JSON object."},
                            {"input_schema", {{"type", "object"}, {"additionalProperties", true}}}});
    if (!out.contains("tool_choice") || out["tool_choice"]["type"] == "auto")
      out["tool_choice"] = {{"type", "tool"}, {"name", kJsonTool}};
  } else {
    reject("response_format", "response_format type '" + type + "' is not supported by anthropic");
  }
}

// Sampling and limits.
void translate_sampling(const json& req, json& out, std::vector<std::string>& warnings) {
  json max = req.contains("max_completion_tokens") && !req["max_completion_tokens"].is_null()
                 ? req["max_completion_tokens"]
             : req.contains("max_tokens") && !req["max_tokens"].is_null() ? req["max_tokens"]
                                                                          : json(kDefaultMaxTokens);
  out["max_tokens"] = max;
  if (auto t = req.find("temperature"); t != req.end() && t->is_number()) {
    double v = t->get<double>();
    if (v > 1) {
      warnings.push_back("temperature " + t->dump() + " is above anthropic's maximum of 1; clamped to 1");
      v = 1;
    }
    out["temperature"] = v;
  }
  if (auto p = req.find("top_p"); p != req.end() && !p->is_null()) out["top_p"] = *p;
  if (auto s = req.find("stop"); s != req.end() && !s->is_null()) {
    out["stop_sequences"] = s->is_string() ? json::array({*s}) : *s;
  }
  if (auto n = req.find("n"); n != req.end() && n->is_number_integer() && n->get<long long>() != 1) {
    reject("n", "n must be 1 for anthropic (one choice per request)");
  }
  if (auto u = req.find("user"); u != req.end() && u->is_string()) out["metadata"] = {{"user_id", *u}};
}

// reasoning_effort -> extended thinking (reasoning.hpp has the budgets). Anthropic's constraints
// (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking): budget_tokens at least
// 1,024 and below max_tokens, which counts the thinking too (as OpenAI's max_completion_tokens
// counts reasoning tokens); no temperature or top_k change, top_p only from 0.95 to 1; no forced
// tool use. Without a caller's limit, max_tokens grows by the budget so the answer keeps its room.
void translate_reasoning(const json& req, json& out, std::vector<std::string>& warnings) {
  auto e = req.find("reasoning_effort");
  if (e == req.end() || e->is_null()) return;
  const auto mapped = e->is_string() ? reasoning_budget(e->get<std::string>()) : std::nullopt;
  if (!mapped) reject("reasoning_effort", "reasoning_effort must be none, minimal, low, medium or high");
  long long budget = *mapped;
  if (budget == 0) return;  // none: Claude thinks only when asked to
  if (auto tc = out.find("tool_choice"); tc != out.end() && (*tc)["type"] != "auto" && (*tc)["type"] != "none") {
    warnings.push_back("reasoning_effort is not supported by anthropic with a forced tool choice; dropped");
    return;
  }
  const bool limited = (req.contains("max_completion_tokens") && !req["max_completion_tokens"].is_null()) ||
                       (req.contains("max_tokens") && !req["max_tokens"].is_null());
  if (!out["max_tokens"].is_number_integer()) return;  // the caller's odd limit: Anthropic will say
  const long long max = out["max_tokens"].get<long long>();
  if (!limited) {
    out["max_tokens"] = max + budget;
  } else if (max <= kMinThinkingBudget) {
    warnings.push_back("reasoning_effort needs max_tokens above anthropic's minimum thinking budget of 1024; dropped");
    return;
  } else {
    budget = std::min(budget, max - 1);
  }
  if (out.contains("temperature")) {
    out.erase("temperature");
    warnings.push_back("temperature is not supported by anthropic with extended thinking; dropped");
  }
  if (auto p = out.find("top_p"); p != out.end() && (!p->is_number() || p->get<double>() < 0.95)) {
    out.erase("top_p");
    warnings.push_back("top_p below 0.95 is not supported by anthropic with extended thinking; dropped");
  }
  out["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
}

// Parameters handled above, or only meaningful to our own layers.
bool handled(std::string_view key) {
  for (std::string_view k : {"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
                             "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "n", "user",
                             "stream", "stream_options", "reasoning_effort"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

json request_body(const json& req, bool stream, std::vector<std::string>& warnings) {
  if (!req.is_object()) reject("", "the request must be a JSON object");
  json out = json::object();
  out["model"] = req.value("model", "");
  translate_messages(req.contains("messages") ? req["messages"] : json(), out, warnings);
  translate_sampling(req, out, warnings);
  translate_tools(req, out, warnings);
  if (auto rf = req.find("response_format"); rf != req.end() && !rf->is_null()) translate_response_format(*rf, out);
  translate_reasoning(req, out, warnings);
  if (stream) out["stream"] = true;
  for (const auto& [key, value] : req.items()) {
    if (handled(key) || value.is_null()) continue;
    warnings.push_back(key + " is not supported by anthropic; dropped");
  }
  return out;
}

}  // namespace llmfailover::providers::anthropic
