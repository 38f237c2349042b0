// responses_stream.cpp — chat chunks to Responses events, and the native pass-through
// (responses_bridge.hpp). Event shapes: openai-python src/openai/types/responses/
// response_*_event.py; each event carries a sequence_number that grows by one.
#include <map>

#include "llmfailover/providers/responses_bridge.hpp"

namespace llmfailover::providers::responses {
namespace {

using nlohmann::json;

class BridgeStream final : public StreamTranslator {
 public:
  BridgeStream(std::string provider, std::unique_ptr<StreamTranslator> chat, json request)
      : provider_(std::move(provider)), chat_(std::move(chat)), request_(std::move(request)) {}

  void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& out,
              std::optional<ErrorVerdict>& error) override {
    std::vector<std::string> chunks;
    chat_->on_sse(event, data, chunks, error);
    for (const auto& c : chunks) on_chunk(c, out);
  }
  void on_bytes(std::string_view bytes, std::vector<std::string>& out, std::optional<ErrorVerdict>& error) override {
    std::vector<std::string> chunks;
    chat_->on_bytes(bytes, chunks, error);
    for (const auto& c : chunks) on_chunk(c, out);
  }
  bool wants_bytes() const override { return chat_->wants_bytes(); }

 private:
  struct Item {
    json item;              // the output item as output_item.done shows it
    std::string text;       // message: its text part so far; function_call: its arguments
    std::string part;       // message: "output_text" or "refusal" (the open part), "" when none
    std::size_t parts = 0;  // message: parts closed so far
  };

