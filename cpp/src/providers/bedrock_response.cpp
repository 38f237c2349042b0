// bedrock_response.cpp — Converse answer -> OpenAI ChatCompletion; stop reasons; usage; errors.
// Shapes: botocore bedrock-runtime service model (ConverseResponse, TokenUsage, StopReason and the
// operation's error shapes with their HTTP codes).
#include <cctype>

#include "llmfailover/providers/bedrock.hpp"

namespace llmfailover::providers::bedrock {

using nlohmann::json;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

long long count(const json& u, const char* key) {
  auto it = u.find(key);
  return it != u.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

[[noreturn]] void misfit(const std::string& what) {
  throw TranslationError("bedrock", "", "the answer does not fit the Converse schema: " + what);
}

// "ThrottlingException:http://internal.amazon.com/coral/..." -> "ThrottlingException".
std::string error_type(const Headers& headers, const json& doc) {
  std::string t;
  if (const auto* h = find_header(headers, "x-amzn-ErrorType")) t = *h;
  else if (doc.is_object() && doc.contains("__type") && doc["__type"].is_string()) t = doc["__type"];
  if (const auto colon = t.find(':'); colon != std::string::npos) t.erase(colon);
  if (const auto hash = t.rfind('#'); hash != std::string::npos) t.erase(0, hash + 1);
  return t;
}

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

bool context_message(std::string_view msg) {
  return contains(msg, "too long") || contains(msg, "context length") || contains(msg, "context window") ||
         contains(msg, "Input is too long") || contains(msg, "maximum context") ||
         contains(msg, "too many input tokens");
}

}  // namespace

std::string_view finish_reason(std::string_view r) {
  if (r == "tool_use") return "tool_calls";
  if (r == "max_tokens" || r == "model_context_window_exceeded") return "length";
  if (r == "guardrail_intervened" || r == "content_filtered") return "content_filter";
  if (r == "malformed_model_output" || r == "malformed_tool_use") return "";
  return "stop";  // end_turn, stop_sequence, and anything newer
}

json usage(const json& u) {
  if (!u.is_object()) return openai_usage(0, 0);
  const long long cache_read = count(u, "cacheReadInputTokens");
  const long long prompt = count(u, "inputTokens") + count(u, "cacheWriteInputTokens") + cache_read;
  return openai_usage(prompt, count(u, "outputTokens"), cache_read);
}

json chat_completion(const json& r, std::string_view model, std::string_view id, long long created) {
  const json* message = nullptr;
  if (auto o = r.find("output"); o != r.end() && o->is_object()) {
    if (auto m = o->find("message"); m != o->end() && m->is_object()) message = &*m;
  }
  if (!message) misfit("no output.message");
  auto content = message->find("content");
  if (content == message->end() || !content->is_array()) misfit("no output.message.content array");
  std::string text;
  bool has_text = false;
  json tool_calls = json::array();
  for (const auto& block : *content) {
    if (!block.is_object()) misfit("a content block is not an object");
    if (block.contains("text")) {
      if (!block["text"].is_string()) misfit("a text block without a string");
      text += block["text"].get<std::string>();
      has_text = true;
    } else if (block.contains("toolUse")) {
      const json& tu = block["toolUse"];
      if (!tu.is_object() || !tu.contains("name") || !tu["name"].is_string()) misfit("a toolUse block without a name");
      tool_calls.push_back(
          {{"id", tu.value("toolUseId", "")},
           {"type", "function"},
           {"function", {{"name", tu["name"]}, {"arguments", tu.value("input", json::object()).dump()}}}});
    }
    // reasoningContent, citationsContent, images ...: not part of the OpenAI message
  }
  const std::string stop = r.value("stopReason", "end_turn");
  const std::string finish(finish_reason(stop));
  if (finish.empty())
    throw TranslationError("bedrock", ErrorVerdict{ErrorClass::retryable, "server_error", "stopReason " + stop});
  json msg = {{"role", "assistant"}, {"content", has_text ? json(text) : json()}, {"refusal", nullptr}};
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
  return {
      {"id", id},
      {"object", "chat.completion"},
      {"created", created},
      {"model", model},
      {"choices",
       json::array({{{"index", 0}, {"message", std::move(msg)}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
      {"usage", usage(r.contains("usage") ? r["usage"] : json())}};
}

ErrorVerdict classify(int status, const Headers& headers, std::string_view body) {
  const json doc = parse_json(body);
  std::string message;
  if (doc.is_object()) {
    for (const char* key : {"message", "Message"}) {
      if (doc.contains(key) && doc[key].is_string()) message = doc[key];
    }
  }
  const std::string type = error_type(headers, doc);
  ErrorVerdict v = classify_response(status, body);
  v.message = type.empty() ? message : type + ": " + message;
  if (!type.empty()) {
    // The header names the exception: the same verdicts as inside a stream; unknown ones go by status.
    ErrorVerdict e = exception_verdict(lower_first(type), json{{"message", message}}.dump());
    if (e.reason != "unknown_exception") return e;
  }
  if (status == 424) v = {ErrorClass::retryable, "server_error", v.message};
  if (status == 400 && context_message(message)) v = {ErrorClass::fatal_request, "context_length_exceeded", v.message};
  return v;
}

ErrorVerdict exception_verdict(std::string_view type, std::string_view payload) {
  const json doc = parse_json(payload);
  std::string message;
  if (!doc.is_object()) {
    message = std::string(payload.substr(0, 300));  // not JSON (or nested too deep): its start only
  } else {
    for (const char* key : {"Message", "message"})
      if (auto it = doc.find(key); it != doc.end() && it->is_string()) message = it->get<std::string>();
  }
  message = std::string(type) + ": " + message;
  if (type == "throttlingException") return {ErrorClass::rate_limited, "rate_limited", message};
  if (type == "serviceQuotaExceededException") return {ErrorClass::rate_limited, "quota", message};
  if (type == "modelNotReadyException") return {ErrorClass::retryable, "overloaded", message};
  if (type == "serviceUnavailableException") return {ErrorClass::retryable, "overloaded", message};
  if (type == "internalServerException" || type == "modelStreamErrorException" || type == "modelErrorException" ||
      type == "modelTimeoutException") {
    return {ErrorClass::retryable, "server_error", message};
  }
  if (type == "validationException") {
    return {ErrorClass::fatal_request, context_message(message) ? "context_length_exceeded" : "bad_request", message};
  }
  if (type == "accessDeniedException" || type == "unrecognizedClientException" || type == "expiredTokenException" ||
      type == "invalidSignatureException" || type == "missingAuthenticationTokenException" ||
      type == "incompleteSignatureException") {
    return {ErrorClass::fatal_target, "auth", message};
  }
  if (type == "resourceNotFoundException") return {ErrorClass::fatal_target, "not_found", message};
  return {ErrorClass::retryable, "unknown_exception", message};
}

}  // namespace llmfailover::providers::bedrock
