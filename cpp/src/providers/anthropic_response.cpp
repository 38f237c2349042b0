// anthropic_response.cpp — Anthropic Message -> OpenAI ChatCompletion; stop reasons; usage.
// Field names: anthropics/anthropic-sdk-python src/anthropic/types/{message,usage,stop_reason}.py.
#include "llmfailover/providers/anthropic.hpp"

namespace llmfailover::providers::anthropic {

using nlohmann::json;

std::string_view finish_reason(std::string_view r) {
  if (r == "max_tokens" || r == "model_context_window_exceeded") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, and anything newer
}

namespace {

long long count(const json& u, const char* key) {
  auto it = u.find(key);
  return it != u.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

[[noreturn]] void misfit(const std::string& what) {
  throw TranslationError("anthropic", "", "the answer does not fit the Messages schema: " + what);
}

}  // namespace

json usage(const json& u) {
  if (!u.is_object()) return openai_usage(0, 0);
  const long long cache_read = count(u, "cache_read_input_tokens");
  const long long prompt = count(u, "input_tokens") + count(u, "cache_creation_input_tokens") + cache_read;
  json out = openai_usage(prompt, count(u, "output_tokens"));
  out["prompt_tokens_details"] = {{"cached_tokens", cache_read}};
  return out;
}

json chat_completion(const json& m, long long created) {
  if (!m.is_object()) misfit("not an object");
  if (m.value("type", "message") == "error") misfit("an error object with status 200");
  auto content = m.find("content");
  if (content == m.end() || !content->is_array()) misfit("no 'content' array");
  std::string text, thinking;
  bool has_text = false;
  json tool_calls = json::array();
  bool json_answer = false;
  for (const auto& block : *content) {
    if (!block.is_object()) misfit("a content block is not an object");
    const std::string type = block.value("type", "");
    if (type == "text") {
      if (!block.contains("text") || !block["text"].is_string()) misfit("a text block without text");
      text += block["text"].get<std::string>();
      has_text = true;
    } else if (type == "tool_use") {
      if (!block.contains("name") || !block["name"].is_string()) misfit("a tool_use block without a name");
      const json input = block.contains("input") ? block["input"] : json::object();
      if (block["name"] == kJsonTool) {  // response_format json_object (see request_body)
        text += input.dump();
        has_text = json_answer = true;
        continue;
      }
      tool_calls.push_back({{"id", block.value("id", "")},
                            {"type", "function"},
                            {"function", {{"name", block["name"]}, {"arguments", input.dump()}}}});
    } else if (type == "thinking") {  // extended thinking: reasoning_content, as DeepSeek and vLLM name it
      if (auto t = block.find("thinking"); t != block.end() && t->is_string()) thinking += t->get<std::string>();
    }
    // redacted_thinking (encrypted), server tool blocks: not part of the OpenAI message
  }
  json message = {{"role", "assistant"}, {"content", has_text ? json(text) : json()}, {"refusal", nullptr}};
  if (!thinking.empty()) message["reasoning_content"] = std::move(thinking);
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  const json& sr = m.contains("stop_reason") ? m["stop_reason"] : json();
  std::string finish(finish_reason(sr.is_string() ? sr.get<std::string>() : "end_turn"));
  if (json_answer && finish == "tool_calls") finish = "stop";
  return {{"id", m.value("id", "")},
          {"object", "chat.completion"},
          {"created", created},
          {"model", m.value("model", "")},
          {"choices",
           json::array(
               {{{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
          {"usage", usage(m.contains("usage") ? m["usage"] : json())}};
}

}  // namespace llmfailover::providers::anthropic
