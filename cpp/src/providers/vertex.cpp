// vertex.cpp — the Vertex AI Provider: Gemini's translation (gemini.hpp) on Vertex's URLs with a
// Bearer access token. URL shapes: cloud.google.com/vertex-ai/generative-ai/docs/reference/rest
// (projects.locations.publishers.models.generateContent) and googleapis/python-genai
// google/genai/_api_client.py (the "global" location's host).
#include <chrono>

#include "llmfailover/providers/gemini.hpp"
#include "llmfailover/providers/google_auth.hpp"
#include "llmfailover/providers/vertex.hpp"

namespace llmfailover::providers::vertex {
namespace {

using nlohmann::json;

constexpr std::string_view kName = "vertex";

// Gemini's translation names "gemini" in its errors; on this provider they name "vertex".
template <class F>
auto as_vertex(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const TranslationError& e) {
    if (e.provider() != "gemini") throw;
    if (e.verdict()) throw TranslationError(std::string(kName), *e.verdict());
    std::string message = e.what();
    if (message.starts_with("gemini: ")) message.erase(0, 8);
    throw TranslationError(std::string(kName), e.parameter(), message);
  }
}

std::string model_of(const Endpoint& ep, const json& request) {
  std::string model = ep.model.empty() ? request.value("model", "") : ep.model;
  if (model.starts_with("models/")) model.erase(0, 7);
  if (model.empty()) throw TranslationError(std::string(kName), "model", "vertex needs a model");
  return model;
}

bool plain_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// Gemini's stream translator, its errors naming vertex.
class VertexStream final : public StreamTranslator {
 public:
  explicit VertexStream(std::unique_ptr<StreamTranslator> gemini) : gemini_(std::move(gemini)) {}
  void on_sse(std::string_view event, std::string_view data, std::vector<std::string>& chunks,
              std::optional<ErrorVerdict>& error) override {
    as_vertex([&] { gemini_->on_sse(event, data, chunks, error); });
  }

 private:
  std::unique_ptr<StreamTranslator> gemini_;
};

class VertexProvider final : public Provider {
 public:
  std::string_view name() const override { return kName; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const json body = as_vertex([&] { return gemini::request_body(request, out.warnings); });
    out.http =
        build(ep, model_url(ep, model_of(ep, request), stream ? "streamGenerateContent?alt=sse" : "generateContent"),
              body.dump(), timeouts, stream ? "text/event-stream" : "application/json");
    return out;
  }

  std::string chat_response(const Endpoint& ep, std::string_view body) const override {
    return as_vertex(
        [&] { return gemini::chat_completion(parse_answer(kName, body), ep.model, now_seconds()).dump(); });
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint& ep, const json& request) const override {
    const json n = request.value("n", json(1));
    return std::make_unique<VertexStream>(gemini::make_stream(ep.model.empty() ? request.value("model", "") : ep.model,
                                                              include_usage(request),
                                                              n.is_number_integer() ? n.get<int>() : 1));
  }

  TranslatedRequest embeddings_request(const Endpoint& ep, const json& request,
                                       const Timeouts& timeouts) const override {
    const std::string model = model_of(ep, request);
    const std::string id = model.substr(model.rfind('/') + 1);
    if (id.find("gemini") == std::string::npos) {
      throw TranslationError(std::string(kName), "model",
                             "vertex embeddings support Gemini embedding models (batchEmbedContents, e.g. "
                             "gemini-embedding-001), not " +
                                 model + " (Vertex's :predict API is not implemented)");
    }
    TranslatedRequest out;
    const json body = gemini::embed_body(request, model, kName, out.warnings);
    out.http = build(ep, model_url(ep, model, "batchEmbedContents"), body.dump(), timeouts, "application/json");
    return out;
  }

  std::string embeddings_response(const Endpoint& ep, std::string_view body) const override {
    return gemini::embedding_list(parse_answer(kName, body), ep.model, kName).dump();
  }

  ErrorVerdict classify(int status, const Headers&, std::string_view body) const override {
    return gemini::classify(status, body);
  }
  std::optional<Millis> body_retry_hint(std::string_view body) const override { return gemini::retry_delay(body); }

 private:
  static HttpRequest build(const Endpoint& ep, std::string url, std::string body, const Timeouts& timeouts,
                           std::string_view accept) {
    std::optional<Header> auth;
    if (!ep.api_key.empty()) auth = Header{"Authorization", "Bearer " + ep.api_key.reveal()};
    return gemini::json_post(std::move(url), std::move(body), timeouts, accept, std::move(auth), ep.headers);
  }
};

}  // namespace

std::string model_url(const Endpoint& ep, std::string_view model, std::string_view method) {
  const std::string location = ep.region.empty() ? std::string(kDefaultLocation) : ep.region;
  if (!plain_name(location)) {
    throw TranslationError(std::string(kName), "region", "vertex location must be a name like us-central1 or global");
  }
  std::string root = ep.base_url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (root.empty()) {
    root = "https://" + (location == "global" ? std::string() : location + "-") + "aiplatform.googleapis.com/v1";
  } else if (!root.ends_with("/v1") && !root.ends_with("/v1beta1")) {
    root += "/v1";
  }
  std::string path;
  // Every name is encoded (provider.hpp path_segment); a full resource name keeps its slashes.
  if (model.starts_with("projects/")) {
    path = path_segments(kName, "model", model);
  } else {
    if (ep.project.empty()) {
      throw TranslationError(std::string(kName), "project",
                             "vertex needs a project (the deployment's project, vertex_project, or the service "
                             "account's project_id)");
    }
    path = "projects/" + path_segment(kName, "project", ep.project) + "/locations/" + location + "/";
    path += model.starts_with("publishers/") ? path_segments(kName, "model", model)
                                             : "publishers/google/models/" + path_segment(kName, "model", model);
  }
  return root + "/" + path + ":" + std::string(method);
}

std::unique_ptr<Provider> make_provider() { return std::make_unique<VertexProvider>(); }

namespace {

void check_project(const CredentialConfig& config, const Endpoint& endpoint) {
  if (endpoint.project.empty() && !config.model.starts_with("projects/")) {
    throw CredentialError(
        "project", "vertex needs a project: set project (LiteLLM vertex_project) or use a key file with project_id");
  }
}

}  // namespace

std::shared_ptr<Credentials> make_credentials(const CredentialConfig& config, Endpoint& endpoint,
                                              const TimeSource& clock, CredentialPool& pool, const EnvLookup& env) {
  if (config.credentials.empty() && config.has_api_key) {  // a ready access token
    check_project(config, endpoint);
    return nullptr;
  }
  google_auth::ServiceAccount account = google_auth::load_service_account(config, env);
  if (endpoint.project.empty()) endpoint.project = account.project_id;
  check_project(config, endpoint);
  return google_auth::shared_credentials(std::move(account), clock, pool);
}

}  // namespace llmfailover::providers::vertex
