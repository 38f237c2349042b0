// bedrock_stream.cpp — ConverseStream's binary event stream -> OpenAI chat.completion.chunk texts.
// Event shapes: botocore bedrock-runtime service model (ConverseStreamOutput and its members); the
// mapping table is drop_in.md 4.4.
#include <chrono>
#include <map>

#include "llmfailover/providers/common.hpp"
#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/eventstream.hpp"

namespace llmfailover::providers::bedrock {
namespace {

using nlohmann::json;

class Stream final : public StreamTranslator {
 public:
  Stream(std::string model, bool include_usage, std::string id)
      : model_(std::move(model)), include_usage_(include_usage), id_(std::move(id)) {
    created_ =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  bool wants_bytes() const override { return true; }

  void on_bytes(std::string_view bytes, std::vector<std::string>& chunks, std::optional<ErrorVerdict>& error) override {
    std::vector<eventstream::Message> messages;
    try {
      decoder_.feed(bytes, messages);
    } catch (const eventstream::DecodeError& e) {
      throw TranslationError("bedrock", "", e.what());
    }
    for (const auto& m : messages) {
      if (error || done_) return;
      const std::string* kind = m.header(":message-type");
      if (kind && *kind == "exception") {
        const std::string* type = m.header(":exception-type");
        error = exception_verdict(type ? *type : "unknownException", m.payload);
      } else if (kind && *kind == "error") {  // the framing's own error message (headers only)
        const std::string* code = m.header(":error-code");
        const std::string* msg = m.header(":error-message");
        error = exception_verdict(code ? *code : "unknownError", json{{"message", msg ? *msg : ""}}.dump());
      } else {
        const std::string* type = m.header(":event-type");
        if (!type) throw TranslationError("bedrock", "", "an event without :event-type");
        handle(*type, m.payload, chunks, error);
      }
    }
  }

  // Decoded events, as golden fixtures list them: (event type or exception type, JSON payload).
  void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    if (!done_) handle(event, data, chunks, error);
  }

 private:
  void handle(std::string_view type, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) {
    if (type.ends_with("Exception")) {
      error = exception_verdict(type, data);
      return;
    }
    const json ev = parse_answer("bedrock", data);
    if (type == "messageStart") {
      emit(chunks, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}});
    } else if (type == "contentBlockStart") {
      block_start(ev, chunks);
    } else if (type == "contentBlockDelta") {
      block_delta(ev, chunks);
    } else if (type == "messageStop") {
      const std::string stop = ev.value("stopReason", "end_turn");
      const std::string finish(finish_reason(stop));
      if (finish.empty()) {
        error = ErrorVerdict{ErrorClass::retryable, "server_error", "stopReason " + stop};
        return;
      }
      emit(chunks, json::object(), finish);
      stopped_ = true;
    } else if (type == "metadata") {
      if (ev.contains("usage")) usage_ = ev["usage"];
      if (stopped_) finish(chunks);
    }
    // contentBlockStop and unknown events carry nothing OpenAI has.
  }

  json head() const {
    return {{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  void emit(std::vector<std::string>& chunks, json delta, json finish = nullptr) const {
    json c = head();
    c["choices"] = json::array(
        {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}});
    chunks.push_back(c.dump());
  }

  void finish(std::vector<std::string>& chunks) {
    if (include_usage_) {
      json last = head();
      last["choices"] = json::array();
      last["usage"] = usage(usage_);
      chunks.push_back(last.dump());
    }
    chunks.emplace_back("[DONE]");
    done_ = true;
  }

  void block_start(const json& ev, std::vector<std::string>& chunks) {
    const json start = ev.value("start", json::object());
    if (!start.is_object() || !start.contains("toolUse")) return;
    const json& tu = start["toolUse"];
    const int index = int_member(ev, "contentBlockIndex", 0);
    const int k = static_cast<int>(tools_.size());
    tools_[index] = k;
    emit(chunks, {{"tool_calls", json::array({{{"index", k},
                                               {"id", tu.value("toolUseId", "")},
                                               {"type", "function"},
                                               {"function", {{"name", tu.value("name", "")}, {"arguments", ""}}}}})}});
  }

  void block_delta(const json& ev, std::vector<std::string>& chunks) {
    const json d = ev.value("delta", json::object());
    const int index = int_member(ev, "contentBlockIndex", 0);
    if (d.contains("text") && d["text"].is_string()) {
      emit(chunks, {{"content", d["text"]}});
    } else if (d.contains("toolUse") && d["toolUse"].is_object()) {
      auto t = tools_.find(index);
      if (t == tools_.end())
        throw TranslationError("bedrock", "", "a toolUse delta for a block that did not start as toolUse");
      emit(chunks,
           {{"tool_calls",
             json::array({{{"index", t->second}, {"function", {{"arguments", d["toolUse"].value("input", "")}}}}})}});
    }
    // reasoningContent, citation deltas: not part of the OpenAI chunk
  }

  std::string model_;
  bool include_usage_;
  std::string id_;
  long long created_ = 0;
  eventstream::Decoder decoder_;
  json usage_ = json::object();
  std::map<int, int> tools_;  // contentBlockIndex -> OpenAI tool_calls index
  bool stopped_ = false, done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage, std::string id) {
  return std::make_unique<Stream>(std::move(model), include_usage, std::move(id));
}

}  // namespace llmfailover::providers::bedrock
