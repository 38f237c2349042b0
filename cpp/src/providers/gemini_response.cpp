// gemini_response.cpp — GenerateContentResponse -> OpenAI ChatCompletion and chunks.
// Shapes: googleapis/python-genai google/genai/types.py (GenerateContentResponse, Candidate,
// FinishReason, GenerateContentResponseUsageMetadata); mapping: drop_in.md 4.2 and 4.7.
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <map>

#include "llmfailover/providers/common.hpp"
#include "llmfailover/providers/gemini.hpp"

namespace llmfailover::providers::gemini {

using nlohmann::json;

std::string_view finish_reason(std::string_view f, bool has_function_call) {
  if (f == "MAX_TOKENS") return "length";
  for (std::string_view blocked : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                                   "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}) {
    if (f == blocked) return "content_filter";
  }
  return has_function_call ? "tool_calls" : "stop";  // STOP, LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, ...
}

namespace {

long long count(const json& u, const char* key) {
  auto it = u.find(key);
  return it != u.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

[[noreturn]] void misfit(const std::string& what) {
  throw TranslationError("gemini", "", "the answer does not fit GenerateContentResponse: " + what);
}

// A stable id for a function call Gemini gave none: FNV-1a of where it is and what it says.
std::string call_id(const json& call, std::string_view response_id, std::size_t candidate, std::size_t ordinal) {
  if (call.contains("id") && call["id"].is_string() && !call["id"].get_ref<const std::string&>().empty()) {
    return call["id"].get<std::string>();
  }
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(response_id);
  mix(std::to_string(candidate) + ":" + std::to_string(ordinal));
  mix(call.dump());
  char buf[32];
  std::snprintf(buf, sizeof buf, "call_%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A blocked prompt: no candidates, promptFeedback.blockReason.
void check_blocked(const json& r) {
  auto pf = r.find("promptFeedback");
  if (pf == r.end() || !pf->is_object() || !pf->contains("blockReason")) return;
  if (r.contains("candidates") && r["candidates"].is_array() && !r["candidates"].empty()) return;
  std::string why = (*pf)["blockReason"].is_string() ? (*pf)["blockReason"].get<std::string>() : "BLOCKED";
  if (auto m = pf->find("blockReasonMessage"); m != pf->end() && m->is_string()) why += ": " + m->get<std::string>();
  throw TranslationError(
      "gemini", ErrorVerdict{ErrorClass::fatal_request, "content_policy", "the prompt was blocked (" + why + ")"});
}

struct Translated {
  std::string text, thoughts;  // thoughts: the thought summaries (includeThoughts), as reasoning_content
  bool has_text = false;
  json tool_calls = json::array();
};

Translated translate_parts(const json& candidate, std::string_view response_id, std::size_t index,
                           std::size_t first_call) {
  Translated t;
  const json content = candidate.value("content", json::object());
  if (!content.is_object()) misfit("candidate content is not an object");
  const json parts = content.value("parts", json::array());
  if (!parts.is_array()) misfit("content.parts is not an array");
  for (const auto& p : parts) {
    if (!p.is_object()) misfit("a part is not an object");
    if (auto th = p.find("thought"); th != p.end() && th->is_boolean() && th->get<bool>()) {
      if (auto text = p.find("text"); text != p.end() && text->is_string()) t.thoughts += text->get<std::string>();
      continue;  // thought summaries are not the answer
    }
    if (auto text = p.find("text"); text != p.end()) {
      if (!text->is_string()) misfit("a text part whose text is not a string");
      t.text += text->get<std::string>();
      t.has_text = true;
    } else if (auto fc = p.find("functionCall"); fc != p.end()) {
      if (!fc->is_object() || !fc->contains("name")) misfit("a functionCall without a name");
      json call = {{"id", call_id(*fc, response_id, index, first_call + t.tool_calls.size())},
                   {"type", "function"},
                   {"function", {{"name", (*fc)["name"]}, {"arguments", fc->value("args", json::object()).dump()}}}};
      if (auto sig = p.find("thoughtSignature"); sig != p.end() && sig->is_string()) {
        call["extra_content"] = {{"google", {{"thought_signature", *sig}}}};  // as Google's OpenAI endpoint does
      }
      t.tool_calls.push_back(std::move(call));
    }
  }
  return t;
}

}  // namespace

json usage(const json& u) {
  if (!u.is_object()) return openai_usage(0, 0);
  const long long thoughts = count(u, "thoughtsTokenCount");
  return openai_usage(count(u, "promptTokenCount") + count(u, "toolUsePromptTokenCount"),
                      count(u, "candidatesTokenCount") + thoughts, count(u, "cachedContentTokenCount"), thoughts);
}

json chat_completion(const json& r, std::string_view model, long long created) {
  if (r.contains("error")) misfit("an error object with status 200");
  check_blocked(r);
  auto cands = r.find("candidates");
  if (cands == r.end() || !cands->is_array() || cands->empty()) misfit("no candidates");
  const std::string rid = r.value("responseId", "");
  json choices = json::array();
  for (std::size_t i = 0; i < cands->size(); ++i) {
    const json& c = (*cands)[i];
    if (!c.is_object()) misfit("a candidate is not an object");
    Translated t = translate_parts(c, rid, i, 0);
    json message = {{"role", "assistant"}, {"content", t.has_text ? json(t.text) : json()}, {"refusal", nullptr}};
    if (!t.thoughts.empty()) message["reasoning_content"] = std::move(t.thoughts);
    const bool calls = !t.tool_calls.empty();
    if (calls) message["tool_calls"] = std::move(t.tool_calls);
    choices.push_back({{"index", c.value("index", static_cast<int>(i))},
                       {"message", std::move(message)},
                       {"logprobs", nullptr},
                       {"finish_reason", finish_reason(c.value("finishReason", "STOP"), calls)}});
  }
  return {{"id", rid.empty() ? call_id(r, "", 0, 0).replace(0, 4, "gemini") : rid},  // Gemini sent none: a stable hash
          {"object", "chat.completion"},
          {"created", created},
          {"model", r.value("modelVersion", std::string(model))},
          {"choices", std::move(choices)},
          {"usage", usage(r.value("usageMetadata", json::object()))}};
}

namespace {

class Stream final : public StreamTranslator {
 public:
  Stream(std::string model, bool include_usage, int candidates)
      : model_(std::move(model)),
        include_usage_(include_usage),
        candidates_(std::max(candidates, 1)),
        created_(now_seconds()) {}

  void on_sse(std::string_view, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    if (done_) return;
    const json r = parse_answer("gemini", data);
    if (r.contains("error")) {
      const json& e = r["error"];
      const int code = int_member(e, "code", 500);  // a code no status can be is a server error
      error = classify(code >= 100 && code <= 999 ? code : 500, data);
      return;
    }
    try {
      check_blocked(r);
    } catch (const TranslationError& blocked) {
      error = blocked.verdict();
      return;
    }
    if (r.contains("usageMetadata")) usage_ = r["usageMetadata"];
    if (id_.empty()) id_ = r.value("responseId", "gemini-" + std::to_string(created_));
    if (r.contains("modelVersion") && r["modelVersion"].is_string()) model_ = r["modelVersion"];
    const json cands = r.value("candidates", json::array());
    if (!cands.is_array()) misfit("candidates is not an array");
    for (std::size_t i = 0; i < cands.size(); ++i) candidate(cands[i], i, chunks);
    if (finished_ >= candidates_) {
      if (include_usage_) chunks.push_back(with_choices(json::array(), true).dump());
      chunks.emplace_back("[DONE]");
      done_ = true;
    }
  }

 private:
  json with_choices(json choices, bool usage_chunk = false) const {
    json c = {{"id", id_},
              {"object", "chat.completion.chunk"},
              {"created", created_},
              {"model", model_},
              {"choices", std::move(choices)}};
    if (usage_chunk) c["usage"] = usage(usage_);
    return c;
  }

  void candidate(const json& c, std::size_t position, std::vector<std::string>& chunks) {
    if (!c.is_object()) misfit("a candidate is not an object");
    const int index = c.value("index", static_cast<int>(position));
    auto& st = state_[index];
    Translated t = translate_parts(c, id_, static_cast<std::size_t>(index), st.calls);
    json delta = json::object();
    if (!st.started) delta = {{"role", "assistant"}, {"content", ""}};
    if (t.has_text) delta["content"] = t.text;
    if (!t.thoughts.empty()) delta["reasoning_content"] = t.thoughts;
    if (!t.tool_calls.empty()) {
      for (auto& call : t.tool_calls) call["index"] = st.calls++;  // whole calls: one delta each
      delta["tool_calls"] = std::move(t.tool_calls);
    }
    json finish = nullptr;
    if (c.contains("finishReason") && c["finishReason"].is_string()) {
      finish = finish_reason(c["finishReason"].get<std::string>(), st.calls > 0);
      ++finished_;
    }
    if (delta.empty() && finish.is_null()) return;
    st.started = true;
    chunks.push_back(with_choices(json::array({{{"index", index},
                                                {"delta", std::move(delta)},
                                                {"logprobs", nullptr},
                                                {"finish_reason", std::move(finish)}}}))
                         .dump());
  }

  struct CandidateState {
    bool started = false;
    int calls = 0;
  };
  std::string model_;
  bool include_usage_;
  int candidates_;
  long long created_;
  std::string id_;
  json usage_ = json::object();
  std::map<int, CandidateState> state_;
  int finished_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream(std::string model, bool include_usage, int candidates) {
  return std::make_unique<Stream>(std::move(model), include_usage, candidates);
}

}  // namespace llmfailover::providers::gemini
