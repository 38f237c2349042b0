// routed_responses.cpp — a routed call on the Responses API and the other OpenAI endpoints:
// the request per target (native for OpenAI-family deployments, bridged to the chat dialect of
// the others: providers/responses_bridge.hpp), the answer as the caller gets it, and the pinning
// of calls that depend on server-side state to the target that holds it (response_affinity.hpp).
#include "llmfailover/providers/responses_bridge.hpp"
#include "routed_call_impl.hpp"

namespace llmfailover {

namespace {

namespace responses = providers::responses;
using nlohmann::json;

// Endpoints only OpenAI-family deployments serve; their bodies pass through.
bool native_only_path(const std::string& path) {
  for (std::string_view p :
       {"/completions", "/moderations", "/images/generations", "/images/edits", "/images/variations", "/audio/speech",
        "/audio/transcriptions", "/audio/translations", "/responses/input_tokens"})
    if (path == p) return true;
  return false;
}

// "/responses/{id}", "/responses/{id}/cancel", "/responses/{id}/input_items": the id, else "".
std::string stateful_path_id(const std::string& path) {
  const std::string prefix = "/responses/";
  if (!path.starts_with(prefix) || path == "/responses/input_tokens") return {};
  return path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size());
}

// The boundary of a multipart/form-data Content-Type, "" for any other.
std::string multipart_boundary(const Headers& headers) {
  for (const auto& h : headers) {
    if (!iequals(h.name, "content-type") || h.value.find("multipart/form-data") == std::string::npos) continue;
    const auto at = h.value.find("boundary=");
    if (at == std::string::npos) return {};
    std::string b = h.value.substr(at + 9, h.value.find(';', at) - at - 9);
    if (b.size() >= 2 && b.front() == '"' && b.back() == '"') b = b.substr(1, b.size() - 2);
    return b;
  }
  return {};
}

constexpr const char* kBridged = "bridged:";  // affinity entries of answers that hold no state

}  // namespace

bool RoutedCallImpl::pin_stateful() {
  std::string id = stateful_path_id(req_.call.path), why;
  if (!id.empty()) {
    why = req_.call.method + " " + req_.call.path;
  } else if (req_.call.path == "/responses") {
    const std::string field = responses::stateful_field(body_);
    if (field == "previous_response_id" && body_[field].is_string()) id = body_[field];
    if (field == "conversation") {
      const json& c = body_[field];
      id = c.is_string() ? c.get<std::string>() : c.is_object() ? c.value("id", "") : "";
    }
    if (id.empty()) return true;  // background, prompt: a new response, on an OpenAI-family target
    why = field + " '" + id + "'";
  } else {
    return true;
  }
  auto held = r_->affinity.find(id);
  auto fail = [&](const std::string& message) {
    const json err = {{"error",
                       {{"message", message},
                        {"type", "invalid_request_error"},
                        {"param", nullptr},
                        {"code", "response_state_unknown"}}}};
    mode_ = Mode::done;
    channel_.push(Event::head(400, {{"content-type", "application/json"}}));
    channel_.push(Event::body(err.dump(-1, ' ', false, json::error_handler_t::replace)));
    channel_.push(Event::end());
    return false;
  };
  if (held && held->starts_with(kBridged))
    return fail(why + " needs server-side state, but that response was bridged to " +
                held->substr(std::string(kBridged).size()) +
                ", which keeps none: send the full input (store=False) instead");
  for (const auto& t : r_->targets)
    if (held && t->id == *held) pinned_ = t.get();
  if (!pinned_ && !held) {  // forgotten: unambiguous only when the group has one OpenAI-family target
    if (Group* g = r_->group(req_.model)) {
      std::vector<Target*> native;
      for (Target* t : g->targets)
        if (responses::native(t->provider->name())) native.push_back(t);
      if (native.size() == 1) pinned_ = native.front();
    }
  }
  if (!pinned_)
    return fail(why + " needs the deployment that holds that state, and this router does not know which one " +
                "(the id did not pass through it, or was forgotten); llmfailover never fails such calls over. " +
                "Send the full input with store=False to fail over freely");
  req_.model = pinned_->group;
  return true;
}

