// config.hpp — the router's configuration as values, and its parser.
//
// Sources: a JSON document in llmfailover's own schema, or a LiteLLM config (model_list,
// litellm_params, router_settings) loaded as it is. YAML files are turned into JSON by the Python
// layer; everything else (validation, environment references, LiteLLM mapping) happens here so
// that errors name the exact path in the user's file, e.g. `model_list[2].litellm_params.api_base`.
// Secrets are resolved here and never appear in an error, a warning or a printed config.
//
// Thread safety: plain values; parse_config is a pure function of its inputs (env lookups go
// through the injected EnvLookup).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "llmfailover/http.hpp"
#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/policy/balancer.hpp"
#include "llmfailover/policy/breaker.hpp"
#include "llmfailover/policy/failover.hpp"
#include "llmfailover/policy/budget.hpp"
#include "llmfailover/policy/budget_cap.hpp"
#include "llmfailover/policy/failover.hpp"
#include "llmfailover/policy/probe.hpp"
#include "llmfailover/policy/ramp.hpp"
#include "llmfailover/secret.hpp"
#include "llmfailover/state/state_config.hpp"

namespace llmfailover {

// Per-attempt and per-call time limits of a group. Zero = no limit (except connect).
struct TimeoutPolicy {
  Millis connect{5000};
  Millis first_token{30000};  // request sent -> first response byte (headers) / first content token
  Millis idle{30000};         // between stream chunks
  Millis deadline{300000};    // the whole call: every attempt, wait and fallback
  // Adaptive first-token limit (issue 11; policy::attempt_limits): while a fallback remains, a
  // target that served first_token_samples answers of the kind is left once it is
  // first_token_factor times slower than its recent median, within [first_token / 4, first_token].
  double first_token_factor = policy::kDefaultFirstTokenFactor;  // 0 = off
  int first_token_samples = 3;                                   // 1..8 (the last 8 are kept)
  bool operator==(const TimeoutPolicy&) const = default;
};

// Everything that can be set per model group (and overridden per request where noted).
struct GroupPolicy {
  TimeoutPolicy timeouts;
  RetryPolicyConfig retry;
  BudgetPolicyConfig budget;
  BreakerPolicyConfig breaker;
  RampPolicyConfig ramp;
  BalancerPolicyConfig balancer;
  HealthCheckConfig health_check;
  HedgePolicyConfig hedge;  // opt-in hedged requests (policy/failover.hpp)
  bool operator==(const GroupPolicy&) const = default;
};

// The rpm / tpm of one API key (0 = no limit): providers count limits per key (per organisation),
// so several keys of one deployment each have their own window besides the deployment's.
struct KeyLimits {
  int rpm = 0;
  int tpm = 0;
  bool operator==(const KeyLimits&) const = default;
};

struct DeploymentConfig {
  std::string id;                     // unique; default "<group>#<index>"
  std::string group;                  // the name the app asks for ("smart")
  std::string provider = "openai";    // a name from providers::provider_names()
  std::string model;                  // the upstream's model (azure: the deployment)
  std::string base_url;               // default per provider (openai: https://api.openai.com/v1)
  std::vector<Secret> api_keys;       // one or more keys; each is its own breaker target
  std::vector<KeyLimits> key_limits;  // empty, or one per api_keys entry
  std::string api_version;            // azure
  std::string organization;
  Headers headers;  // extra headers for this deployment
  double weight = 1.0;
  std::vector<std::string> tags;
  std::string region;                             // bedrock / vertex location
  std::string project;                            // vertex
  Secret credentials;                             // vertex: a service-account JSON document (the file's content;
                                                  // config files give a path, read when the config is parsed)
  std::optional<HealthCheckConfig> health_check;  // overrides the group's
  double input_price_per_mtok = 0;                // USD per million tokens
  double output_price_per_mtok = 0;
  int max_concurrency = 0;  // 0 = unlimited
  int rpm = 0;              // 0 = unlimited
  int tpm = 0;
  int priority = 0;  // tier: lower is tried first (LiteLLM `order`); equal = one tier
  // `proxy:` of the deployment (or the config's top level): an http:// proxy URL, "" = direct;
  // unset = the client's proxy (HTTP(S)_PROXY / NO_PROXY). May hold a password: a Secret.
  std::optional<Secret> proxy;
  bool operator==(const DeploymentConfig&) const = default;
};

struct RouterConfig {
  std::vector<DeploymentConfig> deployments;
  GroupPolicy defaults;                                       // for groups without their own
  std::map<std::string, GroupPolicy> group_policies;          // by group name
  std::map<std::string, std::vector<std::string>> fallbacks;  // group -> groups, in order
  std::map<std::string, std::vector<std::string>> context_window_fallbacks;
  std::map<std::string, std::vector<std::string>> content_policy_fallbacks;
  std::vector<std::string> default_fallbacks;       // for groups without their own chain
  std::optional<std::string> degraded_answer;       // last-resort static answer
  std::string stream_recovery = "continue";         // continue (rescue a broken stream on a fallback) | error
  std::string routing_strategy = "simple-shuffle";  // recorded for the balancer (LiteLLM names)
  std::vector<SpendBudgetConfig> budgets;           // spend caps (policy/budget_cap.hpp)
  std::vector<std::string> warnings;                // unknown keys and other non-fatal findings (paths only)
  state::StateConfig state;                         // `state: {redis: ...}`: shared by many processes
  bool operator==(const RouterConfig&) const = default;

  const GroupPolicy& policy_for(const std::string& group) const;
  std::vector<std::string> groups() const;  // in first-seen order
};

// A configuration error at one place in the document.
class ConfigError : public std::invalid_argument {
 public:
  ConfigError(std::string path, const std::string& message)
      : std::invalid_argument(path.empty() ? message : path + ": " + message), path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Limits of parse_config (docs/config.md "Limits"): a config of more than kMaxConfigBytes, or nested
// deeper than max_json_depth() (json.hpp, 256 by default), is a ConfigError naming the line and
// column; so is a string value with CR, LF or NUL where it would reach a header, a URL or a path.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;

// Parses `json_text` (llmfailover schema or a LiteLLM config; detected by `model_list`).
// Throws ConfigError naming the exact path and what was expected.
RouterConfig parse_config(const std::string& json_text, const EnvLookup& env = process_env());

// The config as JSON in llmfailover's schema (parse_config reads it back), secrets redacted:
// keys and header values become "***", credentials and queries are cut from URLs.
std::string dump_config(const RouterConfig& config);

}  // namespace llmfailover
