// plain.cpp — the one-group router configuration of a plain client (plain.hpp).
#include "llmfailover/plain.hpp"

#include <chrono>

namespace llmfailover {

RouterConfig plain_router_config(const PlainUpstream& upstream) {
  if (upstream.max_retries < 0 || upstream.max_retries >= kMaxOpenAiAttempts)
    throw ConfigError("max_retries", "expected an integer 0.." + std::to_string(kMaxOpenAiAttempts - 1) + ", got " +
                                         std::to_string(upstream.max_retries));
  DeploymentConfig d;
  d.id = kPlainGroup;
  d.group = kPlainGroup;
  d.provider = upstream.provider;
  d.base_url = upstream.base_url;
  d.api_keys = {upstream.api_key};
  d.organization = upstream.organization;
  d.api_version = upstream.api_version;
  d.headers = upstream.headers;
  RouterConfig c;
  c.deployments = {std::move(d)};
  GroupPolicy& p = c.defaults;
  p.retry.style = RetryStyle::openai;
  p.retry.max_attempts = upstream.max_retries + 1;
  p.breaker.initial_state = "disabled";
  p.timeouts.first_token = Millis{0};
  p.timeouts.idle = Millis{0};
  p.timeouts.deadline = std::chrono::duration_cast<Millis>(std::chrono::hours(24 * 365 * 10));  // none
  c.stream_recovery = "error";
  return c;
}

}  // namespace llmfailover
