// bedrock_request.cpp — OpenAI chat request -> Bedrock Converse request body.
// Shapes: botocore data/bedrock-runtime/2023-09-30/service-2.json (ConverseRequest, Message,
// ContentBlock, ToolConfiguration, InferenceConfiguration, OutputConfig). Blobs (image bytes) are
// base64 strings in the JSON protocol, so data: URLs pass without decoding.
#include <cctype>
#include <set>

#include "llmfailover/providers/bedrock.hpp"

namespace llmfailover::providers::bedrock {
namespace {

using nlohmann::json;

constexpr std::string_view kName = "bedrock";

[[noreturn]] void reject(std::string_view param, const std::string& message) {
  throw TranslationError(std::string(kName), std::string(param), message);
}

std::string image_format(std::string_view media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/jpeg" || media_type == "image/jpg") return "jpeg";
  if (media_type == "image/gif") return "gif";
  if (media_type == "image/webp") return "webp";
  reject("messages", "image type '" + std::string(media_type) + "' is not supported by bedrock (png, jpeg, gif, webp)");
}

std::string document_format(std::string_view media_type) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"application/pdf", "pdf"},
      {"text/csv", "csv"},
      {"text/plain", "txt"},
      {"text/html", "html"},
      {"text/markdown", "md"},
      {"application/msword", "doc"},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
      {"application/vnd.ms-excel", "xls"},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"}};
  for (const auto& [mime, format] : kTypes) {
    if (mime == media_type) return std::string(format);
  }
  reject("messages", "document type '" + std::string(media_type) + "' is not supported by bedrock");
}

// DocumentBlock.name allows alphanumerics, single spaces, hyphens, parentheses and brackets.
std::string document_name(std::string filename, int n) {
  if (const auto dot = filename.rfind('.'); dot != std::string::npos && dot > 0) filename.erase(dot);
  std::string out;
  for (char c : filename) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '(' || c == ')' || c == '[' || c == ']';
    if (ok) out.push_back(c);
    else if (!out.empty() && out.back() != ' ') out.push_back(' ');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "document " + std::to_string(n) : out;
}

json image_block(const json& part) {
  const std::string url = image_url_of(part);
  auto d = parse_data_url(url);
  if (!d) reject("messages", "image_url must be a base64 data: URL for bedrock (it takes image bytes, not URLs)");
  return {{"image", {{"format", image_format(d->media_type)}, {"source", {{"bytes", d->data}}}}}};
}

json document_block(const json& part, int& documents) {
  const json f = part.value("file", json::object());
  auto d = parse_data_url(f.value("file_data", ""));
  if (!d) reject("messages", "file parts need file_data as a base64 data: URL (file_id is OpenAI-only)");
  return {{"document",
           {{"format", document_format(d->media_type)},
            {"name", document_name(f.value("filename", ""), ++documents)},
            {"source", {{"bytes", d->data}}}}}};
}

// OpenAI user/assistant content -> Converse content blocks (empty text is skipped: Converse rejects it).
json blocks(const json& content, int& documents) {
  json out = json::array();
  for_each_content_part(kName, content, [&](const ContentPart& p) {
    if (p.type == "text") out.push_back({{"text", p.text}});
    else if (p.type == "image_url") out.push_back(image_block(p.part));
    else if (p.type == "file") out.push_back(document_block(p.part, documents));
    else return false;
    return true;
  });
  return out;
}

json tool_use_block(const json& call) {
  const json fn = call.value("function", json::object());
  json input = tool_call_arguments(kName, fn);
  return {
      {"toolUse", {{"toolUseId", call.value("id", "")}, {"name", fn.value("name", "")}, {"input", std::move(input)}}}};
}

json tool_result_block(const json& msg) {
  const json& c = msg.contains("content") ? msg["content"] : json();
  return {
      {"toolResult",
       {{"toolUseId", msg.value("tool_call_id", "")}, {"content", json::array({{{"text", content_text(kName, c)}}})}}}};
}

