// anthropic_stream.cpp — Anthropic's SSE events -> OpenAI chat.completion.chunk JSON texts.
// Event shapes: anthropics/anthropic-sdk-python src/anthropic/types/raw_message_stream_event.py;
// the mapping table is drop_in.md 4.1.
#include <chrono>
#include <map>

#include "llmfailover/providers/common.hpp"
#include "llmfailover/providers/anthropic.hpp"

namespace llmfailover::providers::anthropic {
namespace {

using nlohmann::json;

class Stream final : public StreamTranslator {
 public:
  explicit Stream(bool include_usage) : include_usage_(include_usage) {
    created_ =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    if (event == "ping" || done_) return;
    if (event == "error") {
      error = classify_stream_error(data);
      return;
    }
    const json ev = parse_answer("anthropic", data);
    const std::string type = ev.value("type", std::string(event));
    if (type == "error") {
      error = classify_stream_error(data);
    } else if (type == "message_start") {
      start(ev, chunks);
    } else if (type == "content_block_start") {
      block_start(ev, chunks);
    } else if (type == "content_block_delta") {
      block_delta(ev, chunks);
    } else if (type == "message_delta") {
      message_delta(ev, chunks);
    } else if (type == "message_stop") {
      if (include_usage_) {
        json last = head();
        last["choices"] = json::array();
        last["usage"] = usage(usage_);
        chunks.push_back(last.dump());
      }
      chunks.emplace_back("[DONE]");
      done_ = true;
    }
    // content_block_stop and unknown events carry nothing OpenAI has.
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

  void start(const json& ev, std::vector<std::string>& chunks) {
    const json m = ev.value("message", json::object());
    if (!m.is_object()) throw TranslationError("anthropic", "", "message_start without a message");
    id_ = m.value("id", "");
    model_ = m.value("model", "");
    if (m.contains("usage") && m["usage"].is_object()) usage_ = m["usage"];
    emit(chunks, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}});
  }

  void block_start(const json& ev, std::vector<std::string>& chunks) {
    const json b = ev.value("content_block", json::object());
    const int index = int_member(ev, "index", 0);
    const std::string type = b.value("type", "");
    if (type == "text") {
      if (const std::string t = b.value("text", ""); !t.empty()) emit(chunks, {{"content", t}});
    } else if (type == "thinking") {
      if (const std::string t = b.value("thinking", ""); !t.empty()) emit(chunks, {{"reasoning_content", t}});
    } else if (type == "tool_use") {
      if (b.value("name", "") == kJsonTool) {
        json_blocks_[index] = true;
        json_answer_ = true;
        return;
      }
      const int k = static_cast<int>(tools_.size());
      tools_[index] = k;
      emit(chunks, {{"tool_calls", json::array({{{"index", k},
                                                 {"id", b.value("id", "")},
                                                 {"type", "function"},
                                                 {"function", {{"name", b.value("name", "")}, {"arguments", ""}}}}})}});
    }
  }

  void block_delta(const json& ev, std::vector<std::string>& chunks) {
    const json d = ev.value("delta", json::object());
    const int index = int_member(ev, "index", 0);
    const std::string type = d.value("type", "");
    if (type == "text_delta") {
      emit(chunks, {{"content", d.value("text", "")}});
    } else if (type == "thinking_delta") {  // extended thinking: reasoning_content, as in the answer
      if (const std::string t = d.value("thinking", ""); !t.empty()) emit(chunks, {{"reasoning_content", t}});
    } else if (type == "input_json_delta") {
      const std::string part = d.value("partial_json", "");
      if (json_blocks_.count(index)) {
        if (!part.empty()) emit(chunks, {{"content", part}});
      } else if (auto t = tools_.find(index); t != tools_.end()) {
        emit(chunks, {{"tool_calls", json::array({{{"index", t->second}, {"function", {{"arguments", part}}}}})}});
      } else {
        throw TranslationError("anthropic", "", "input_json_delta for a block that is not a tool_use");
      }
    }
    // signature_delta, citations_delta: not part of the OpenAI chunk
  }

  void message_delta(const json& ev, std::vector<std::string>& chunks) {
    if (ev.contains("usage") && ev["usage"].is_object()) {
      for (const auto& [k, v] : ev["usage"].items()) {
        if (!v.is_null()) usage_[k] = v;  // output_tokens is cumulative; input counts may be repeated
      }
    }
    const json d = ev.value("delta", json::object());
    const json& sr = d.contains("stop_reason") ? d["stop_reason"] : json();
    std::string finish(finish_reason(sr.is_string() ? sr.get<std::string>() : "end_turn"));
    if (json_answer_ && finish == "tool_calls") finish = "stop";
    emit(chunks, json::object(), finish);
  }

  bool include_usage_;
  long long created_ = 0;
  std::string id_, model_;
  json usage_ = json::object();
  std::map<int, int> tools_;         // Anthropic block index -> OpenAI tool_calls index
  std::map<int, bool> json_blocks_;  // blocks of the json_object tool: streamed as content
  bool json_answer_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream(bool include_usage) { return std::make_unique<Stream>(include_usage); }

}  // namespace llmfailover::providers::anthropic
