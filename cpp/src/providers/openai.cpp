#include "llmfailover/providers/openai.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "llmfailover/json.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/transport/url.hpp"

namespace llmfailover::providers {

namespace {

// Azure routes these per deployment (openai-python lib/azure.py `_deployments_endpoints`).
bool azure_deployment_path(std::string_view path) {
  for (std::string_view p : {"/completions", "/chat/completions", "/embeddings", "/audio/transcriptions",
                             "/audio/translations", "/audio/speech", "/images/generations", "/images/edits"})
    if (path == p) return true;
  return false;
}

}  // namespace

Upstream::Kind upstream_kind(std::string_view name) {
  if (name == "openai") return Upstream::Kind::openai;
  if (name == "azure") return Upstream::Kind::azure;
  throw std::invalid_argument("unknown provider '" + std::string(name) + "' (expected 'openai' or 'azure')");
}

std::string url_for(const Upstream& upstream, std::string_view path, const Query& query, std::string_view model) {
  std::string url = upstream.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (upstream.kind == Upstream::Kind::azure && azure_deployment_path(path) &&
      url.find("/deployments/") == std::string::npos && !model.empty()) {
    try {
      url += "/deployments/" + path_segment("azure", "model", model);
    } catch (const TranslationError& e) {  // "." or "..": a caller's value, so ValueError in Python
      throw std::invalid_argument(e.what());
    }
  }
  if (!path.empty() && path.front() != '/') url += '/';
  url += path;
  Query all;
  if (upstream.kind == Upstream::Kind::azure && !upstream.api_version.empty())
    all.emplace_back("api-version", upstream.api_version);
  all.insert(all.end(), upstream.default_query.begin(), upstream.default_query.end());
  all.insert(all.end(), query.begin(), query.end());
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : all) {
    url += sep;
    url += transport::url_encode(k) + "=" + transport::url_encode(v);
    sep = '&';
  }
  return url;
}

HttpRequest build_request(const Upstream& upstream, const ApiCall& call, const Timeouts& timeouts) {
  HttpRequest req;
  req.method = call.method;
  req.url = url_for(upstream, call.path, call.query, call.model);
  req.timeouts = timeouts;
  req.body = call.body;
  Headers& h = req.headers;
  h.push_back({"Accept", "application/json"});
  if (!call.body.empty()) h.push_back({"Content-Type", "application/json"});
  if (!upstream.api_key.empty()) {
    if (upstream.kind == Upstream::Kind::azure) h.push_back({"api-key", upstream.api_key});
    else h.push_back({"Authorization", "Bearer " + upstream.api_key});
  }
  if (!upstream.organization.empty()) h.push_back({"OpenAI-Organization", upstream.organization});
  if (!upstream.project.empty()) h.push_back({"OpenAI-Project", upstream.project});
  for (const auto& d : upstream.default_headers) set_header(h, d.name, d.value);
  for (const auto& e : call.headers) set_header(h, e.name, e.value);
  return req;
}

}  // namespace llmfailover::providers

// ---- error classification --------------------------------------------------------------------

namespace llmfailover::providers {

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

struct ErrorFields {
  std::string message, type, code;
};

ErrorFields error_fields(std::string_view body) {
  ErrorFields f;
  auto doc = parse_json(body);
  if (!doc.is_object()) return f;
  const auto& err = doc.contains("error") && doc["error"].is_object() ? doc["error"] : doc;
  auto text = [&](const char* key) {
    auto it = err.find(key);
    return it != err.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  f.message = text("message");
  f.type = text("type");
  f.code = text("code");
  if (auto inner = err.find("innererror"); inner != err.end() && inner->is_object()) {
    if (auto c = inner->find("code"); c != inner->end() && c->is_string() && f.code.empty())
      f.code = c->get<std::string>();
  }
  return f;
}

// Request errors that another model may accept (issue 3, section 3: separate chains).
std::string request_reason(const ErrorFields& f) {
  if (f.code == "context_length_exceeded" || contains(f.message, "maximum context length") ||
      contains(f.message, "context_length_exceeded") || contains(f.message, "context window"))
    return "context_length_exceeded";
  if (f.code == "content_policy_violation" || f.code == "content_filter" || f.code == "ResponsibleAIPolicyViolation" ||
      contains(f.message, "content management policy") || contains(f.message, "content policy"))
    return "content_policy";
  return "bad_request";
}

}  // namespace

ErrorVerdict classify_response(int status, std::string_view body) {
  ErrorFields f = error_fields(body);
  ErrorVerdict v{status_class(status), "", f.message};
  if (status == 429) v.reason = f.code == "insufficient_quota" ? "quota" : "rate_limited";
  else if (status == 401 || status == 403) v.reason = "auth";
  else if (status == 404) v.reason = "not_found";
  else if (status == 529 || f.type == "overloaded_error") v.reason = "overloaded";
  else if (status >= 500 || status == 408 || status == 409) v.reason = "server_error";
  else if (status >= 400) {
    v.reason = request_reason(f);
    // A content-policy or context error is about this request on this model: a request error.
    v.cls = ErrorClass::fatal_request;
  }
  return v;
}

ErrorVerdict classify_stream_error(std::string_view data) {
  ErrorFields f = error_fields(data);
  ErrorVerdict v{ErrorClass::retryable, "stream_error_event", f.message};
  if (f.type == "rate_limit_error" || f.code == "rate_limit_exceeded") {
    v.cls = ErrorClass::rate_limited;
    v.reason = "rate_limited";
  } else if (f.type == "overloaded_error") {
    v.reason = "overloaded";
  } else if (f.type == "invalid_request_error") {
    v.cls = ErrorClass::fatal_request;
    v.reason = request_reason(f);
  }
  return v;
}

}  // namespace llmfailover::providers
