// cohere_dialect.cpp — Cohere v2 chat and embed wire shapes for the fake provider.
// Shapes follow cohere-ai/cohere-python src/cohere/types (ChatResponse, the v2 stream events,
// EmbedByTypeResponse); errors are {"id", "message"}. A stream is SSE with `event:` names and a
// `type` in each data object, ending with message-end. The in-stream error is a message-end whose
// finish_reason is ERROR. A scripted tool call is message.tool_calls (finish_reason TOOL_CALL);
// streamed: tool-call-start (id, name, empty arguments), tool-call-delta pieces, tool-call-end.
#include <cmath>

#include <nlohmann/json.hpp>

#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

enum Kind : int { chat = 1, embed };

int prompt_tokens(const json& body) {
  int n = 0;
  for (const auto& m : body.value("messages", json::array())) {
    if (!m.is_object() || !m.contains("content")) continue;
    const json& c = m["content"];
    if (c.is_string()) n += count_words(c.get_ref<const std::string&>());
    else if (c.is_array()) {
      for (const auto& p : c) {
        if (p.is_object() && p.contains("text") && p["text"].is_string())
          n += count_words(p["text"].get_ref<const std::string&>());
      }
    }
  }
  return std::max(n, 1);
}

std::string frame(std::string_view type, json data) {
  data["type"] = type;
  return "event: " + std::string(type) + "\ndata: " + data.dump() + "\n\n";
}

std::string default_message(int status, std::string_view code) {
  if (code == "context_length_exceeded")
    return "too many tokens: size limit exceeded by 1000 tokens. Try using shorter or fewer inputs.";
  if (code == "content_policy_violation") return "blocked output: please adjust your prompt and try again";
  switch (status) {
    case 401: return "invalid api token";
    case 404: return "model 'unknown' not found, make sure the correct model ID was used";
    case 429: return "You are past the per minute request limit, please wait and try again later.";
    case 498: return "invalid api token";
    default:
      return status >= 500 ? "internal server error, this has been reported to our developers" : "invalid request";
  }
}

json usage(int input, int output) {
  return {{"billed_units", {{"input_tokens", input}, {"output_tokens", output}}},
          {"tokens", {{"input_tokens", input}, {"output_tokens", output}}}};
}

class CohereDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    ParsedRequest req;
    req.body = std::move(body);
    const std::string_view path = target.substr(0, target.find('?'));
    if (method != "POST" || (path != "/v2/chat" && path != "/v2/embed")) {
      req.error_status = 404;
      req.error_message = "Not Found";
      return req;
    }
    req.kind = path == "/v2/chat" ? chat : embed;
    const json j = parse_json(req.body);
    if (!j.is_object()) {
      req.error_status = 400;
      req.error_message = "invalid request: the body is not valid JSON";
      return req;
    }
    if (auto m = j.find("model"); m != j.end() && m->is_string()) req.model = m->get<std::string>();
    if (auto s = j.find("stream"); s != j.end() && s->is_boolean()) req.stream = s->get<bool>();
    if (req.kind == chat && j.contains("stream_options")) {  // the quirk the adapter must avoid
      req.error_status = 400;
      req.error_message = "invalid request: stream_options is not a valid parameter";
    } else if (req.kind == chat && (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())) {
      req.error_status = 400;
      req.error_message = "invalid request: messages must not be empty";
    } else if (req.kind == embed && !j.contains("texts") && !j.contains("inputs")) {
      req.error_status = 400;
      req.error_message = "invalid request: texts or inputs must be provided";
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    const json body = parse_json(req.body);
    if (req.kind == embed) return embeddings(body, ctx);
    const auto words = split_words(ctx.content);
    const auto& call = ctx.tool_call;
    const int input = prompt_tokens(body), output = call ? tool_call_tokens(*call) : static_cast<int>(words.size());
    const std::string id = "c0" + ctx.request_id;
    const char* finish = call ? "TOOL_CALL" : "COMPLETE";
    Reply r;
    if (!req.stream) {
      json message = {{"role", "assistant"}, {"content", json::array({{{"type", "text"}, {"text", ctx.content}}})}};
      if (call) {
        message = {
            {"role", "assistant"},
            {"tool_calls", json::array({{{"id", call->name + "_" + ctx.request_id},
                                         {"type", "function"},
                                         {"function", {{"name", call->name}, {"arguments", call->arguments}}}}})}};
      }
      r.body =
          json{{"id", id}, {"finish_reason", finish}, {"message", std::move(message)}, {"usage", usage(input, output)}}
              .dump();
      return r;
    }
    r.stream = true;
    r.content_type = "text/event-stream";
    r.frames.push_back(frame("message-start", {{"id", id},
                                               {"delta",
                                                {{"message",
                                                  {{"role", "assistant"},
                                                   {"content", json::array()},
                                                   {"tool_plan", ""},
                                                   {"tool_calls", json::array()},
                                                   {"citations", json::array()}}}}}}));
    if (call) {
      const json start = {{"id", call->name + "_" + ctx.request_id},
                          {"type", "function"},
                          {"function", {{"name", call->name}, {"arguments", ""}}}};
      r.frames.push_back(frame("tool-call-start", {{"index", 0}, {"delta", {{"message", {{"tool_calls", start}}}}}}));
      for (const auto& piece : split_arguments(call->arguments)) {
        const json delta = {{"message", {{"tool_calls", {{"function", {{"arguments", piece}}}}}}}};
        r.frames.push_back(frame("tool-call-delta", {{"index", 0}, {"delta", delta}}));
      }
      r.frames.push_back(frame("tool-call-end", {{"index", 0}}));
    } else {
      r.frames.push_back(frame(
          "content-start", {{"index", 0}, {"delta", {{"message", {{"content", {{"type", "text"}, {"text", ""}}}}}}}}));
      for (const auto& w : words) {
        r.frames.push_back(
            frame("content-delta", {{"index", 0}, {"delta", {{"message", {{"content", {{"text", w}}}}}}}}));
      }
      r.frames.push_back(frame("content-end", {{"index", 0}}));
    }
    r.frames.push_back(frame("message-end", {{"delta", {{"finish_reason", finish}, {"usage", usage(input, output)}}}}));
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message, std::string_view) const override {
    return json{{"id", "fake-error"},
                {"message", message.empty() ? default_message(status, code) : std::string(message)}}
        .dump();
  }

  std::string error_frame() const override {
    return frame("message-end", {{"delta", {{"finish_reason", "ERROR"}, {"error", "internal server error"}}}});
  }
  std::string malformed_frame() const override { return "event: content-delta\ndata: {not json\n\n"; }
  std::string done_frame() const override { return {}; }  // message-end is the last frame

  std::string default_content(std::string_view model, unsigned) const override {
    return "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
  }

 private:
  static Reply embeddings(const json& body, const ReplyContext& ctx) {
    const unsigned dims = body.contains("output_dimension") && body["output_dimension"].is_number_unsigned()
                              ? body["output_dimension"].get<unsigned>()
                              : ctx.embedding_dimensions;
    json vectors = json::array();
    int tokens = 0;
    for (const auto& t : body.value("texts", json::array())) {
      const std::string text = t.is_string() ? t.get<std::string>() : "";
      tokens += count_words(text);
      std::vector<double> v(dims);
      const std::size_t h = std::hash<std::string>{}(text);
      for (unsigned i = 0; i < dims; ++i) v[i] = std::round(std::cos(static_cast<double>(h % 1000) + i) * 1e6) / 1e6;
      vectors.push_back(v);
    }
    Reply r;
    r.body = json{{"id", "e0" + ctx.request_id},
                  {"embeddings", {{"float", vectors}}},
                  {"texts", body.value("texts", json::array())},
                  {"meta", {{"api_version", {{"version", "2"}}}, {"billed_units", {{"input_tokens", tokens}}}}},
                  {"response_type", "embeddings_by_type"}}
                 .dump();
    return r;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_cohere_dialect() { return std::make_unique<CohereDialect>(); }

}  // namespace llmfailover::testing::detail
