// vertex.hpp — Gemini models on Google Cloud's Vertex AI behind the Provider interface.
//
//   POST https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
//        /publishers/google/models/{model}:generateContent
//   POST .../{model}:streamGenerateContent?alt=sse
//   POST .../{model}:batchEmbedContents                      (Gemini embedding models only)
//   Authorization: Bearer <OAuth access token>
//
// Location "global" uses the host aiplatform.googleapis.com (as google-genai does). With a
// base_url (a proxy, the fake provider) the path keeps its shape: {base_url}/v1/projects/... (a
// base_url that already ends in /v1 or /v1beta1 is used as it is). A model given as a resource
// name keeps it: "projects/p/locations/l/endpoints/123" (a tuned model's endpoint) is appended to
// the version root, "publishers/anthropic/models/x" to the project and location.
//
// The body, the answers, the stream and the errors are Gemini's (gemini.hpp): Vertex serves the
// same GenerateContent API. Embeddings use batchEmbedContents, which Vertex serves for Gemini
// embedding models (model ids containing "gemini", e.g. gemini-embedding-001, as google-genai
// decides); other embedding models (text-embedding-005, ...) need Vertex's :predict API, which is
// not implemented: a TranslationError naming "model".
//
// Endpoint.api_key carries the access token: the deployment's Credentials (make_credentials below,
// google_auth.hpp) fetch it with its service account; the router puts it in the attempt's copy of
// the Endpoint without knowing what it is.
// Endpoint.region is the location (default us-central1), Endpoint.project the project.
//
// Thread safety: immutable Provider; pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "llmfailover/providers/credentials.hpp"
#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers::vertex {

inline constexpr std::string_view kDefaultLocation = "us-central1";

std::unique_ptr<Provider> make_provider();

// The registry's credential factory for vertex (credentials.hpp): the deployment's service account
// (google_auth.hpp load_service_account) as shared Credentials, after filling endpoint.project
// from the key's project_id when the deployment names none. nullptr for a deployment with an
// api_key and no credentials: the key is a ready access token (gcloud auth print-access-token).
// Throws CredentialError: the key's problem ("credentials"), or no project ("project") unless the
// model is a resource name that carries one ("projects/...").
std::shared_ptr<Credentials> make_credentials(const CredentialConfig& config, Endpoint& endpoint,
                                              const TimeSource& clock, CredentialPool& pool, const EnvLookup& env);

// The URL of `method` ("generateContent", "streamGenerateContent?alt=sse", "batchEmbedContents")
// on `model` for `endpoint` (base_url, region, project). Throws TranslationError naming "project"
// when there is none, "region" for a location that is not a plain name.
std::string model_url(const Endpoint& endpoint, std::string_view model, std::string_view method);

}  // namespace llmfailover::providers::vertex
