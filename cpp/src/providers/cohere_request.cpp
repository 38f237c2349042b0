// cohere_request.cpp — OpenAI chat request -> Cohere v2 chat body.
// Field names: cohere-ai/cohere-python src/cohere/v2/raw_client.py (chat parameters) and
// src/cohere/types (ChatMessageV2, ToolV2, ResponseFormatV2, Content).
#include "llmfailover/providers/cohere.hpp"

namespace llmfailover::providers::cohere {
namespace {

using nlohmann::json;

constexpr std::string_view kName = "cohere";

[[noreturn]] void reject(std::string_view param, const std::string& message) {
  throw TranslationError(std::string(kName), std::string(param), message);
}

// User content: a string, or text and image_url parts (Cohere's vision models take both shapes).
json user_content(const json& content) {
  if (content.is_string()) return content;
  if (!content.is_array()) reject("messages", "message content must be a string or an array of parts");
  json out = json::array();
  const bool skip_empty_text = false;  // Cohere takes an empty text part; the others reject one
  for_each_content_part(
      kName, content,
      [&](const ContentPart& p) {
        if (p.type == "text") {
          out.push_back({{"type", "text"}, {"text", p.text}});
        } else if (p.type == "image_url") {
          json image = {{"url", image_url_of(p.part)}};
          if (const auto iu = p.part.find("image_url"); iu != p.part.end() && iu->is_object() && iu->contains("detail"))
            image["detail"] = (*iu)["detail"];
          out.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
        } else {
          return false;
        }
        return true;
      },
      skip_empty_text);
  return out;
}

json tool_call(const json& call) {
  const json fn = call.value("function", json::object());
  const std::string args = fn.value("arguments", "");  // "" (no arguments) is not JSON: Cohere wants "{}"
  return {{"id", call.value("id", "")},
          {"type", "function"},
          {"function", {{"name", fn.value("name", "")}, {"arguments", args.empty() ? "{}" : args}}}};
}

json translate_messages(const json& in, std::vector<std::string>& warnings) {
  if (!in.is_array() || in.empty()) reject("messages", "messages must be a non-empty array");
  json out = json::array();
  bool warned_name = false;
  for (const auto& m : in) {
    if (!m.is_object()) reject("messages", "each message must be an object");
    const std::string role = m.value("role", "");
    const json& content = m.contains("content") ? m["content"] : json();
    if (m.contains("name") && !warned_name) {
      warnings.push_back("messages[].name is not supported by cohere; dropped");
      warned_name = true;
    }
    if (role == "system" || role == "developer") {
      out.push_back({{"role", "system"}, {"content", content_text(kName, content, "\n")}});
    } else if (role == "user") {
      out.push_back({{"role", "user"}, {"content", user_content(content)}});
    } else if (role == "assistant") {
      json msg = {{"role", "assistant"}};
      if (std::string text = content_text(kName, content); !text.empty()) msg["content"] = std::move(text);
      if (m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
        msg["tool_calls"] = json::array();
        for (const auto& call : m["tool_calls"]) msg["tool_calls"].push_back(tool_call(call));
      }
      if (!msg.contains("content") && !msg.contains("tool_calls")) continue;  // nothing to say
      out.push_back(std::move(msg));
    } else if (role == "tool") {
      out.push_back(
          {{"role", "tool"}, {"tool_call_id", m.value("tool_call_id", "")}, {"content", content_text(kName, content)}});
    } else {
      reject("messages", "message role '" + role + "' is not supported by cohere");
    }
  }
  return out;
}

void translate_tools(const json& req, json& out, std::vector<std::string>& warnings) {
  json tools = json::array();
  if (auto t = req.find("tools"); t != req.end() && !t->is_null()) {
    if (!t->is_array()) reject("tools", "tools must be an array");
    for (const auto& tool : *t) {
      if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function")) {
        reject("tools", "only function tools are supported by cohere");
      }
      tools.push_back({{"type", "function"}, {"function", tool["function"]}});
    }
  }
  if (auto tc = req.find("tool_choice"); tc != req.end() && !tc->is_null()) {
    if (*tc == "required") out["tool_choice"] = "REQUIRED";
    else if (*tc == "none") out["tool_choice"] = "NONE";
    else if (tc->is_object() && tc->contains("function") && (*tc)["function"].is_object()) {
      // No named forcing in v2: offer only that tool, and require a call.
      const json name = (*tc)["function"].value("name", json());
      json only = json::array();
      for (const auto& t : tools) {
        if (t["function"].value("name", json()) == name) only.push_back(t);
      }
      if (only.empty()) reject("tool_choice", "tool_choice names a function that is not in tools");
      tools = std::move(only);
      out["tool_choice"] = "REQUIRED";
      warnings.push_back(
          "tool_choice naming a function is not supported by cohere; only that tool is offered, with REQUIRED");
    } else if (*tc != "auto") {
      reject("tool_choice", "tool_choice must be auto, none, required or {type: function, function: {name}}");
    }
  }
  // Cohere's strictness is per request (strict_tools), OpenAI's per function.
  bool strict = false;
  for (auto& t : tools) {
    if (t["function"].contains("strict")) {
      strict = strict || t["function"]["strict"] == true;
      t["function"].erase("strict");
    }
  }
  if (!tools.empty()) out["tools"] = std::move(tools);
  if (strict) out["strict_tools"] = true;
  if (auto p = req.find("parallel_tool_calls"); p != req.end() && p->is_boolean() && !p->get<bool>()) {
    warnings.push_back("parallel_tool_calls=false is not supported by cohere; dropped");
  }
}

void translate_response_format(const json& rf, json& out) {
  const std::string type = rf.is_object() ? rf.value("type", "") : "";
  if (type == "text" || type.empty()) return;
  if (type == "json_object") {
    out["response_format"] = {{"type", "json_object"}};
  } else if (type == "json_schema") {
    const json js = rf.value("json_schema", json::object());
    if (!js.contains("schema")) reject("response_format", "response_format.json_schema needs a schema");
    out["response_format"] = {{"type", "json_object"}, {"json_schema", js["schema"]}};
  } else {
    reject("response_format", "response_format type '" + type + "' is not supported by cohere");
  }
}

void translate_sampling(const json& req, json& out) {
  const json max = req.contains("max_completion_tokens") && !req["max_completion_tokens"].is_null()
                       ? req["max_completion_tokens"]
                   : req.contains("max_tokens") ? req["max_tokens"]
                                                : json();
  if (!max.is_null()) out["max_tokens"] = max;
  for (const auto& [from, to] : {std::pair{"temperature", "temperature"},
                                 {"top_p", "p"},
                                 {"seed", "seed"},
                                 {"frequency_penalty", "frequency_penalty"},
                                 {"presence_penalty", "presence_penalty"},
                                 {"logprobs", "logprobs"}}) {
    if (auto v = req.find(from); v != req.end() && !v->is_null()) out[to] = *v;
  }
  if (auto s = req.find("stop"); s != req.end() && !s->is_null())
    out["stop_sequences"] = s->is_string() ? json::array({*s}) : *s;
  if (auto n = req.find("n"); n != req.end() && n->is_number_integer() && n->get<long long>() != 1) {
    reject("n", "n must be 1 for cohere (one choice per request)");
  }
}

bool handled(std::string_view key) {
  for (std::string_view k : {"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
                             "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "frequency_penalty",
                             "presence_penalty", "logprobs", "stop", "n", "stream"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

json request_body(const json& req, bool stream, std::vector<std::string>& warnings) {
  if (!req.is_object()) reject("", "the request must be a JSON object");
  json out = json::object();
  out["model"] = req.value("model", "");
  out["messages"] = translate_messages(req.contains("messages") ? req["messages"] : json(), warnings);
  translate_sampling(req, out);
  translate_tools(req, out, warnings);
  if (auto rf = req.find("response_format"); rf != req.end() && !rf->is_null()) translate_response_format(*rf, out);
  if (stream) out["stream"] = true;
  for (const auto& [key, value] : req.items()) {
    if (handled(key) || value.is_null()) continue;
    // stream_options lands here too: Cohere rejects the field (usage always comes in message-end).
    warnings.push_back(key + " is not supported by cohere; dropped");
  }
  return out;
}

}  // namespace llmfailover::providers::cohere
