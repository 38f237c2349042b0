// config_detail.hpp — private parts of the config parser shared by config*.cpp, on top of the
// config layer's reading API (llmfailover/config_reader.hpp: Node, Reader, durations).
//
// Thread safety: a Reader and its Nodes belong to one parse_config call.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/config.hpp"
#include "llmfailover/config_reader.hpp"

namespace llmfailover::config_detail {

using config_reader::format_duration;
using config_reader::index_path;
using config_reader::Json;
using config_reader::json_type_name;
using config_reader::key_path;
using config_reader::Node;
using config_reader::parse_duration_text;
using config_reader::parse_redis_tls;
using config_reader::Reader;
using config_reader::resolve_env;
using config_reader::Warnings;

// Shared by both schemas (config.cpp).
GroupPolicy parse_policy(const Node& node, const GroupPolicy& base);
// A `health_check` object (group policy or deployment) on top of `base`; without `enabled` it turns
// probes on.
HealthCheckConfig parse_health_check(const Node& node, const HealthCheckConfig& base);
// Chains name known groups; a group naming itself or a repeat is skipped with a warning.
std::vector<std::string> parse_chain(const Node& node, const std::vector<std::string>& groups,
                                     const std::string& owner);
// {group: [groups]}; a "*" key goes to `wildcard` when given (LiteLLM's default_fallbacks form).
void parse_chain_map(const Node& node, const std::vector<std::string>& groups,
                     std::map<std::string, std::vector<std::string>>& out, std::vector<std::string>* wildcard);
// The registry's name of `provider` (aliases mapped); an unknown one fails at `at`.
std::string check_provider(const Node& at, const std::string& provider);
std::string normalize_url(const Node& at, std::string url);
// The base_url of a deployment (at `deployment`) that gives none: its provider's default
// (providers/registry.hpp), "" when the provider builds one from region/project. A provider that
// needs one (azure) fails at `key`: "required for provider azure (<example>)", or in LiteLLM's
// schema "required for azure deployments".
std::string default_base_url(const Node& deployment, std::string_view key, const std::string& provider, bool litellm);
// A string or a list of strings; with `limits`, list items may also be {key, rpm, tpm} objects and
// *limits gets one entry per key when any of them has a limit.
std::vector<Secret> parse_keys(const Node& node, std::vector<KeyLimits>* limits = nullptr);
// Vertex service-account credentials: a path, a JSON text, or an inline object (kept as its JSON text).
Secret parse_credentials(const Node& node);
// `proxy`: "" (direct) or an http:// proxy URL (transport/proxy.hpp), checked here so a typo is a
// ConfigError naming the key; the message never quotes the URL (it may hold a password).
Secret parse_proxy(const Node& node);
Headers parse_headers(const Node& node);
void add_deployment(RouterConfig& config, DeploymentConfig d, const Node& at);  // fails at `at` on a taken id

// `state: {redis: {url, prefix, timeout, window, poll, slice, ca_file, tls_skip_verify}}` (config_state.cpp).
state::StateConfig parse_state(const Node& node);

// The llmfailover schema (config.cpp) and the LiteLLM mapping (config_litellm.cpp).
RouterConfig parse_native(const Node& root);
// The `budgets:` list (config_budgets.cpp); `c` holds the groups and deployments already read.
std::vector<SpendBudgetConfig> parse_budgets(const Node& node, const RouterConfig& c);

RouterConfig parse_litellm(const Node& root);

inline constexpr int kMaxAttempts = kMaxRouterAttempts;
inline const std::initializer_list<std::string_view> kStrategies = {"simple-shuffle",        "least-busy",
                                                                    "usage-based-routing",   "usage-based-routing-v2",
                                                                    "latency-based-routing", "cost-based-routing"};

}  // namespace llmfailover::config_detail
