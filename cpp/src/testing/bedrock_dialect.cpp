// bedrock_dialect.cpp — Amazon Bedrock runtime wire shapes for the fake provider: Converse (JSON),
// ConverseStream (application/vnd.amazon.eventstream binary frames) and InvokeModel embeddings
// (Titan, Cohere embed). Shapes follow botocore's bedrock-runtime service model; errors carry
// `__type` in the body, which botocore reads when the x-amzn-ErrorType header is absent.
// In a stream, the error event is a `:message-type exception` frame (modelStreamErrorException)
// and the malformed frame has a bad message CRC. Requests are not authenticated. A scripted tool
// call is a toolUse block (stopReason tool_use); streamed, contentBlockStart names it and
// contentBlockDelta toolUse.input pieces carry its arguments.
#include <cmath>

#include <nlohmann/json.hpp>

#include "dialect.hpp"
#include "llmfailover/providers/eventstream.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;
namespace es = providers::eventstream;

enum Kind : int { converse = 1, converse_stream, invoke };

int prompt_tokens(const json& body) {
  int n = 0;
  auto blocks = [&](const json& content) {
    if (!content.is_array()) return;
    for (const auto& b : content) {
      if (b.is_object() && b.contains("text") && b["text"].is_string())
        n += count_words(b["text"].get_ref<const std::string&>());
    }
  };
  blocks(body.value("system", json::array()));
  for (const auto& m : body.value("messages", json::array())) {
    if (m.is_object()) blocks(m.value("content", json::array()));
  }
  return std::max(n, 1);
}

// One ConverseStream event frame; "p" is the padding AWS adds to hide payload sizes.
std::string event(std::string_view type, json payload) {
  payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";
  return es::encode(
      {{":event-type", std::string(type)}, {":content-type", "application/json"}, {":message-type", "event"}},
      payload.dump());
}

const char* error_type(int status, std::string_view code) {
  if (code == "context_length_exceeded" || code == "content_policy_violation") return "ValidationException";
  switch (status) {
    case 400: return "ValidationException";
    case 401: return "UnrecognizedClientException";
    case 403: return "AccessDeniedException";
    case 404: return "ResourceNotFoundException";
    case 408: return "ModelTimeoutException";
    case 424: return "ModelErrorException";
    case 429: return "ThrottlingException";
    case 503:
    case 529: return "ServiceUnavailableException";
    default: return status >= 500 ? "InternalServerException" : "ValidationException";
  }
}

std::string default_message(int status, std::string_view code) {
  if (code == "context_length_exceeded") return "Input is too long for requested model.";
  if (code == "content_policy_violation") return "The request was blocked by the content filters.";
  switch (status) {
    case 401: return "The security token included in the request is invalid.";
    case 403: return "You don't have access to the model with the specified model ID.";
    case 404: return "The provided model identifier is invalid.";
    case 429: return "Too many requests, please wait before trying again.";
    case 503:
    case 529: return "Bedrock is unable to process your request.";
    default:
      return status >= 500 ? "The system encountered an unexpected error during processing. Try your request again."
                           : "Malformed input request.";
  }
}

std::vector<double> vector_for(const std::string& text, unsigned dims) {
  std::vector<double> v(dims);
  std::size_t h = std::hash<std::string>{}(text);
  for (unsigned i = 0; i < dims; ++i) v[i] = std::round(std::sin(static_cast<double>(h % 1000) + i) * 1e6) / 1e6;
  return v;
}

class BedrockDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    ParsedRequest req;
    req.body = std::move(body);
    const std::string_view path = target.substr(0, target.find('?'));
    const auto slash = path.rfind('/');
    const std::string_view action = path.substr(slash + 1);
    if (method != "POST" || !path.starts_with("/model/") || slash <= 7) {
      req.error_status = 404;
      req.error_message = "Not Found";
      return req;
    }
    req.model = percent_decode(path.substr(7, slash - 7));
    if (action == "converse") req.kind = converse;
    else if (action == "converse-stream") req.kind = converse_stream, req.stream = true;
    else if (action == "invoke") req.kind = invoke;
    else {
      req.error_status = 404;
      req.error_message = "Unknown operation " + std::string(action);
      return req;
    }
    const json j = parse_json(req.body);
    if (!j.is_object()) {
      req.error_status = 400;
      req.error_message = "Malformed input request, please reformat your input and try again.";
    } else if (req.kind != invoke && (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())) {
      req.error_status = 400;
      req.error_message =
          "A conversation must start with a user message. Try again with a conversation that starts with a user "
          "message.";
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    const json body = parse_json(req.body);
    if (req.kind == invoke) return embeddings(body, ctx);
    const auto words = split_words(ctx.content);
    const auto& call = ctx.tool_call;
    const int input = prompt_tokens(body), output = call ? tool_call_tokens(*call) : static_cast<int>(words.size());
    const json usage = {{"inputTokens", input}, {"outputTokens", output}, {"totalTokens", input + output}};
    const std::string tool_id = "tooluse_" + ctx.request_id;
    const char* stop_reason = call ? "tool_use" : "end_turn";
    Reply r;
    if (!req.stream) {
      const json block =
          call ? json{{"toolUse",
                       {{"toolUseId", tool_id}, {"name", call->name}, {"input", parse_json(call->arguments)}}}}
               : json{{"text", ctx.content}};
      r.body = json{{"output", {{"message", {{"role", "assistant"}, {"content", json::array({block})}}}}},
                    {"stopReason", stop_reason},
                    {"usage", usage},
                    {"metrics", {{"latencyMs", 12}}}}
                   .dump();
      return r;
    }
    r.stream = true;
    r.content_type = "application/vnd.amazon.eventstream";
    r.frames.push_back(event("messageStart", {{"role", "assistant"}}));
    if (call) {
      r.frames.push_back(
          event("contentBlockStart",
                {{"contentBlockIndex", 0}, {"start", {{"toolUse", {{"toolUseId", tool_id}, {"name", call->name}}}}}}));
    }
    for (const auto& piece : call ? split_arguments(call->arguments) : words) {
      const json delta = call ? json{{"toolUse", {{"input", piece}}}} : json{{"text", piece}};
      r.frames.push_back(event("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", delta}}));
    }
    r.frames.push_back(event("contentBlockStop", {{"contentBlockIndex", 0}}));
    r.frames.push_back(event("messageStop", {{"stopReason", stop_reason}}));
    r.frames.push_back(event("metadata", {{"usage", usage}, {"metrics", {{"latencyMs", 12}}}}));
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message, std::string_view) const override {
    const std::string msg = message.empty() ? default_message(status, code) : std::string(message);
    return json{{"__type", error_type(status, code)}, {"message", msg}}.dump();
  }

  std::string error_frame() const override {
    return es::encode({{":exception-type", "modelStreamErrorException"},
                       {":content-type", "application/json"},
                       {":message-type", "exception"}},
                      json{{"message", "The model stream failed."}, {"originalStatusCode", 500}}.dump());
  }

  std::string malformed_frame() const override {
    std::string f = event("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", " garbled"}}}});
    f.back() = static_cast<char>(f.back() ^ 0x5a);  // the message CRC no longer matches
    return f;
  }

  std::string done_frame() const override { return {}; }  // the stream ends after `metadata`

  std::string default_content(std::string_view model, unsigned) const override {
    return "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
  }

 private:
  static Reply embeddings(const json& body, const ReplyContext& ctx) {
    Reply r;
    const unsigned dims = body.contains("dimensions") && body["dimensions"].is_number_unsigned()
                              ? body["dimensions"].get<unsigned>()
                              : ctx.embedding_dimensions;
    if (body.contains("inputText")) {  // Titan text embeddings
      const std::string text = body.value("inputText", "");
      r.body =
          json{{"embedding", vector_for(text, dims)}, {"inputTextTokenCount", std::max(count_words(text), 1)}}.dump();
    } else {  // Cohere embed
      json vectors = json::array();
      for (const auto& t : body.value("texts", json::array()))
        vectors.push_back(vector_for(t.is_string() ? t.get<std::string>() : "", dims));
      r.body = json{{"id", ctx.request_id},
                    {"embeddings", {{"float", vectors}}},
                    {"texts", body.value("texts", json::array())},
                    {"response_type", "embeddings_by_type"}}
                   .dump();
    }
    return r;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_bedrock_dialect() { return std::make_unique<BedrockDialect>(); }

}  // namespace llmfailover::testing::detail
