// gemini_request.cpp — OpenAI chat request -> Gemini generateContent body.
// Field names: googleapis/python-genai google/genai/types.py (Content, Part, GenerationConfig,
// FunctionCallingConfig), camelCase on the wire.
#include <cctype>
#include <map>

#include "llmfailover/providers/gemini.hpp"
#include "reasoning.hpp"

namespace llmfailover::providers::gemini {
namespace {

using nlohmann::json;

constexpr std::string_view kName = "gemini";
// Google's documented value for function calls whose signature was not produced by Gemini
// (ai.google.dev/gemini-api/docs/thought-signatures).
constexpr std::string_view kSkipSignature = "skip_thought_signature_validator";

[[noreturn]] void reject(std::string_view param, const std::string& message) {
  throw TranslationError(std::string(kName), std::string(param), message);
}

std::string mime_from_extension(std::string_view url, std::string_view fallback) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return std::string(fallback);
  std::string ext(path.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"png", "image/png"}, {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"},     {"webp", "image/webp"},
      {"gif", "image/gif"}, {"heic", "image/heic"}, {"pdf", "application/pdf"}, {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"}, {"mp4", "video/mp4"},   {"txt", "text/plain"}};
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? std::string(fallback) : it->second;
}

json media_part(const std::string& url, std::string_view fallback_mime) {
  if (auto d = parse_data_url(url)) return {{"inlineData", {{"mimeType", d->media_type}, {"data", d->data}}}};
  if (url.starts_with("http://") || url.starts_with("https://") || url.starts_with("gs://")) {
    return {{"fileData", {{"mimeType", mime_from_extension(url, fallback_mime)}, {"fileUri", url}}}};
  }
  reject("messages", "media URLs must be base64 data: URLs or http(s)/gs:// URLs for gemini");
}

json parts(const json& content) {
  json out = json::array();
  for_each_content_part(kName, content, [&](const ContentPart& p) {
    if (p.type == "text") {
      out.push_back({{"text", p.text}});
    } else if (p.type == "image_url") {
      out.push_back(media_part(image_url_of(p.part), "image/jpeg"));
    } else if (p.type == "input_audio") {
      const json a = p.part.value("input_audio", json::object());
      out.push_back(
          {{"inlineData", {{"mimeType", "audio/" + a.value("format", "wav")}, {"data", a.value("data", "")}}}});
    } else if (p.type == "file") {
      const json f = p.part.value("file", json::object());
      if (!f.contains("file_data")) reject("messages", "file parts need file_data (file_id is OpenAI-only)");
      out.push_back(media_part(f.value("file_data", ""), "application/pdf"));
    } else {
      return false;
    }
    return true;
  });
  return out;
}

json function_call_part(const json& call, bool gemini3) {
  const json fn = call.value("function", json::object());
  json args = tool_call_arguments(kName, fn);
  json part = {{"functionCall", {{"name", fn.value("name", "")}, {"args", std::move(args)}}}};
  // Google's own OpenAI-compatible endpoint carries the signature here; so does chat_completion().
  const json sig =
      call.value("extra_content", json::object()).value("google", json::object()).value("thought_signature", json());
  if (sig.is_string()) part["thoughtSignature"] = sig;
  else if (gemini3) part["thoughtSignature"] = kSkipSignature;
  return part;
}

// Tool output -> functionResponse.response, which must be an object: a JSON object as is,
// anything else as {"output": ...} (the key Google's docs name for a function's output).
json function_response(const json& content) {
  const std::string text = content_text(kName, content, "\n");
  json parsed = parse_json(text);
  if (parsed.is_object()) return parsed;
  return {{"output", parsed.is_discarded() ? json(text) : parsed}};
}

void append(json& contents, const std::string& role, json p) {
  if (p.empty()) return;
  if (!contents.empty() && contents.back()["role"] == role) {
    for (auto& x : p) contents.back()["parts"].push_back(std::move(x));
    return;
  }
  contents.push_back({{"role", role}, {"parts", std::move(p)}});
}

void translate_messages(const json& in, const std::string& model, json& out, std::vector<std::string>& warnings) {
  if (!in.is_array() || in.empty()) reject("messages", "messages must be a non-empty array");
  const bool gemini3 = model.find("gemini-3") != std::string::npos;
  json system = json::array();
  json contents = json::array();
  std::map<std::string, std::string> call_names;  // tool_call id -> function name
  bool warned_name = false;
  for (const auto& m : in) {
    if (!m.is_object()) reject("messages", "each message must be an object");
    const std::string role = m.value("role", "");
    const json& content = m.contains("content") ? m["content"] : json();
    if (m.contains("name") && !warned_name) {
      warnings.push_back("messages[].name is not supported by gemini; dropped");
      warned_name = true;
    }
    if (role == "system" || role == "developer") {
      if (auto text = content_text(kName, content, "\n"); !text.empty()) system.push_back({{"text", text}});
    } else if (role == "user") {
      append(contents, "user", parts(content));
    } else if (role == "assistant") {
      json p = parts(content);
      for (const auto& call : m.value("tool_calls", json::array())) {
        call_names[call.value("id", "")] = call.value("function", json::object()).value("name", "");
        p.push_back(function_call_part(call, gemini3));
      }
      append(contents, "model", std::move(p));
    } else if (role == "tool") {
      const std::string id = m.value("tool_call_id", "");
      auto name = call_names.find(id);
      if (name == call_names.end())
        reject("messages", "tool message with tool_call_id '" + id + "' answers no earlier tool call");
      append(contents, "user",
             json::array({{{"functionResponse", {{"name", name->second}, {"response", function_response(content)}}}}}));
    } else {
      reject("messages", "message role '" + role + "' is not supported by gemini");
    }
  }
  if (contents.empty()) reject("messages", "gemini needs at least one user or assistant message");
  if (!system.empty()) out["systemInstruction"] = {{"parts", std::move(system)}};
  out["contents"] = std::move(contents);
}

void translate_tools(const json& req, json& out) {
  if (auto t = req.find("tools"); t != req.end() && t->is_array() && !t->empty()) {
    json decls = json::array();
    for (const auto& tool : *t) {
      if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function")) {
        reject("tools", "only function tools are supported by gemini");
      }
      const json& fn = tool["function"];
      json d = {{"name", fn.value("name", "")}};
      if (fn.contains("description")) d["description"] = fn["description"];
      if (fn.contains("parameters")) d["parametersJsonSchema"] = fn["parameters"];
      decls.push_back(std::move(d));
    }
    out["tools"] = json::array({{{"functionDeclarations", std::move(decls)}}});
  }
  auto tc = req.find("tool_choice");
  if (tc == req.end() || tc->is_null()) return;
  json cfg;
  if (tc->is_string() && *tc == "auto") cfg = {{"mode", "AUTO"}};
  else if (tc->is_string() && *tc == "none") cfg = {{"mode", "NONE"}};
  else if (tc->is_string() && *tc == "required") cfg = {{"mode", "ANY"}};
  else if (tc->is_object() && tc->contains("function"))
    cfg = {{"mode", "ANY"}, {"allowedFunctionNames", json::array({(*tc)["function"].value("name", "")})}};
  else reject("tool_choice", "tool_choice must be auto, none, required or {type: function, function: {name}}");
  out["toolConfig"] = {{"functionCallingConfig", std::move(cfg)}};
}

void translate_generation(const json& req, json& out) {
  json g = json::object();
  auto copy = [&](const char* from, const char* to) {
    if (auto it = req.find(from); it != req.end() && !it->is_null()) g[to] = *it;
  };
  copy("temperature", "temperature");
  copy("top_p", "topP");
  copy("max_tokens", "maxOutputTokens");
  copy("max_completion_tokens", "maxOutputTokens");
  copy("seed", "seed");
  copy("n", "candidateCount");
  copy("presence_penalty", "presencePenalty");
  copy("frequency_penalty", "frequencyPenalty");
  if (auto s = req.find("stop"); s != req.end() && !s->is_null())
    g["stopSequences"] = s->is_string() ? json::array({*s}) : *s;
  if (auto rf = req.find("response_format"); rf != req.end() && rf->is_object()) {
    const std::string type = rf->value("type", "text");
    if (type == "json_object") {
      g["responseMimeType"] = "application/json";
    } else if (type == "json_schema") {
      const json js = rf->value("json_schema", json::object());
      if (!js.contains("schema")) reject("response_format", "response_format.json_schema needs a schema");
      g["responseMimeType"] = "application/json";
      g["responseJsonSchema"] = js["schema"];
    } else if (type != "text") {
      reject("response_format", "response_format type '" + type + "' is not supported by gemini");
    }
  }
  // reasoning_effort -> thinkingConfig (reasoning.hpp has the budgets; "none" is budget 0, which
  // Gemini 2.5 Flash takes as thinking off and 2.5 Pro refuses). Thought summaries are asked for
  // (includeThoughts) whenever the model thinks: they come back as reasoning_content.
  // https://ai.google.dev/gemini-api/docs/thinking
  if (auto e = req.find("reasoning_effort"); e != req.end() && !e->is_null()) {
    const auto budget = e->is_string() ? reasoning_budget(e->get<std::string>()) : std::nullopt;
    if (!budget) reject("reasoning_effort", "reasoning_effort must be none, minimal, low, medium or high");
    json thinking = {{"thinkingBudget", *budget}};
    if (*budget > 0) thinking["includeThoughts"] = true;
    g["thinkingConfig"] = std::move(thinking);
  }
  if (!g.empty()) out["generationConfig"] = std::move(g);
}

bool handled(std::string_view key) {
  for (std::string_view k : {"model", "messages", "tools", "tool_choice", "response_format", "max_tokens",
                             "max_completion_tokens", "temperature", "top_p", "stop", "n", "seed", "presence_penalty",
                             "frequency_penalty", "stream", "stream_options", "reasoning_effort"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

json request_body(const json& req, std::vector<std::string>& warnings) {
  if (!req.is_object()) reject("", "the request must be a JSON object");
  json out = json::object();
  translate_messages(req.contains("messages") ? req["messages"] : json(), req.value("model", ""), out, warnings);
  translate_tools(req, out);
  translate_generation(req, out);
  for (const auto& [key, value] : req.items()) {
    if (handled(key) || value.is_null()) continue;
    warnings.push_back(key + " is not supported by gemini; dropped");
  }
  return out;
}

}  // namespace llmfailover::providers::gemini
