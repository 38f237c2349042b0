// openai_dialect.cpp — the OpenAI (and Azure OpenAI) wire shapes for the fake provider.
// Shapes follow /work/shared/specs/openai-openapi.yaml: CreateChatCompletionResponse,
// CreateChatCompletionStreamResponse, CreateEmbeddingResponse, ListModelsResponse, ErrorResponse.
// A scripted tool call (ReplyContext::tool_call) answers as message.tool_calls / delta.tool_calls
// with finish_reason tool_calls, instead of the text.
// POST /responses answers through the Responses bridge (providers/responses_bridge.hpp): the
// request as chat, the chat reply as a Response object or as Responses events.
#include <cmath>
#include <cstdint>
#include <cstring>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/responses_bridge.hpp"
#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

enum Kind : int { unknown = 0, chat, embeddings, models, responses };

constexpr std::string_view kFiller[] = {"This",     "is",  "a",    "deterministic", "reply", "from",    "the", "fake",
                                        "provider", "for", "your", "tests",         "and",   "nothing", "more"};

// Prompt tokens ~ words of every message's text (string content or text parts).
int prompt_tokens(const json& body) {
  int n = 0;
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array()) return 1;
  for (const auto& m : *it) {
    if (!m.is_object()) continue;
    auto c = m.find("content");
    if (c == m.end()) continue;
    if (c->is_string()) n += count_words(c->get_ref<const std::string&>());
    if (c->is_array()) {
      for (const auto& part : *c) {
        if (part.is_object() && part.contains("text") && part["text"].is_string()) {
          n += count_words(part["text"].get_ref<const std::string&>());
        }
      }
    }
  }
  return std::max(n, 1);
}

json usage(int prompt, int completion) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", 0}}},
          {"completion_tokens_details",
           {{"reasoning_tokens", 0},
            {"audio_tokens", 0},
            {"accepted_prediction_tokens", 0},
            {"rejected_prediction_tokens", 0}}}};
}

std::string frame(const json& j) { return "data: " + j.dump() + "\n\n"; }

// The scripted tool call: the message's tool_calls, and the stream's deltas (id and name first,
// then the arguments in pieces), as the API streams them.
json tool_calls(const ToolCall& call, const std::string& id) {
  return json::array(
      {{{"id", id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}}});
}