// Claude on Bedrock rejects a final assistant turn ending in whitespace (the prefill case).
void trim_prefill(json& messages) {
  if (messages.empty() || messages.back()["role"] != "assistant") return;
  auto& content = messages.back()["content"];
  auto& last = content.back();
  if (!last.contains("text")) return;
  std::string text = last["text"].get<std::string>();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty()) content.erase(content.size() - 1);
  else last["text"] = text;
  if (content.empty()) messages.erase(messages.size() - 1);
}

// Returns the tool names the history calls (Converse then requires a toolConfig).
std::set<std::string> translate_messages(const json& in, json& out, std::vector<std::string>& warnings) {
  if (!in.is_array() || in.empty()) reject("messages", "messages must be a non-empty array");
  json system = json::array(), messages = json::array();
  std::set<std::string> called;
  bool warned_name = false;
  int documents = 0;
  for (const auto& m : in) {
    if (!m.is_object()) reject("messages", "each message must be an object");
    const std::string role = m.value("role", "");
    const json& content = m.contains("content") ? m["content"] : json();
    if (m.contains("name") && !warned_name) {
      warnings.push_back("messages[].name is not supported by bedrock; dropped");
      warned_name = true;
    }
    if (role == "system" || role == "developer") {
      if (std::string text = content_text(kName, content, "\n"); !text.empty())
        system.push_back({{"text", std::move(text)}});
    } else if (role == "user") {
      append_turn(messages, "user", blocks(content, documents));
    } else if (role == "assistant") {
      json b = blocks(content, documents);
      if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
        for (const auto& call : m["tool_calls"]) {
          b.push_back(tool_use_block(call));
          called.insert(b.back()["toolUse"]["name"].get<std::string>());
        }
      }
      append_turn(messages, "assistant", std::move(b));
    } else if (role == "tool") {
      append_turn(messages, "user", json::array({tool_result_block(m)}));
    } else {
      reject("messages", "message role '" + role + "' is not supported by bedrock");
    }
  }
  trim_prefill(messages);
  if (messages.empty()) reject("messages", "bedrock needs at least one user or assistant message");
  if (messages.front()["role"] != "user")
    reject("messages", "bedrock needs the conversation to start with a user message");
  if (!system.empty()) out["system"] = std::move(system);
  out["messages"] = std::move(messages);
  return called;
}

json tool_choice(const json& tc) {
  if (tc.is_string()) {
    const auto s = tc.get<std::string>();
    if (s == "auto") return {{"auto", json::object()}};
    if (s == "required") return {{"any", json::object()}};
    if (s == "none") return nullptr;
  } else if (tc.is_object() && tc.contains("function") && tc["function"].is_object() &&
             tc["function"].contains("name")) {
    return {{"tool", {{"name", tc["function"]["name"]}}}};
  }
  reject("tool_choice", "tool_choice must be auto, none, required or {type: function, function: {name}}");
}

