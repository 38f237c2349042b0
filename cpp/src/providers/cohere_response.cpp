// cohere_response.cpp — Cohere v2 chat answer and SSE events -> OpenAI ChatCompletion and chunks.
// Shapes: cohere-ai/cohere-python src/cohere/types (ChatResponse, AssistantMessageResponse, Usage,
// ChatFinishReason, and the v2 stream events: ChatMessageStartEvent, ChatContentDeltaEvent,
// ChatToolCallStartEvent, ChatToolCallDeltaEvent, ChatMessageEndEvent).
#include <chrono>
#include <map>

#include "llmfailover/providers/common.hpp"
#include "llmfailover/providers/cohere.hpp"
#include "llmfailover/saturate.hpp"

namespace llmfailover::providers::cohere {

using nlohmann::json;

namespace {

long long count(const json& u, const char* key) {
  auto it = u.find(key);
  return it != u.end() && it->is_number() ? saturate_ll(it->get<double>()) : 0;
}

[[noreturn]] void misfit(const std::string& what) {
  throw TranslationError("cohere", "", "the answer does not fit the v2 chat schema: " + what);
}

ErrorVerdict error_finish(std::string_view finish, std::string_view message) {
  return {ErrorClass::retryable, "server_error",
          "finish_reason " + std::string(finish) + (message.empty() ? "" : ": " + std::string(message))};
}

const json& at_path(const json& j, std::initializer_list<const char*> path) {
  static const json null;
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object() || !cur->contains(key)) return null;
    cur = &(*cur)[key];
  }
  return *cur;
}

}  // namespace

std::string_view finish_reason(std::string_view f) {
  if (f == "MAX_TOKENS") return "length";
  if (f == "TOOL_CALL") return "tool_calls";
  if (f == "ERROR" || f == "TIMEOUT") return "";
  return "stop";  // COMPLETE, STOP_SEQUENCE, and anything newer
}

json usage(const json& u) {
  if (!u.is_object()) return openai_usage(0, 0);
  const json& tokens = u.contains("tokens") && u["tokens"].is_object()               ? u["tokens"]
                       : u.contains("billed_units") && u["billed_units"].is_object() ? u["billed_units"]
                                                                                     : json::object();
  return openai_usage(count(tokens, "input_tokens"), count(tokens, "output_tokens"), count(u, "cached_tokens"));
}

json chat_completion(const json& r, std::string_view model, long long created) {
  const json& message = at_path(r, {"message"});
  if (!message.is_object()) misfit("no message");
  std::string text;
  bool has_text = false;
  if (message.contains("content") && !message["content"].is_null()) {
    if (!message["content"].is_array()) misfit("message.content is not an array");
    for (const auto& part : message["content"]) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        text += part["text"].get<std::string>();
        has_text = true;
      }
      // thinking parts: not part of the OpenAI message
    }
  }
  json tool_calls = json::array();
  if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
    for (const auto& c : message["tool_calls"]) {
      const json fn = c.value("function", json::object());
      if (!fn.contains("name")) misfit("a tool call without a name");
      tool_calls.push_back({{"id", c.value("id", "")},
                            {"type", "function"},
                            {"function", {{"name", fn["name"]}, {"arguments", fn.value("arguments", "{}")}}}});
    }
  }
  const std::string cf = r.value("finish_reason", "COMPLETE");
  const std::string finish(finish_reason(cf));
  if (finish.empty()) throw TranslationError("cohere", error_finish(cf, ""));
  json msg = {{"role", "assistant"}, {"content", has_text ? json(text) : json()}, {"refusal", nullptr}};
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
  return {
      {"id", r.value("id", "")},
      {"object", "chat.completion"},
      {"created", created},
      {"model", model},
      {"choices",
       json::array({{{"index", 0}, {"message", std::move(msg)}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
      {"usage", usage(r.contains("usage") ? r["usage"] : json())}};
}

namespace {

class Stream final : public StreamTranslator {
 public:
  Stream(std::string model, bool include_usage) : model_(std::move(model)), include_usage_(include_usage) {
    created_ =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    if (done_ || data == "[DONE]" || data.empty()) return;
    const json ev = parse_answer("cohere", data);
    const std::string type = ev.value("type", std::string(event));
    if (type == "message-start") {
      id_ = ev.value("id", "");
      emit(chunks, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}});
    } else if (type == "content-delta") {
      const json& text = at_path(ev, {"delta", "message", "content", "text"});
      if (text.is_string()) emit(chunks, {{"content", text}});
    } else if (type == "tool-call-start") {
      const json& call = at_path(ev, {"delta", "message", "tool_calls"});
      const int k = static_cast<int>(tools_.size());
      tools_[int_member(ev, "index", 0)] = k;
      emit(chunks,
           {{"tool_calls",
             json::array({{{"index", k},
                           {"id", call.value("id", "")},
                           {"type", "function"},
                           {"function",
                            {{"name", at_path(call, {"function", "name"})},
                             {"arguments", call.value("function", json::object()).value("arguments", "")}}}}})}});
    } else if (type == "tool-call-delta") {
      auto t = tools_.find(int_member(ev, "index", 0));
      if (t == tools_.end()) throw TranslationError("cohere", "", "tool-call-delta before its tool-call-start");
      const json& args = at_path(ev, {"delta", "message", "tool_calls", "function", "arguments"});
      emit(
          chunks,
          {{"tool_calls",
            json::array({{{"index", t->second}, {"function", {{"arguments", args.is_string() ? args : json("")}}}}})}});
    } else if (type == "message-end") {
      message_end(ev, chunks, error);
    }
    // content-start/-end, tool-plan-delta, tool-call-end, citation-*, debug: nothing OpenAI has
  }

 private:
  json head() const {
    return {{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  void emit(std::vector<std::string>& chunks, json delta, json finish = nullptr) const {
    json c = head();
    c["choices"] = json::array(
        {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}});
    chunks.push_back(c.dump());
  }

  void message_end(const json& ev, std::vector<std::string>& chunks, std::optional<ErrorVerdict>& error) {
    const json d = ev.value("delta", json::object());
    const json& fr = at_path(d, {"finish_reason"});
    const std::string cf = fr.is_string() ? fr.get<std::string>() : "COMPLETE";
    const std::string finish(finish_reason(cf));
    if (finish.empty()) {
      const json& msg = at_path(d, {"error"});
      error = error_finish(cf, msg.is_string() ? msg.get<std::string>() : "");
      return;
    }
    emit(chunks, json::object(), finish);
    if (include_usage_) {
      json last = head();
      last["choices"] = json::array();
      last["usage"] = usage(at_path(d, {"usage"}));
      chunks.push_back(last.dump());
    }
    chunks.emplace_back("[DONE]");
    done_ = true;
  }

  std::string model_;
  bool include_usage_;
  long long created_ = 0;
  std::string id_;
  std::map<int, int> tools_;  // Cohere tool-call index -> OpenAI tool_calls index
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage) {
  return std::make_unique<Stream>(std::move(model), include_usage);
}

}  // namespace llmfailover::providers::cohere
