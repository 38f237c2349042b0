// openai.hpp — the OpenAI-compatible provider: OpenAI, Azure OpenAI and any OpenAI-compatible
// base_url (vLLM, Ollama, Groq, Mistral, OpenRouter, Together, ...).
//
// The request body is forwarded byte for byte: every parameter the caller passes reaches the
// upstream unchanged, so new API fields need no release. This layer only decides the URL and the
// authentication and identification headers.
//
// Thread safety: values and pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "llmfailover/http.hpp"

namespace llmfailover::providers {

using Query = std::vector<std::pair<std::string, std::string>>;

// One OpenAI-compatible endpoint with its credentials.
struct Upstream {
  enum class Kind { openai, azure };
  Kind kind = Kind::openai;
  std::string base_url;      // openai: ".../v1"; azure: "https://X.openai.azure.com/openai[/deployments/D]"
  std::string api_key;       // never printed
  std::string organization;  // OpenAI-Organization
  std::string project;       // OpenAI-Project
  std::string api_version;   // azure: the api-version query parameter
  Headers default_headers;
  Query default_query;
  bool operator==(const Upstream&) const = default;
};

// One API call as the client asked for it.
struct ApiCall {
  std::string method = "POST";
  std::string path;   // "/chat/completions", "/embeddings", "/models"
  std::string body;   // JSON, forwarded verbatim
  Headers headers;    // per-request extra headers (override defaults)
  Query query;        // per-request extra query
  std::string model;  // azure: the deployment when base_url names none
};

// Kind from its name ("openai", "azure"); throws std::invalid_argument naming the bad value.
Upstream::Kind upstream_kind(std::string_view name);

// The absolute URL of `path` on `upstream`, with default and per-call query parameters.
std::string url_for(const Upstream& upstream, std::string_view path, const Query& query, std::string_view model);

// The HTTP request for `call` (URL, auth, content-type, accept, identification headers).
HttpRequest build_request(const Upstream& upstream, const ApiCall& call, const Timeouts& timeouts);

// ErrorVerdict lives in error.hpp; this name stays for code that spells it providers::ErrorVerdict.
using llmfailover::ErrorVerdict;

// An error status with its body (OpenAI and Azure shapes: {"error": {message, type, code}}).
ErrorVerdict classify_response(int status, std::string_view body);
// An error object inside a 200 event stream (`data: {"error": {...}}`).
ErrorVerdict classify_stream_error(std::string_view data);

}  // namespace llmfailover::providers