void translate_tools(const json& req, const std::set<std::string>& called, json& out,
                     std::vector<std::string>& warnings) {
  json tools = json::array();
  std::set<std::string> offered;
  if (auto t = req.find("tools"); t != req.end() && !t->is_null()) {
    if (!t->is_array()) reject("tools", "tools must be an array");
    for (const auto& tool : *t) {
      if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function")) {
        reject("tools", "only function tools are supported by bedrock");
      }
      const json& fn = tool["function"];
      json schema =
          fn.contains("parameters") ? fn["parameters"] : json{{"type", "object"}, {"properties", json::object()}};
      json spec = {{"name", fn.value("name", "")}, {"inputSchema", {{"json", std::move(schema)}}}};
      if (fn.contains("description") && fn["description"].is_string() &&
          !fn["description"].get<std::string>().empty()) {
        spec["description"] = fn["description"];
      }
      if (fn.contains("strict") && fn["strict"].is_boolean()) spec["strict"] = fn["strict"];
      offered.insert(spec["name"].get<std::string>());
      tools.push_back({{"toolSpec", std::move(spec)}});
    }
  }
  json choice;
  if (auto tc = req.find("tool_choice"); tc != req.end() && !tc->is_null()) choice = tool_choice(*tc);
  const bool none = req.contains("tool_choice") && req["tool_choice"] == "none";
  if (none && !tools.empty()) {
    if (called.empty()) return;  // no toolChoice "none" in Converse: offering no tools is the same
    warnings.push_back(
        "tool_choice none is not supported by bedrock when the conversation holds tool calls; tools stay offered");
  }
  for (const auto& name : called) {
    if (offered.count(name)) continue;
    // Converse rejects toolUse history without a toolConfig naming the tool (cross-provider failover).
    tools.push_back({{"toolSpec", {{"name", name}, {"inputSchema", {{"json", {{"type", "object"}}}}}}}});
  }
  if (tools.empty()) return;  // a tool_choice without tools means nothing
  out["toolConfig"] = {{"tools", std::move(tools)}};
  if (!choice.is_null()) out["toolConfig"]["toolChoice"] = std::move(choice);
  if (auto p = req.find("parallel_tool_calls"); p != req.end() && p->is_boolean() && !p->get<bool>()) {
    warnings.push_back("parallel_tool_calls=false is not supported by bedrock; dropped");
  }
}

void translate_response_format(const json& rf, json& out) {
  const std::string type = rf.is_object() ? rf.value("type", "") : "";
  if (type == "text" || type.empty()) return;
  if (type != "json_schema") {
    reject("response_format", "response_format type '" + type + "' is not supported by bedrock (json_schema is)");
  }
  const json js = rf.value("json_schema", json::object());
  if (!js.contains("schema")) reject("response_format", "response_format.json_schema needs a schema");
  json def = {{"schema", js["schema"].dump()}};  // JsonSchemaDefinition.schema is a string
  if (js.contains("name")) def["name"] = js["name"];
  if (js.contains("description")) def["description"] = js["description"];
  out["outputConfig"] = {{"textFormat", {{"type", "json_schema"}, {"structure", {{"jsonSchema", std::move(def)}}}}}};
}

void translate_inference(const json& req, json& out) {
  json cfg = json::object();
  const json max = req.contains("max_completion_tokens") && !req["max_completion_tokens"].is_null()
                       ? req["max_completion_tokens"]
                   : req.contains("max_tokens") ? req["max_tokens"]
                                                : json();
  if (!max.is_null()) cfg["maxTokens"] = max;
  if (auto t = req.find("temperature"); t != req.end() && !t->is_null()) cfg["temperature"] = *t;
  if (auto p = req.find("top_p"); p != req.end() && !p->is_null()) cfg["topP"] = *p;
  if (auto s = req.find("stop"); s != req.end() && !s->is_null())
    cfg["stopSequences"] = s->is_string() ? json::array({*s}) : *s;
  if (!cfg.empty()) out["inferenceConfig"] = std::move(cfg);
  if (auto n = req.find("n"); n != req.end() && n->is_number_integer() && n->get<long long>() != 1) {
    reject("n", "n must be 1 for bedrock (one choice per request)");
  }
}

bool handled(std::string_view key) {
  for (std::string_view k :
       {"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "max_tokens",
        "max_completion_tokens", "temperature", "top_p", "stop", "n", "stream", "stream_options"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

json request_body(const json& req, std::vector<std::string>& warnings) {
  if (!req.is_object()) reject("", "the request must be a JSON object");
  json out = json::object();
  const auto called = translate_messages(req.contains("messages") ? req["messages"] : json(), out, warnings);
  translate_inference(req, out);
  translate_tools(req, called, out, warnings);
  if (auto rf = req.find("response_format"); rf != req.end() && !rf->is_null()) translate_response_format(*rf, out);
  for (const auto& [key, value] : req.items()) {
    if (handled(key) || value.is_null()) continue;
    warnings.push_back(key + " is not supported by bedrock; dropped");
  }
  return out;
}

}  // namespace llmfailover::providers::bedrock
