// anthropic_dialect.cpp — Anthropic's Messages API wire shapes for the fake provider.
// Shapes follow anthropics/anthropic-sdk-python src/anthropic/types (Message, RawMessageStreamEvent,
// ErrorResponse) and platform.claude.com/docs/en/api/messages-streaming (event order, ping).
// A scripted tool call is a tool_use block (stop_reason tool_use); streamed, its input arrives as
// input_json_delta pieces after a content_block_start whose input is {}.
#include <nlohmann/json.hpp>

#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

int words_in(const json& content) {
  if (content.is_string()) return count_words(content.get_ref<const std::string&>());
  int n = 0;
  if (content.is_array()) {
    for (const auto& b : content) {
      if (b.is_object() && b.contains("text") && b["text"].is_string())
        n += count_words(b["text"].get_ref<const std::string&>());
    }
  }
  return n;
}

int prompt_tokens(const json& body) {
  int n = body.contains("system") ? words_in(body["system"]) : 0;
  for (const auto& m : body.value("messages", json::array())) {
    if (m.is_object() && m.contains("content")) n += words_in(m["content"]);
  }
  return std::max(n, 1);
}

std::string frame(std::string_view event, const json& data) {
  return "event: " + std::string(event) + "\ndata: " + data.dump() + "\n\n";
}

const char* error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string default_message(int status, std::string_view code) {
  if (code == "context_length_exceeded") return "prompt is too long: 210000 tokens > 200000 maximum";
  if (code == "content_policy_violation") return "Output blocked by content filtering policy";
  switch (status) {
    case 401: return "invalid x-api-key";
    case 404: return "model: not found";
    case 429: return "Number of request tokens has exceeded your per-minute rate limit";
    case 529: return "Overloaded";
    default: return status >= 500 ? "Internal server error" : "Bad request";
  }
}

// What the fake "thinks" when extended thinking is asked, and its block's signature.
constexpr const char* kThought = "The user greets me; a short answer will do.";
constexpr const char* kSignature = "c2lnbmF0dXJlLW9mLXRoZS1mYWtl";

class AnthropicDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    ParsedRequest req;
    req.body = std::move(body);
    const std::string_view path = target.substr(0, target.find('?'));
    if (path != "/v1/messages" || method != "POST") {
      req.error_status = 404;
      req.error_message = "Not Found";
      return req;
    }
    const json j = parse_json(req.body);
    if (!j.is_object()) {
      req.error_status = 400;
      req.error_message = "The request body is not valid JSON.";
      return req;
    }
    if (auto m = j.find("model"); m != j.end() && m->is_string()) req.model = m->get<std::string>();
    if (auto s = j.find("stream"); s != j.end() && s->is_boolean()) req.stream = s->get<bool>();
    req.kind = 1;
    for (const char* field : {"model", "max_tokens", "messages"}) {
      if (!j.contains(field)) {
        req.error_status = 400;
        req.error_message = std::string(field) + ": Field required";
        return req;
      }
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    const json body = parse_json(req.body);
    const auto words = split_words(ctx.content);
    const auto& call = ctx.tool_call;
    const int input = prompt_tokens(body);
    int output = call ? tool_call_tokens(*call) : static_cast<int>(words.size());
    const std::string id = "msg_" + ctx.request_id;
    const std::string tool_id = "toolu_" + ctx.request_id;
    const char* stop_reason = call ? "tool_use" : "end_turn";
    // Extended thinking asked (thinking.type enabled): a thinking block comes first, with its
    // signature; its tokens are output tokens (Anthropic reports no separate count).
    const auto t = body.is_object() ? body.find("thinking") : body.end();
    const bool thinks = t != body.end() && t->is_object() && t->value("type", json()) == json("enabled");
    const auto thought = split_words(kThought);
    if (thinks) output += static_cast<int>(thought.size());
    const int text_index = thinks ? 1 : 0;
    json usage = {{"input_tokens", input},
                  {"output_tokens", output},
                  {"cache_creation_input_tokens", 0},
                  {"cache_read_input_tokens", 0},
                  {"service_tier", "standard"}};
    Reply r;
    if (!req.stream) {
      const json block = call ? json{{"type", "tool_use"},
                                     {"id", tool_id},
                                     {"name", call->name},
                                     {"input", parse_json(call->arguments)}}
                              : json{{"type", "text"}, {"text", ctx.content}};
      json content = json::array({block});
      if (thinks)
        content.insert(content.begin(), json{{"type", "thinking"}, {"thinking", kThought}, {"signature", kSignature}});
      r.body = json{
          {"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", req.model},
          {"content", std::move(content)},
          {"stop_reason", stop_reason},
          {"stop_sequence", nullptr},
          {"usage",
           usage}}.dump();
      return r;
    }
    r.stream = true;
    r.content_type = "text/event-stream; charset=utf-8";
    json start_usage = usage;
    start_usage["output_tokens"] = 1;
    r.frames.push_back(frame("message_start", {{"type", "message_start"},
                                               {"message",
                                                {{"id", id},
                                                 {"type", "message"},
                                                 {"role", "assistant"},
                                                 {"model", req.model},
                                                 {"content", json::array()},
                                                 {"stop_reason", nullptr},
                                                 {"stop_sequence", nullptr},
                                                 {"usage", start_usage}}}}));
    if (thinks) {
      r.frames.push_back(frame("content_block_start",
                               {{"type", "content_block_start"},
                                {"index", 0},
                                {"content_block", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}}));
      for (const auto& piece : thought)
        r.frames.push_back(
            frame("content_block_delta", {{"type", "content_block_delta"},
                                          {"index", 0},
                                          {"delta", {{"type", "thinking_delta"}, {"thinking", piece}}}}));
      r.frames.push_back(
          frame("content_block_delta", {{"type", "content_block_delta"},
                                        {"index", 0},
                                        {"delta", {{"type", "signature_delta"}, {"signature", kSignature}}}}));
      r.frames.push_back(frame("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
    }
    const json first =
        call ? json{{"type", "tool_use"}, {"id", tool_id}, {"name", call->name}, {"input", json::object()}}
             : json{{"type", "text"}, {"text", ""}};
    r.frames.push_back(frame("content_block_start",
                             {{"type", "content_block_start"}, {"index", text_index}, {"content_block", first}}));
    r.frames.push_back(frame("ping", {{"type", "ping"}}));
    const auto pieces = call ? split_arguments(call->arguments) : words;
    for (const auto& piece : pieces) {
      const json delta = call ? json{{"type", "input_json_delta"}, {"partial_json", piece}}
                              : json{{"type", "text_delta"}, {"text", piece}};
      r.frames.push_back(
          frame("content_block_delta", {{"type", "content_block_delta"}, {"index", text_index}, {"delta", delta}}));
    }
    r.frames.push_back(frame("content_block_stop", {{"type", "content_block_stop"}, {"index", text_index}}));
    r.frames.push_back(frame("message_delta", {{"type", "message_delta"},
                                               {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                                               {"usage", {{"output_tokens", output}}}}));
    r.frames.push_back(frame("message_stop", {{"type", "message_stop"}}));
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message, std::string_view) const override {
    const std::string msg = message.empty() ? default_message(status, code) : std::string(message);
    return json{
        {"type", "error"}, {"error", {{"type", error_type(status)}, {"message", msg}}}, {"request_id", "req_fake"}}
        .dump();
  }

  // Anthropic's in-stream error (the 200 stream already started): overloaded_error, as in their outages.
  std::string error_frame() const override {
    return frame("error", {{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}});
  }
  std::string malformed_frame() const override { return "event: content_block_delta\ndata: {not json\n\n"; }
  std::string done_frame() const override { return {}; }  // message_stop is the last frame

  std::string default_content(std::string_view model, unsigned) const override {
    return "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
  }
};

}  // namespace

std::unique_ptr<Dialect> make_anthropic_dialect() { return std::make_unique<AnthropicDialect>(); }

}  // namespace llmfailover::testing::detail
