#include "llmfailover/providers/openai.hpp"

#include <stdexcept>

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

void set_header(Headers& headers, std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
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
    url += "/deployments/" + transport::url_encode(model);
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
