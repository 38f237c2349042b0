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

namespace llmfailover {

// A credential. Compares and copies like a string but never prints its value.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  std::string redacted() const { return value_.empty() ? "" : "***"; }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

// Per-attempt and per-call time limits of a group. Zero = no limit (except connect).
struct TimeoutPolicy {
  Millis connect{5000};
  Millis first_token{30000};  // request sent -> first response byte (headers) / first content token
  Millis idle{30000};         // between stream chunks
  Millis deadline{300000};    // the whole call: every attempt, wait and fallback
  // Adaptive first-token limit (issue 11; policy::attempt_limits): while a fallback remains, a
  // target that served first_token_samples answers of the kind is left once it is
  // first_token_factor times slower than its recent median, within [first_token / 4, first_token].
  double first_token_factor = 10;  // 0 = off
  int first_token_samples = 3;     // 1..8 (the last 8 are kept)
  bool operator==(const TimeoutPolicy&) const = default;
};

struct RetryPolicyConfig {
  int max_attempts = 3;      // per target, including the first; hard cap 5
  Millis backoff_base{500};  // full jitter: U(0, min(cap, base * 2^(n-1)))
  Millis backoff_cap{20000};
  Millis max_retry_after{300000};  // a server hint above this is ignored
  // Prefer the requested model: a 429/503 whose Retry-After is at most this (and fits the
  // deadline) is waited out on the same group (a sibling at once, else the same target after the
  // hint) before a fallback group is tried; a longer hint falls back at once.
  Millis max_hint_wait{5000};
  bool operator==(const RetryPolicyConfig&) const = default;
};

struct BudgetPolicyConfig {
  double percent_can_retry = 0.2;  // Finagle RetryBudget
  double min_retries_per_sec = 10;
  Millis ttl{10000};
  bool operator==(const BudgetPolicyConfig&) const = default;
};

struct BreakerPolicyConfig {
  enum class Window { count_based, time_based };
  Window window = Window::time_based;
  int window_size = 60;  // calls, or seconds
  int minimum_calls = 10;
  double failure_rate_threshold = 50;     // percent, >=
  double slow_call_rate_threshold = 100;  // percent, >=
  Millis slow_call_duration{30000};
  int consecutive_failures = 5;  // 0 = off
  Millis open_base{5000};        // open wait = base * multiplier^(attempts-1), capped, jittered
  double open_multiplier = 2.0;
  Millis open_cap{10000};     // small: a recovered target is back within ~15 s under light traffic
  double open_jitter = 0.1;   // +- fraction
  int half_open_permits = 1;  // a half-open trial is one attempt
  Millis max_wait_in_half_open{60000};
  Millis fatal_target_open{600000};      // 401/403: forced open this long
  std::string initial_state = "closed";  // closed | disabled | metrics_only | forced_open
  bool operator==(const BreakerPolicyConfig&) const = default;
};

struct RampPolicyConfig {
  std::vector<double> steps{0.05, 0.25, 0.50, 1.00};
  Millis step_hold{30000};
  int step_min_requests = 20;
  double failure_rate_threshold = 50;
  double slow_call_rate_threshold = 100;
  bool operator==(const RampPolicyConfig&) const = default;
};

// How a group picks its target (docs/balancing.md; policy/balancer.hpp).
struct BalancerPolicyConfig {
  std::string strategy;                 // "" = RouterConfig::routing_strategy; else weighted_random |
                                        // round_robin | least_in_flight | latency_p2c | lowest_cost
                                        // (or a LiteLLM routing_strategy name)
  bool fail_fast = false;               // no panic pick when nothing is available
  Millis ewma_decay{10000};             // latency_p2c: peak-EWMA decay (tau)
  Millis default_rtt{1000};             // latency_p2c: estimate before the first sample
  Millis rate_limit_penalty{5000};      // latency_p2c: minimum synthetic latency of a 429
  Millis failure_penalty{5000};         // latency_p2c: minimum synthetic latency of a failure
  std::string latency_metric = "ttft";  // ttft | per_output_token
  double active_request_bias = 1.0;     // least_in_flight
  bool operator==(const BalancerPolicyConfig&) const = default;
};

// Opt-in active health probes of each target (deployment x key) of a group (docs/balancing.md;
// policy/probe.hpp). Semantics follow Envoy's HealthCheck (resilience.md 2.6, 8.7).
struct HealthCheckConfig {
  bool enabled = false;
  Millis interval{30000};
  double interval_jitter_percent = 10;  // each wait is interval + U(0, interval * pct / 100)
  Millis timeout{5000};
  int unhealthy_threshold = 3;  // consecutive failed probes -> taken out
  int healthy_threshold = 2;    // consecutive passing probes -> back through the ramp
  std::string path;             // "" = a real 1-token completion; else a GET of this path
                                // relative to the deployment's base_url (e.g. "/models")
  std::string prompt = "ping";  // the 1-token completion's user message
  bool operator==(const HealthCheckConfig&) const = default;
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
  std::vector<std::string> warnings;                // unknown keys and other non-fatal findings (paths only)
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

// Looks up an environment variable; nullopt when unset. Default: std::getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

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