void RoutedCallImpl::restrict_to_pinned() {
  // Said if the pinned target cannot take the call now (cooling down, at its cap): nothing else may.
  note_skip("only " + pinned_->id + " holds the state this call needs, and it is never failed over");
  chain_ = {pinned_->group};
  if (Group* g = r_->group(pinned_->group))
    for (Target* t : g->targets)
      if (t != pinned_) unusable_.insert(t);
}

providers::TranslatedRequest RoutedCallImpl::translate_openai_path(const Target& t, const providers::Endpoint& ep,
                                                                   json& body, const Timeouts& timeouts) {
  const std::string name(t.provider->name());
  const std::string& path = req_.call.path;
  learned_ = false;
  if (path == "/responses") {
    inspect_ = StreamInspector(/*responses=*/true);
    if (responses::native(name)) {
      if (req_.stream) translator_ = responses::native_stream();
      return responses::native_request(name, ep, "POST", path, body.dump(), timeouts);
    }
    std::vector<std::string> warnings;
    const json chat = responses::to_chat(name, body, req_.stream, warnings);
    providers::TranslatedRequest tr = t.provider->chat_request(ep, chat, req_.stream, timeouts);
    tr.warnings.insert(tr.warnings.begin(), warnings.begin(), warnings.end());
    if (req_.stream) translator_ = responses::bridge_stream(name, t.provider->stream_translator(ep, chat), body);
    return tr;
  }
  if (!stateful_path_id(path).empty()) {  // retrieve, delete, cancel, input_items: no body of ours
    if (req_.stream) translator_ = responses::native_stream(), inspect_ = StreamInspector(true);
    return responses::native_request(name, ep, req_.call.method, path, "", timeouts);
  }
  if (!native_only_path(path))
    throw providers::TranslationError(name, "", "llmfailover's router does not route " + path);
  if (!responses::native(name))
    throw providers::TranslationError(name, "", path + " is served by OpenAI-family deployments only, not " + name);
  std::string payload;
  if (const std::string boundary = multipart_boundary(req_.call.headers); !boundary.empty())
    payload = responses::replace_form_field(req_.call.body, boundary, "model", t.deployment->model);
  else if (body_.is_object()) payload = body.dump();
  else payload = req_.call.body;
  return responses::native_request(name, ep, req_.call.method, path, std::move(payload), timeouts);
}

std::string RoutedCallImpl::openai_path_answer(std::string body) {
  const std::string name(target_->provider->name());
  if (req_.call.path == "/responses" && !responses::native(name)) {
    std::string answer = responses::to_response(name, target_->provider->chat_response(target_->endpoint, body), body_);
    const json doc = parse_json(answer);
    r_->affinity.remember(doc.value("id", ""), kBridged + name);
    return answer;
  }
  if (req_.call.path == "/responses" || !stateful_path_id(req_.call.path).empty()) {
    const json doc = providers::parse_answer(name, body);  // an answer that is not JSON: this target's fault
    if (auto id = doc.find("id"); id != doc.end() && id->is_string())
      r_->affinity.remember(id->get<std::string>(), target_->id);
    if (auto c = doc.find("conversation");
        c != doc.end() && c->is_object() && c->contains("id") && (*c)["id"].is_string())
      r_->affinity.remember((*c)["id"].get<std::string>(), target_->id);
  }
  return body;
}

void RoutedCallImpl::learn_response_id() {
  if (learned_ || inspect_.response_id().empty() || !target_) return;
  learned_ = true;
  const std::string name(target_->provider->name());
  r_->affinity.remember(inspect_.response_id(), responses::native(name) ? target_->id : kBridged + name);
  if (responses::native(name) && !inspect_.conversation_id().empty())
    r_->affinity.remember(inspect_.conversation_id(), target_->id);
}

}  // namespace llmfailover
