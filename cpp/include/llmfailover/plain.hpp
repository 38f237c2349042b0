// plain.hpp — what a plain OpenAI(base_url=...) is on the one data plane (issue 13.1): a router
// configuration with one group of one deployment, the OpenAI-compatible provider with the given
// base URL, key and headers, whose retry policy is openai-python's (retry.style openai,
// policy/backoff.hpp).
//
// Choices, so a plain client behaves as openai's does:
//   - breaker disabled: with one target an open breaker (or a 429's cooldown) would turn the next
//     calls' retries into fast `no_target` failures, which openai never does; a config that wants
//     one sets it (a routed client's own policy).
//   - no call deadline and no first-token / idle limits of the group: the caller's timeout decides,
//     per request (RouteOverrides), as openai's per-attempt timeout does.
//   - the deployment's model is empty: the request's model goes upstream unchanged (no rewrite).
//   - a broken stream is not continued (stream_recovery error): there is no other target.
//
// Pure: builds a value. Thread safety: none needed.
#pragma once

#include <string>

#include "llmfailover/config.hpp"

namespace llmfailover {

// The group a plain client's calls name (RouteRequest::model).
inline constexpr const char* kPlainGroup = "plain";

struct PlainUpstream {
  std::string provider = "openai";  // or "azure" (api_version then)
  std::string base_url;
  Secret api_key;
  std::string organization, api_version;
  Headers headers;
  int max_retries = 2;  // openai's default; 0..kMaxOpenAiAttempts - 1
};

// Throws ConfigError (path "max_retries") when max_retries is out of range.
RouterConfig plain_router_config(const PlainUpstream& upstream);

}  // namespace llmfailover