std::vector<json> tool_call_deltas(const ToolCall& call, const std::string& id) {
  std::vector<json> out = {{{"role", "assistant"},
                            {"content", nullptr},
                            {"refusal", nullptr},
                            {"tool_calls", json::array({{{"index", 0},
                                                         {"id", id},
                                                         {"type", "function"},
                                                         {"function", {{"name", call.name}, {"arguments", ""}}}}})}}};
  for (auto& piece : split_arguments(call.arguments)) {
    out.push_back({{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", std::move(piece)}}}}})}});
  }
  return out;
}

Reply chat_reply(const ParsedRequest& req, const json& body, const ReplyContext& ctx) {
  int n = 1;
  if (auto it = body.find("n"); it != body.end() && it->is_number_integer()) {
    n = std::clamp(it->get<int>(), 1, 16);
  }
  const auto words = split_words(ctx.content);
  const int prompt = prompt_tokens(body);
  const auto& call = ctx.tool_call;
  const int completion = (call ? tool_call_tokens(*call) : static_cast<int>(words.size())) * n;
  const std::string id = "chatcmpl-" + ctx.request_id;
  const std::string call_id = "call_" + ctx.request_id;
  json head = {{"id", id},
               {"created", ctx.created},
               {"model", req.model},
               {"system_fingerprint", "fp_llmfailover"},
               {"service_tier", "default"}};
  Reply r;
  if (!req.stream) {
    json message = {
        {"role", "assistant"}, {"content", ctx.content}, {"refusal", nullptr}, {"annotations", json::array()}};
    if (call) message["content"] = nullptr, message["tool_calls"] = tool_calls(*call, call_id);
    json choices = json::array();
    for (int i = 0; i < n; ++i) {
      choices.push_back(
          {{"index", i}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", call ? "tool_calls" : "stop"}});
    }
    json out = head;
    out["object"] = "chat.completion";
    out["choices"] = std::move(choices);
    out["usage"] = usage(prompt, completion);
    r.body = out.dump();
    return r;
  }
  bool include_usage = false;
  if (auto so = body.find("stream_options"); so != body.end() && so->is_object()) {
    include_usage = so->value("include_usage", false);
  }
  r.stream = true;
  r.content_type = "text/event-stream; charset=utf-8";
  head["object"] = "chat.completion.chunk";
  auto push = [&](int i, json delta, json finish) {
    json chunk = head;
    chunk["choices"] = json::array(
        {{{"index", i}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}});
    if (include_usage) chunk["usage"] = nullptr;
    r.frames.push_back(frame(chunk));
  };
  if (call) {  // the deltas, then the finish in a chunk of its own
    const auto deltas = tool_call_deltas(*call, call_id);
    for (const auto& d : deltas) {
      for (int i = 0; i < n; ++i) push(i, d, nullptr);
    }
    for (int i = 0; i < n; ++i) push(i, json::object(), "tool_calls");
  }
  for (std::size_t w = 0; !call && w < words.size(); ++w) {
    for (int i = 0; i < n; ++i) {
      json delta = {{"content", words[w]}};
      if (w == 0) delta = {{"role", "assistant"}, {"content", words[w]}, {"refusal", nullptr}};
      push(i, std::move(delta), w + 1 == words.size() ? json("stop") : json());
    }
  }
  if (include_usage) {
    json last = head;
    last["choices"] = json::array();
    last["usage"] = usage(prompt, completion);
    r.frames.push_back(frame(last));
  }
  return r;
}

// The chat reply's chunks, passed to the bridge as a chat adapter's translator would.
class ChatChunks final : public providers::StreamTranslator {
 public:
  void on_sse(std::string_view, std::string_view data, std::vector<std::string>& chunks,
              std::optional<providers::ErrorVerdict>&) override {
    chunks.emplace_back(data);
  }
};

Reply responses_reply(const ParsedRequest& req, const json& body, const ReplyContext& ctx) {
  std::vector<std::string> warnings;
  json stateless = body;  // the fake keeps no state: a follow-up turn is answered as a new one
  for (const char* k : {"previous_response_id", "conversation", "background", "prompt"}) stateless.erase(k);
  const json chat = providers::responses::to_chat("openai", stateless, req.stream, warnings);
  Reply r = chat_reply(req, chat, ctx);
  if (!req.stream) {
    r.body = providers::responses::to_response("openai", r.body, body);
    return r;
  }
  auto bridge = providers::responses::bridge_stream("openai", std::make_unique<ChatChunks>(), body);
  std::vector<std::string> events;
  std::optional<providers::ErrorVerdict> error;
  for (const auto& f : r.frames) {  // "data: {...}\n\n"
    bridge->on_sse("", std::string_view(f).substr(6, f.size() - 8), events, error);
  }
  bridge->on_sse("", "[DONE]", events, error);
  r.frames.clear();
  for (const auto& e : events) {
    r.frames.push_back("event: " + parse_json(e).value("type", "") + "\ndata: " + e + "\n\n");
  }
  return r;
}

// FNV-1a of the input, then xorshift64*: same input, same vector, on every platform.
std::vector<float> embed(std::string_view text, unsigned dims) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  std::vector<float> v(dims);
  double norm = 0;
  for (auto& x : v) {
    h ^= h >> 12, h ^= h << 25, h ^= h >> 27;
    std::uint64_t r = h * 2685821657736338717ull;
    x = static_cast<float>(static_cast<double>(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

std::string base64_floats(const std::vector<float>& v) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (float f : v) {  // little-endian float32, whatever the host order
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

// The inputs as strings to hash, with their token counts; empty when `input` is invalid.
std::vector<std::pair<std::string, int>> embedding_inputs(const json& input) {
  std::vector<std::pair<std::string, int>> out;
  auto one = [&](const json& x) {
    if (x.is_string())
      out.emplace_back(x.get<std::string>(), std::max(1, count_words(x.get_ref<const std::string&>())));
    else if (x.is_array()) out.emplace_back(x.dump(), static_cast<int>(x.size()));
  };
  if (input.is_string() || (input.is_array() && !input.empty() && input[0].is_number()))
    one(input);  // one text, or one array of tokens
  else if (input.is_array())
    for (const auto& x : input) one(x);
  return out;
}

Reply embeddings_reply(const ParsedRequest& req, const json& body, const ReplyContext& ctx) {
  unsigned dims = ctx.embedding_dimensions;
  if (auto d = body.find("dimensions"); d != body.end() && d->is_number_integer()) {
    dims = static_cast<unsigned>(std::clamp(d->get<long long>(), 1LL, 8192LL));
  }
  const bool b64 = body.value("encoding_format", "float") == "base64";
  json data = json::array();
  int tokens = 0;
  int index = 0;
  for (const auto& [text, count] : embedding_inputs(body.value("input", json()))) {
    auto v = embed(text, dims);
    data.push_back(
        {{"object", "embedding"}, {"index", index++}, {"embedding", b64 ? json(base64_floats(v)) : json(v)}});
    tokens += count;
  }
  Reply r;
  r.body = json{{"object", "list"},
                {"data", std::move(data)},
                {"model", req.model},
                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}
               .dump();
  return r;
}

struct Defaults {
  const char* type;
  const char* code;  // nullptr = null
  const char* message;
};

Defaults defaults_for(int status) {
  switch (status) {
    case 400: return {"invalid_request_error", nullptr, "Bad request."};
    case 401: return {"invalid_request_error", "invalid_api_key", "Incorrect API key provided."};
    case 403: return {"invalid_request_error", "unsupported_country_region_territory", "Forbidden."};
    case 404:
      return {"invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."};
    case 408: return {"timeout", nullptr, "Request timed out."};
    case 429: return {"requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."};
    case 529: return {"overloaded_error", nullptr, "Overloaded"};
    default: break;
  }
  if (status >= 500)
    return {"server_error", nullptr, "The server had an error while processing your request. Sorry about that!"};
  return {"invalid_request_error", nullptr, "Request failed."};
}

std::string code_message(std::string_view code) {
  if (code == "context_length_exceeded") {
    return "This model's maximum context length is 128000 tokens. However, your messages resulted in "
           "131072 tokens. Please reduce the length of the messages.";
  }
  if (code == "content_policy_violation") {
    return "Your request was rejected as a result of our safety system.";
  }
  return {};
}

class OpenAiDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    ParsedRequest req;
    req.body = std::move(body);
    std::string_view path = target.substr(0, target.find('?'));
    std::string deployment;
    if (path.starts_with("/openai/deployments/")) {
      auto rest = path.substr(std::strlen("/openai/deployments/"));
      auto slash = rest.find('/');
      if (slash != std::string_view::npos) {
        deployment = std::string(rest.substr(0, slash));
        path = rest.substr(slash);
      }
    } else if (path.starts_with("/v1/")) {
      path.remove_prefix(3);
    } else if (path.starts_with("/openai/")) {  // Azure's paths outside a deployment (/openai/responses)
      path.remove_prefix(7);
    }
    if (path == "/chat/completions" && method == "POST") req.kind = chat;
    else if (path == "/embeddings" && method == "POST") req.kind = embeddings;
    else if (path == "/models" && method == "GET" && deployment.empty()) req.kind = models;
    else if (path == "/responses" && method == "POST" && deployment.empty()) req.kind = responses;
    if (req.kind == unknown) {
      req.error_status = 404;
      req.error_message = "Invalid URL (" + std::string(method) + " " + std::string(target) + ")";
      return req;
    }
    req.model = deployment;
    if (req.kind == models) return req;
    json j = parse_json(req.body);
    if (j.is_discarded() || !j.is_object()) {
      req.error_status = 400;
      req.error_message =
          "We could not parse the JSON body of your request. (HINT: This likely means you "
          "aren't using your HTTP library correctly.)";
      return req;
    }
    if (req.model.empty()) {
      if (auto m = j.find("model"); m != j.end() && m->is_string()) req.model = m->get<std::string>();
    }
    if (auto s = j.find("stream"); s != j.end() && s->is_boolean())
      req.stream = s->get<bool>() && (req.kind == chat || req.kind == responses);
    if (req.model.empty()) {
      req.error_status = 400;
      req.error_message = "you must provide a model parameter";
    } else if (req.kind == chat && !j.contains("messages")) {
      req.error_status = 400;
      req.error_message = "Missing required parameter: 'messages'.";
      req.error_param = "messages";
    } else if (req.kind == responses && !j.contains("input")) {
      req.error_status = 400;
      req.error_message = "Missing required parameter: 'input'.";
      req.error_param = "input";
    } else if (req.kind == embeddings && embedding_inputs(j.value("input", json())).empty()) {
      req.error_status = 400;
      req.error_message = "'input' must be a string, or an array of strings or token arrays.";
      req.error_param = "input";
    }
    return req;
  }

  Reply reply(const ParsedRequest& req, const ReplyContext& ctx) const override {
    if (req.kind == models) {
      json data = json::array();
      for (const auto& id : ctx.models) {
        data.push_back({{"id", id}, {"object", "model"}, {"created", 1700000000}, {"owned_by", "llmfailover"}});
      }
      Reply r;
      r.body = json{{"object", "list"}, {"data", std::move(data)}}.dump();
      return r;
    }
    json body = parse_json(req.body);
    if (req.kind == responses) {
      try {
        return responses_reply(req, body, ctx);
      } catch (const providers::TranslationError& e) {  // what the real API would refuse too
        Reply r;
        r.status = 400;
        r.body = error_body(400, "", e.what(), e.parameter());
        return r;
      }
    }
    return req.kind == chat ? chat_reply(req, body, ctx) : embeddings_reply(req, body, ctx);
  }

  std::string error_body(int status, std::string_view code, std::string_view message,
                         std::string_view param) const override {
    const Defaults d = defaults_for(status);
    std::string msg(message);
    if (msg.empty()) msg = code_message(code);
    if (msg.empty()) msg = d.message;
    json jcode = code.empty() ? (d.code ? json(d.code) : json()) : json(code);
    json jparam = param.empty() ? json() : json(param);
    if (param.empty() && code == "context_length_exceeded") jparam = "messages";
    return json{{"error", {{"message", msg}, {"type", d.type}, {"param", jparam}, {"code", jcode}}}}.dump();
  }

  std::string error_frame() const override {
    return frame({{"error",
                   {{"message", "The server had an error while processing your request."},
                    {"type", "server_error"},
                    {"param", nullptr},
                    {"code", nullptr}}}});
  }
  std::string malformed_frame() const override { return "data: {not json\n\n"; }
  std::string done_frame() const override { return "data: [DONE]\n\n"; }

  std::string default_content(std::string_view model, unsigned words) const override {
    std::string out = "Hello from " + std::string(model.empty() ? "the fake" : model) + ".";
    for (unsigned i = 3; i < words; ++i) {
      out += ' ';
      out += kFiller[(i - 3) % std::size(kFiller)];
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_openai_dialect() { return std::make_unique<OpenAiDialect>(); }

}  // namespace llmfailover::testing::detail
