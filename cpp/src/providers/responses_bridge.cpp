// responses_bridge.cpp — Responses requests to chat requests and chat answers to Response objects
// (responses_bridge.hpp); the stream half is responses_stream.cpp.
#include "llmfailover/providers/responses_bridge.hpp"

#include <chrono>

#include "llmfailover/providers/openai.hpp"

namespace llmfailover::providers::responses {
namespace {

using nlohmann::json;

[[noreturn]] void reject(std::string_view provider, const std::string& param, const std::string& what) {
  throw TranslationError(std::string(provider), param, what + " is not supported by " + std::string(provider));
}

// obj[key] when it is a string, `fallback` when absent or null; any other type is no value the
// Responses API has there: rejected naming the key.
std::string text_field(std::string_view provider, const json& obj, const char* key, std::string fallback = "",
                       const char* param = "input") {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string()) reject(provider, param, std::string("a '") + key + "' in " + param + " that is not a string");
  return it->get<std::string>();
}

// A message's content: a string, or input_text / output_text / input_image / input_file parts.
json chat_content(std::string_view provider, const json& content) {
  if (content.is_string() || content.is_null()) return content;
  if (!content.is_array()) reject(provider, "input", "a message content that is neither a string nor a list");
  json parts = json::array();
  for (const auto& p : content) {
    const std::string type = p.is_object() ? text_field(provider, p, "type") : "";
    if (type == "input_text" || type == "output_text" || type == "text") {
      parts.push_back({{"type", "text"}, {"text", p.value("text", "")}});
    } else if (type == "refusal") {
      parts.push_back({{"type", "text"}, {"text", p.value("refusal", "")}});
    } else if (type == "input_image") {
      if (!p.contains("image_url") || !p["image_url"].is_string())
        reject(provider, "input", "an input_image without an image_url (a file_id needs OpenAI's file store)");
      json image = {{"url", p["image_url"]}};
      if (p.contains("detail") && p["detail"].is_string()) image["detail"] = p["detail"];
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
    } else if (type == "input_file") {
      json file = json::object();
      for (const char* k : {"file_data", "file_id", "filename"})
        if (p.contains(k) && p[k].is_string()) file[k] = p[k];
      if (!file.contains("file_data")) reject(provider, "input", "an input_file without file_data");
      parts.push_back({{"type", "file"}, {"file", std::move(file)}});
    } else {
      reject(provider, "input", "the content part type '" + type + "'");
    }
  }
  return parts;
}

// A function_call_output's output: a string, or a list of parts whose text is joined.
std::string output_text(std::string_view provider, const json& output) {
  if (output.is_string()) return output.get<std::string>();
  return content_text(provider, chat_content(provider, output));
}

void add_input_item(std::string_view provider, const json& item, json& messages) {
  if (!item.is_object()) reject(provider, "input", "an input item that is not an object");
  const std::string type = text_field(provider, item, "type", item.contains("role") ? "message" : "");
  if (type == "message") {
    std::string role = text_field(provider, item, "role", "user");
    if (role == "developer") role = "system";  // the chat dialects know system, not developer
    if (role != "system" && role != "user" && role != "assistant") reject(provider, "input", "the role '" + role + "'");
    messages.push_back({{"role", role}, {"content", chat_content(provider, item.value("content", json()))}});
  } else if (type == "function_call") {
    json call = {
        {"id", text_field(provider, item, "call_id", text_field(provider, item, "id"))},
        {"type", "function"},
        {"function",
         {{"name", text_field(provider, item, "name")}, {"arguments", text_field(provider, item, "arguments", "{}")}}}};
    // Calls of one turn (and the text before them) are one assistant message in the chat form.
    if (messages.empty() || messages.back().value("role", "") != "assistant")
      messages.push_back({{"role", "assistant"}, {"content", nullptr}});
    json& last = messages.back();
    if (!last.contains("tool_calls")) last["tool_calls"] = json::array();
    last["tool_calls"].push_back(std::move(call));
  } else if (type == "function_call_output") {
    messages.push_back({{"role", "tool"},
                        {"tool_call_id", text_field(provider, item, "call_id")},
                        {"content", output_text(provider, item.value("output", json("")))}});
  } else if (type == "item_reference") {
    reject(provider, "input", "an item_reference (it names an item stored by OpenAI)");
  } else if (type == "reasoning") {
    // A previous turn's reasoning item is the model's private state: another model cannot use it.
  } else {
    reject(provider, "input", "the input item type '" + type + "'");
  }
}

json chat_tools(std::string_view provider, const json& tools) {
  if (!tools.is_array()) reject(provider, "tools", "a 'tools' value that is not a list");
  json out = json::array();
  for (const auto& t : tools) {
    const std::string type = t.is_object() ? text_field(provider, t, "type", "", "tools") : "";
    if (type != "function") reject(provider, "tools", "the built-in tool '" + type + "'");
    json fn = {{"name", text_field(provider, t, "name", "", "tools")}};
    for (const char* k : {"description", "parameters", "strict"})
      if (t.contains(k) && !t[k].is_null()) fn[k] = t[k];
    out.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return out;
}

json chat_tool_choice(std::string_view provider, const json& choice) {
  if (choice.is_string()) return choice;
  const std::string type = choice.is_object() ? text_field(provider, choice, "type", "", "tool_choice") : "";
  if (type == "function")
    return {{"type", "function"}, {"function", {{"name", text_field(provider, choice, "name", "", "tool_choice")}}}};
  reject(provider, "tool_choice", "the tool_choice type '" + type + "'");
}

void translate_text_format(std::string_view provider, const json& text, json& out, std::vector<std::string>& warnings) {
  if (!text.is_object()) return;
  if (text.contains("verbosity"))
    warnings.push_back("text.verbosity is not supported by " + std::string(provider) + "; dropped");
  auto f = text.find("format");
  if (f == text.end() || f->is_null()) return;
  if (!f->is_object()) reject(provider, "text.format", "a text.format that is not an object");
  const std::string type = text_field(provider, *f, "type", "text", "text.format");
  if (type == "text") return;
  if (type == "json_object") {
    out["response_format"] = {{"type", "json_object"}};
  } else if (type == "json_schema") {
    json schema = {{"name", text_field(provider, *f, "name", "response", "text.format")}};
    for (const char* k : {"schema", "strict", "description"})
      if (f->contains(k) && !(*f)[k].is_null()) schema[k] = (*f)[k];
    out["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(schema)}};
  } else {
    reject(provider, "text.format", "the text format '" + type + "'");
  }
}

long long count(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

}  // namespace

bool native(std::string_view provider) { return provider == "openai" || provider == "azure"; }

TranslatedRequest native_request(std::string_view provider, const Endpoint& ep, std::string method,
                                 std::string_view path, std::string body, const Timeouts& timeouts) {
  if (!native(provider))
    reject(provider, "", "the endpoint " + std::string(path) + " (OpenAI-family deployments only)");
  Upstream u;
  u.kind = upstream_kind(provider);
  u.base_url = ep.base_url.empty() && provider == "openai" ? "https://api.openai.com/v1" : ep.base_url;
  if (u.base_url.empty()) throw TranslationError(std::string(provider), "base_url", "azure needs a base_url");
  u.api_key = ep.api_key.reveal();
  u.organization = ep.organization;
  u.api_version = ep.api_version;
  u.default_headers = ep.headers;
  TranslatedRequest out;
  out.http =
      build_request(u, ApiCall{std::move(method), std::string(path), std::move(body), {}, {}, ep.model}, timeouts);
  return out;
}

std::string replace_form_field(std::string_view body, std::string_view boundary, std::string_view name,
                               std::string_view value) {
  const std::string delimiter = "\r\n--" + std::string(boundary);
  const std::string header = "name=\"" + std::string(name) + "\"";
  for (std::size_t at = body.find(header); at != std::string_view::npos; at = body.find(header, at + 1)) {
    const std::size_t part = body.rfind("--" + std::string(boundary), at);
    const std::size_t start = body.find("\r\n\r\n", at);
    if (part == std::string_view::npos || start == std::string_view::npos) break;
    if (body.substr(part, at - part).find("\r\n\r\n") != std::string_view::npos) continue;  // inside a value
    const std::size_t end = body.find(delimiter, start + 4);
    if (end == std::string_view::npos) break;
    std::string out(body.substr(0, start + 4));
    out += value;
    out += body.substr(end);
    return out;
  }
  return std::string(body);
}

std::string stateful_field(const json& request) {
  if (!request.is_object()) return {};
  for (const char* k : {"previous_response_id", "conversation", "prompt"})
    if (auto it = request.find(k); it != request.end() && !it->is_null()) return k;
  if (auto it = request.find("background"); it != request.end() && it->is_boolean() && it->get<bool>())
    return "background";
  return {};
}

json to_chat(std::string_view provider, const json& req, bool stream, std::vector<std::string>& warnings) {
  if (!req.is_object()) reject(provider, "", "a Responses request that is not a JSON object");
  if (auto field = stateful_field(req); !field.empty())
    reject(provider, field, field + " (server-side state held by OpenAI)");
  json out = {{"model", req.value("model", "")}};
  json messages = json::array();
  if (auto it = req.find("instructions"); it != req.end() && it->is_string())
    messages.push_back({{"role", "system"}, {"content", *it}});
  const json input = req.value("input", json());
  if (input.is_string()) messages.push_back({{"role", "user"}, {"content", input}});
  else if (input.is_array())
    for (const auto& item : input) add_input_item(provider, item, messages);
  else if (!input.is_null()) reject(provider, "input", "an input that is neither a string nor a list");
  out["messages"] = std::move(messages);
  if (auto it = req.find("tools"); it != req.end() && !it->is_null() && !it->empty())
    out["tools"] = chat_tools(provider, *it);
  if (auto it = req.find("tool_choice"); it != req.end() && !it->is_null())
    out["tool_choice"] = chat_tool_choice(provider, *it);
  if (auto it = req.find("text"); it != req.end()) translate_text_format(provider, *it, out, warnings);
  for (const char* k : {"temperature", "top_p", "parallel_tool_calls", "user", "top_logprobs"})
    if (auto it = req.find(k); it != req.end() && !it->is_null()) out[k] = *it;
  if (auto it = req.find("max_output_tokens"); it != req.end() && !it->is_null()) out["max_completion_tokens"] = *it;
  if (auto it = req.find("reasoning"); it != req.end() && it->is_object()) {
    if (auto e = it->find("effort"); e != it->end() && e->is_string()) out["reasoning_effort"] = *e;
    if (it->contains("summary") && !(*it)["summary"].is_null())
      warnings.push_back("reasoning.summary is not supported by " + std::string(provider) + "; dropped");
  }
  // store: a bridged answer is never stored, whatever it says (the caller keeps the full input).
  for (const char* k : {"truncation", "include", "metadata", "prompt_cache_key", "service_tier", "safety_identifier",
                        "stream_options", "max_tool_calls"})
    if (auto it = req.find(k); it != req.end() && !it->is_null())
      warnings.push_back(std::string(k) + " is not supported by " + std::string(provider) + "; dropped");
  if (stream) out["stream_options"] = {{"include_usage", true}};
  return out;
}

std::string to_response(std::string_view provider, std::string_view chat_answer, const json& req) {
  const json chat = parse_answer(provider, chat_answer);
  const json& choices = chat.contains("choices") && chat["choices"].is_array() ? chat["choices"] : json::array();
  if (choices.empty() || !choices[0].is_object())
    throw TranslationError(std::string(provider), "", "the answer has no choices");
  const json& choice = choices[0];
  const json message = choice.value("message", json::object());
  const std::string id = chat.value("id", std::string("llmf"));
  json output = json::array();
  json parts = json::array();
  if (auto c = message.find("content"); c != message.end() && c->is_string() && !c->empty())
    parts.push_back(
        {{"type", "output_text"}, {"text", *c}, {"annotations", json::array()}, {"logprobs", json::array()}});
  if (auto r = message.find("refusal"); r != message.end() && r->is_string() && !r->empty())
    parts.push_back({{"type", "refusal"}, {"refusal", *r}});
  if (!parts.empty())
    output.push_back({{"type", "message"},
                      {"id", "msg_" + id},
                      {"status", "completed"},
                      {"role", "assistant"},
                      {"content", std::move(parts)}});
  if (auto calls = message.find("tool_calls"); calls != message.end() && calls->is_array()) {
    for (const auto& c : *calls) {
      if (!c.is_object()) continue;
      const json fn = c.value("function", json::object());
      const std::string call_id = c.value("id", "");
      output.push_back({{"type", "function_call"},
                        {"id", "fc_" + call_id},
                        {"call_id", call_id},
                        {"name", fn.value("name", "")},
                        {"arguments", fn.value("arguments", "")},
                        {"status", "completed"}});
    }
  }
  json out = response_object(req, "resp_" + id, chat.value("model", req.value("model", "")),
                             chat.value("created", static_cast<long long>(0)));
  const std::string finish = choice.value("finish_reason", json("stop")).is_string() ? choice["finish_reason"] : "stop";
  finish_response(out, finish);
  out["output"] = std::move(output);
  if (auto u = chat.find("usage"); u != chat.end() && u->is_object()) out["usage"] = response_usage(*u);
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

json response_object(const json& req, const std::string& id, const std::string& model, long long created) {
  if (created == 0)
    created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  json text = {{"format", {{"type", "text"}}}};
  if (auto t = req.find("text"); t != req.end() && t->is_object() && t->contains("format")) text = *t;
  auto echo = [&](const char* key, const json& fallback) {
    auto it = req.find(key);
    return it != req.end() && !it->is_null() ? *it : fallback;
  };
  return {{"id", id},
          {"object", "response"},
          {"created_at", created},
          {"status", "in_progress"},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", echo("instructions", nullptr)},
          {"max_output_tokens", echo("max_output_tokens", nullptr)},
          {"model", model},
          {"output", json::array()},
          {"parallel_tool_calls", echo("parallel_tool_calls", true)},
          {"previous_response_id", nullptr},
          {"reasoning", echo("reasoning", json{{"effort", nullptr}, {"summary", nullptr}})},
          {"store", false},
          {"temperature", echo("temperature", 1.0)},
          {"text", std::move(text)},
          {"tool_choice", echo("tool_choice", "auto")},
          {"tools", echo("tools", json::array())},
          {"top_p", echo("top_p", 1.0)},
          {"truncation", "disabled"},
          {"usage", nullptr},
          {"user", echo("user", nullptr)},
          {"metadata", echo("metadata", json::object())}};
}

json response_usage(const json& u) {
  const long long in = count(u, "prompt_tokens"), out = count(u, "completion_tokens");
  const json none = json::object();
  const auto& pd =
      u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object() ? u["prompt_tokens_details"] : none;
  const auto& cd = u.contains("completion_tokens_details") && u["completion_tokens_details"].is_object()
                       ? u["completion_tokens_details"]
                       : none;
  const long long total = u.contains("total_tokens") ? count(u, "total_tokens") : in + out;
  return {{"input_tokens", in},
          {"input_tokens_details", {{"cached_tokens", count(pd, "cached_tokens")}, {"cache_write_tokens", 0}}},
          {"output_tokens", out},
          {"output_tokens_details", {{"reasoning_tokens", count(cd, "reasoning_tokens")}}},
          {"total_tokens", total}};
}

void finish_response(json& response, std::string_view finish_reason) {
  if (finish_reason == "length" || finish_reason == "content_filter") {
    response["status"] = "incomplete";
    response["incomplete_details"] = {{"reason", finish_reason == "length" ? "max_output_tokens" : "content_filter"}};
  } else {
    response["status"] = "completed";
  }
}

}  // namespace llmfailover::providers::responses
