// auth.hpp (private) — targets that authenticate with an OAuth access token (Vertex AI): their
// service-account credentials, read when the router is built, and the token each attempt needs.
//
// Token flow: every target of a vertex deployment holds a shared TokenCache (one per service
// account, shared by every deployment that uses it). An attempt on such a target asks the cache
// for a valid token; when there is none, ensure_token() queues the attempt on the cache and only
// the first waiter fetches (single flight): POST token_uri on the router's HttpClient with a
// freshly signed assertion. Every waiter then gets the token (or the error) and continues on the
// thread that delivered it, copying the token into its own Endpoint for translation — the
// Target's Endpoint is shared and never written after construction.
//
// Thread safety: ensure_token() may be called from any thread without a call's lock held (its
// callback can run at once, on the calling thread); prepare_auth() runs in the Router constructor.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "llmfailover/providers/google_auth.hpp"
#include "router_impl.hpp"

namespace llmfailover {

// Service account key -> its cache, while the router is being built.
using TokenCaches = std::map<std::string, std::shared_ptr<providers::google_auth::TokenCache>>;

// For a vertex deployment: reads its credentials (a JSON document, or a path to one; when it names
// none and has no api_key, the file GOOGLE_APPLICATION_CREDENTIALS names), validates the key by
// signing once, fills endpoint.project from the key's project_id when the deployment names none,
// and returns the service account's TokenCache (from `caches`, or a new one). nullptr for other
// providers and for a vertex deployment with an api_key and no credentials (the key is then used
// as a ready access token). Throws ConfigError naming the deployment and the problem, never a key.
std::shared_ptr<providers::google_auth::TokenCache> prepare_auth(const DeploymentConfig& deployment,
                                                                 providers::Endpoint& endpoint, const TimeSource& clock,
                                                                 TokenCaches& caches,
                                                                 const EnvLookup& env = process_env());

// Calls `done` with a valid access token for `target` (which has `tokens`), or with the error that
// prevented one; fetches at most once per cache however many calls wait. `timeouts` bound the
// fetch (connect as given, 30 s in all).
void ensure_token(Router::Impl& router, Target& target, const Timeouts& timeouts,
                  providers::google_auth::TokenCache::Waiter done);

}  // namespace llmfailover