  void emit(std::vector<std::string>& out, const std::string& type, json fields) {
    fields["type"] = type;
    fields["sequence_number"] = seq_++;
    out.push_back(fields.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  void start(const json& chunk, std::vector<std::string>& out) {
    const std::string id = chunk.contains("id") && chunk["id"].is_string() ? chunk["id"].get<std::string>() : "llmf";
    const long long created =
        chunk.contains("created") && chunk["created"].is_number_integer() ? chunk["created"].get<long long>() : 0;
    std::string model = request_.value("model", "");
    if (chunk.contains("model") && chunk["model"].is_string()) model = chunk["model"];
    response_ = response_object(request_, "resp_" + id, model, created);
    id_ = id;
    started_ = true;
    emit(out, "response.created", {{"response", response_}});
    emit(out, "response.in_progress", {{"response", response_}});
  }

  Item* open_item() { return items_.empty() || closed_ == items_.size() ? nullptr : &items_.back(); }

  // Closes the open message part (text or refusal) of `m`.
  void close_part(Item& m, std::vector<std::string>& out) {
    if (m.part.empty()) return;
    const std::size_t index = items_.size() - 1;
    const std::string item_id = m.item["id"];
    json part = m.part == "refusal" ? json{{"type", "refusal"}, {"refusal", m.text}}
                                    : json{{"type", "output_text"},
                                           {"text", m.text},
                                           {"annotations", json::array()},
                                           {"logprobs", json::array()}};
    json done = {{"item_id", item_id}, {"output_index", index}, {"content_index", m.parts}};
    if (m.part == "refusal") done["refusal"] = m.text;
    else done["text"] = m.text, done["logprobs"] = json::array();
    emit(out, m.part == "refusal" ? "response.refusal.done" : "response.output_text.done", done);
    emit(out, "response.content_part.done",
         {{"item_id", item_id}, {"output_index", index}, {"content_index", m.parts}, {"part", part}});
    m.item["content"].push_back(std::move(part));
    ++m.parts;
    m.part.clear();
    m.text.clear();
  }

  void close_item(std::vector<std::string>& out) {
    Item* it = open_item();
    if (!it) return;
    const std::size_t index = items_.size() - 1;
    if (it->item["type"] == "message") {
      close_part(*it, out);
    } else {
      it->item["arguments"] = it->text;
      emit(out, "response.function_call_arguments.done",
           {{"item_id", it->item["id"]}, {"output_index", index}, {"arguments", it->text}});
    }
    it->item["status"] = "completed";
    emit(out, "response.output_item.done", {{"output_index", index}, {"item", it->item}});
    ++closed_;
  }

  void add_item(json item, std::vector<std::string>& out) {
    close_item(out);
    items_.push_back({item, "", "", 0});
    emit(out, "response.output_item.added", {{"output_index", items_.size() - 1}, {"item", std::move(item)}});
  }

  void on_text(const std::string& piece, const std::string& kind, std::vector<std::string>& out) {
    Item* m = open_item();
    if (!m || m->item["type"] != "message") {
      add_item({{"type", "message"},
                {"id", "msg_" + id_},
                {"status", "in_progress"},
                {"role", "assistant"},
                {"content", json::array()}},
               out);
      m = open_item();
    }
    const std::size_t index = items_.size() - 1;
    const std::string item_id = m->item["id"];
    if (m->part != kind) {
      close_part(*m, out);
      m->part = kind;
      json part = kind == "refusal" ? json{{"type", "refusal"}, {"refusal", ""}}
                                    : json{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}};
      emit(out, "response.content_part.added",
           {{"item_id", item_id}, {"output_index", index}, {"content_index", m->parts}, {"part", std::move(part)}});
    }
    m->text += piece;
    json delta = {{"item_id", item_id}, {"output_index", index}, {"content_index", m->parts}, {"delta", piece}};
    if (kind == "output_text") delta["logprobs"] = json::array();
    emit(out, kind == "refusal" ? "response.refusal.delta" : "response.output_text.delta", std::move(delta));
  }

  void on_tool_call(const json& call, std::vector<std::string>& out) {
    if (!call.is_object()) return;
    const int index = call.contains("index") && call["index"].is_number_integer() ? call["index"].get<int>() : 0;
    const json fn = call.value("function", json::object());
    if (!calls_.count(index)) {
      const std::string call_id = call.contains("id") && call["id"].is_string() ? call["id"].get<std::string>()
                                                                                : "call_" + std::to_string(index);
      add_item({{"type", "function_call"},
                {"id", "fc_" + call_id},
                {"call_id", call_id},
                {"name", fn.value("name", "")},
                {"arguments", ""},
                {"status", "in_progress"}},
               out);
      calls_[index] = items_.size() - 1;
    }
    const std::string args = fn.contains("arguments") && fn["arguments"].is_string() ? fn["arguments"] : "";
    Item* it = open_item();
    // Arguments for a call that is no longer the open item (interleaved calls) cannot be streamed
    // in order: the adapters send each call's arguments before the next call starts.
    if (args.empty() || !it || calls_[index] != items_.size() - 1) return;
    it->text += args;
    emit(out, "response.function_call_arguments.delta",
         {{"item_id", it->item["id"]}, {"output_index", items_.size() - 1}, {"delta", args}});
  }

  void finish(std::vector<std::string>& out) {
    if (!started_ || finish_reason_.empty() || finished_) return;  // no finish: the router sees it cut
    close_item(out);
    finished_ = true;
    json output = json::array();
    for (const auto& i : items_) output.push_back(i.item);
    response_["output"] = std::move(output);
    finish_response(response_, finish_reason_);
    if (usage_.is_object()) response_["usage"] = usage_;
    emit(out, response_["status"] == "completed" ? "response.completed" : "response.incomplete",
         {{"response", response_}});
  }

  void on_chunk(const std::string& text, std::vector<std::string>& out) {
    if (text == "[DONE]") return finish(out);
    json chunk = parse_json(text);
    if (!chunk.is_object()) throw TranslationError(provider_, "", "a chat chunk that is not a JSON object");
    if (auto e = chunk.find("error"); e != chunk.end() && !e->is_null()) {  // the router classifies it
      const json err = e->is_object() ? *e : json::object();
      emit(out, "error",
           {{"code", err.value("code", json())},
            {"message", err.value("message", json(""))},
            {"param", nullptr},
            {"error", err}});
      return;
    }
    if (!started_) start(chunk, out);
    if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) usage_ = response_usage(*u);
    auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) return;
    for (const auto& choice : *choices) {
      if (!choice.is_object() || choice.value("index", json(0)) != json(0)) continue;
      const json delta = choice.value("delta", json::object());
      if (delta.is_object()) {
        if (auto c = delta.find("content"); c != delta.end() && c->is_string() && !c->empty())
          on_text(*c, "output_text", out);
        if (auto r = delta.find("refusal"); r != delta.end() && r->is_string() && !r->empty())
          on_text(*r, "refusal", out);
        if (auto calls = delta.find("tool_calls"); calls != delta.end() && calls->is_array())
          for (const auto& call : *calls) on_tool_call(call, out);
      }
      if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string()) finish_reason_ = *f;
    }
  }

  std::string provider_;
  std::unique_ptr<StreamTranslator> chat_;
  json request_, response_, usage_;
  std::string id_, finish_reason_;
  bool started_ = false, finished_ = false;
  long long seq_ = 0;
  std::vector<Item> items_;
  std::size_t closed_ = 0;            // items_[0, closed_) are done
  std::map<int, std::size_t> calls_;  // chat tool-call index -> output index
};

class NativeStream final : public StreamTranslator {
 public:
  void on_sse(std::string_view, std::string_view data, std::vector<std::string>& out,
              std::optional<ErrorVerdict>&) override {
    if (data != "[DONE]") out.emplace_back(data);
  }
};

}  // namespace

std::unique_ptr<StreamTranslator> bridge_stream(std::string_view provider, std::unique_ptr<StreamTranslator> chat,
                                                const json& request) {
  return std::make_unique<BridgeStream>(std::string(provider), std::move(chat), request);
}

std::unique_ptr<StreamTranslator> native_stream() { return std::make_unique<NativeStream>(); }

}  // namespace llmfailover::providers::responses
