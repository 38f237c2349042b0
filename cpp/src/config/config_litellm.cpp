// config_litellm.cpp — a LiteLLM proxy config.yaml (model_list, litellm_settings, router_settings)
// read as it is and mapped onto RouterConfig. docs/config.md has the table of what maps where;
// settings with no llmfailover meaning become warnings, never silent drops.
#include <algorithm>
#include <cmath>

#include "config_detail.hpp"

namespace llmfailover::config_detail {

namespace {

constexpr std::string_view kIgnoredWhy = "LiteLLM setting not used by llmfailover";

// Settings llmfailover keeps per group but LiteLLM sets per deployment: the largest wins.
struct GroupOverride {
  std::optional<Millis> first_token, idle;
  std::optional<int> max_attempts;
};

template <class T>
void merge_largest(const Node& at, std::optional<T>& slot, T value) {
  if (slot && *slot != value)
    at.reader().warnings.add(at.path(),
                             "differs between deployments of one group; llmfailover keeps one value "
                             "per group: the largest");
  slot = slot ? std::max(*slot, value) : value;
}

int attempts_from_retries(const Node& n) {
  int retries = n.as_int(0, 1 << 30);
  if (retries + 1 > kMaxAttempts) {
    n.reader().warnings.add(n.path(), "capped: llmfailover makes at most 5 attempts per deployment (4 retries)");
    return kMaxAttempts;
  }
  return retries + 1;
}

// RetryPolicy: one count per exception class. llmfailover retries only retryable classes (timeouts,
// 429, 5xx) and has one count for them; 400/401/content-policy fail over instead of retrying.
void apply_retry_policy(const Node& n, RetryPolicyConfig& retry) {
  n.expect_object().check_keys({"TimeoutErrorRetries", "RateLimitErrorRetries", "InternalServerErrorRetries",
                                "BadRequestErrorRetries", "AuthenticationErrorRetries",
                                "ContentPolicyViolationErrorRetries"});
  std::optional<int> largest;
  bool differ = false;
  for (auto key : {"TimeoutErrorRetries", "RateLimitErrorRetries", "InternalServerErrorRetries"}) {
    if (auto v = n.get(key)) {
      int attempts = attempts_from_retries(*v);
      differ = differ || (largest && *largest != attempts);
      largest = std::max(largest.value_or(0), attempts);
    }
  }
  for (auto key : {"BadRequestErrorRetries", "AuthenticationErrorRetries", "ContentPolicyViolationErrorRetries"}) {
    if (auto v = n.get(key); v && v->as_int(0, 1 << 30) > 0)
      n.reader().warnings.add(v->path(),
                              "not mapped: llmfailover does not retry this error on the same "
                              "deployment (it fails over)");
  }
  if (differ)
    n.reader().warnings.add(n.path(),
                            "per-class retry counts differ; llmfailover uses one count for all "
                            "retryable errors: the largest");
  if (largest) retry.max_attempts = *largest;
}

struct Sections {
  std::optional<Node> litellm, router;  // router_settings wins where both set a key
  std::vector<Node> both() const {
    std::vector<Node> out;
    if (litellm) out.push_back(*litellm);
    if (router) out.push_back(*router);
    return out;
  }
};

struct Context {
  RouterConfig config;
  int default_concurrency = 0;
  std::map<std::string, GroupOverride> overrides;
};

void check_section_keys(const Node& s) {
  s.expect_object().check_keys(
      {"fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks", "num_retries",
       "timeout", "request_timeout", "stream_timeout", "retry_policy", "model_group_retry_policy", "allowed_fails",
       "cooldown_time", "disable_cooldowns", "routing_strategy", "default_max_parallel_requests",
       "enable_health_check_routing"},
      {"model_group_alias",
       "enable_pre_call_checks",
       "enable_tag_filtering",
       "retry_after",
       "allowed_fails_policy",
       "routing_strategy_args",
       "optional_pre_call_checks",
       "provider_budget_config",
       "alerting_config",
       "router_general_settings",
       "ignore_invalid_deployments",
       "max_fallbacks",
       "default_litellm_params",
       "default_priority",
       "polling_interval",
       "redis_host",
       "redis_port",
       "redis_password",
       "redis_url",
       "cache_responses",
       "cache_kwargs",
       "caching_groups",
       "client_ttl",
       "callbacks",
       "success_callback",
       "failure_callback",
       "service_callback",
       "cache",
       "cache_params",
       "drop_params",
       "set_verbose",
       "json_logs",
       "turn_off_message_logging",
       "telemetry",
       "max_budget",
       "budget_duration",
       "modify_params",
       "num_workers",
       "debug_level",
       "forward_traceparent_to_llm_provider"},
      {}, kIgnoredWhy);
}

// Router-wide settings: policy defaults, the strategy and the default concurrency.
void apply_settings(const Node& s, Context& ctx) {
  auto& p = ctx.config.defaults;
  if (auto n = s.get("num_retries")) p.retry.max_attempts = attempts_from_retries(*n);
  if (auto n = s.get("request_timeout")) p.timeouts.deadline = n->as_duration();
  if (auto n = s.get("timeout")) p.timeouts.deadline = n->as_duration();
  if (auto n = s.get("stream_timeout")) p.timeouts.idle = n->as_duration();
  if (auto n = s.get("retry_policy")) apply_retry_policy(*n, p.retry);
  if (auto n = s.get("allowed_fails")) p.breaker.consecutive_failures = n->as_int(0, (1 << 30) - 1) + 1;
  if (auto n = s.get("cooldown_time")) {
    p.breaker.open_base = n->as_duration();
    p.breaker.open_cap = std::max(p.breaker.open_cap, p.breaker.open_base);
    if (p.breaker.open_base == Millis{0}) p.breaker.initial_state = "disabled";
  }
  if (auto n = s.get("disable_cooldowns"); n && n->as_bool()) p.breaker.initial_state = "disabled";
  if (auto n = s.get("default_max_parallel_requests")) ctx.default_concurrency = n->as_int(0, 1 << 30);
  if (auto n = s.get("routing_strategy")) {
    if (!n->json().is_string()) n->fail("expected a string, got " + json_type_name(n->json()));
    auto name = n->json().get<std::string>();
    if (std::find(kStrategies.begin(), kStrategies.end(), name) != kStrategies.end())
      ctx.config.routing_strategy = name;
    else s.reader().warnings.add(n->path(), "unknown routing strategy, using simple-shuffle");
  }
}

// "openai/gpt-4o" -> (openai, gpt-4o); "gpt-4o" -> (openai, gpt-4o); custom_llm_provider wins.
std::pair<std::string, std::string> split_model(const Node& params) {
  auto model_node = params.require("model");
  auto raw = model_node.as_nonempty_string();
  std::string provider = "openai", model = raw;
  auto custom = params.get("custom_llm_provider");
  if (custom) {
    provider = custom->as_name();
    if (raw.starts_with(provider + "/")) model = raw.substr(provider.size() + 1);
  } else if (auto slash = raw.find('/'); slash != std::string::npos) {
    provider = raw.substr(0, slash);
    model = raw.substr(slash + 1);
  }
  provider = check_provider(custom ? *custom : model_node, provider);
  if (model.empty()) model_node.fail("expected a model name after the provider prefix");
  return {provider, model};
}

void parse_limits(const Node& n, DeploymentConfig& d) {
  if (auto v = n.get("rpm")) d.rpm = v->as_int(0, 1 << 30);
  if (auto v = n.get("tpm")) d.tpm = v->as_int(0, 1 << 30);
}

void parse_params(const Node& lp, DeploymentConfig& d, Context& ctx) {
  std::tie(d.provider, d.model) = split_model(lp);
  if (auto v = lp.get("aws_region_name")) d.region = v->as_string();
  if (auto v = lp.get("vertex_project")) d.project = v->as_string();
  if (auto v = lp.get("vertex_location")) d.region = v->as_string();
  if (auto v = lp.get("vertex_credentials")) d.credentials = parse_credentials(*v);
  auto base = lp.get("api_base");
  if (!base) base = lp.get("base_url");
  if (base) d.base_url = normalize_url(*base, base->as_string());
  else d.base_url = default_base_url(lp, "api_base", d.provider, true);
  if (auto k = lp.get("api_key")) d.api_keys = parse_keys(*k);
  if (auto v = lp.get("api_version")) d.api_version = v->as_string();
  if (auto v = lp.get("organization")) d.organization = v->as_string();
  for (auto key : {"headers", "extra_headers"})
    if (auto h = lp.get(key)) std::ranges::move(parse_headers(*h), std::back_inserter(d.headers));
  if (auto w = lp.get("weight")) {
    d.weight = w->as_number(0, 1e9);
    if (d.weight <= 0) w->fail("expected a number > 0");
  }
  if (auto v = lp.get("order")) d.priority = v->as_int(0, 1000000);
  if (auto v = lp.get("tags")) d.tags = v->as_string_list();
  if (auto v = lp.get("region_name")) d.region = v->as_string();
  if (auto v = lp.get("input_cost_per_token")) d.input_price_per_mtok = v->as_number(0, 1e6) * 1e6;
  if (auto v = lp.get("output_cost_per_token")) d.output_price_per_mtok = v->as_number(0, 1e6) * 1e6;
  d.max_concurrency = ctx.default_concurrency;
  if (auto v = lp.get("max_parallel_requests")) d.max_concurrency = v->as_int(0, 1 << 30);

  auto& o = ctx.overrides[d.group];
  if (auto v = lp.get("timeout")) merge_largest(*v, o.first_token, v->as_duration());
  if (auto v = lp.get("stream_timeout")) merge_largest(*v, o.idle, v->as_duration());
  auto retries = lp.get("num_retries");
  if (!retries) retries = lp.get("max_retries");
  if (retries) merge_largest(*retries, o.max_attempts, attempts_from_retries(*retries));
}

void parse_entry(const Node& e, Context& ctx) {
  e.expect_object().check_keys({"model_name", "litellm_params", "model_info", "rpm", "tpm"}, {}, "model_list[*]");
  DeploymentConfig d;
  d.group = e.require("model_name").as_name();
  if (d.group == "*") e.require("model_name").fail("wildcard model names are not supported");
  auto lp = e.require("litellm_params");
  lp.expect_object().check_keys({"model",
                                 "api_base",
                                 "base_url",
                                 "api_key",
                                 "api_version",
                                 "organization",
                                 "headers",
                                 "extra_headers",
                                 "weight",
                                 "order",
                                 "tags",
                                 "region_name",
                                 "input_cost_per_token",
                                 "output_cost_per_token",
                                 "max_parallel_requests",
                                 "timeout",
                                 "stream_timeout",
                                 "num_retries",
                                 "max_retries",
                                 "rpm",
                                 "tpm",
                                 "custom_llm_provider",
                                 "vertex_project",
                                 "vertex_location",
                                 "vertex_credentials",
                                 "aws_region_name"},
                                {"cooldown_time",
                                 "base_model",
                                 "mock_response",
                                 "rust",
                                 "temperature",
                                 "max_tokens",
                                 "top_p",
                                 "stop",
                                 "seed",
                                 "input_cost_per_second",
                                 "output_cost_per_second",
                                 "drop_params",
                                 "additional_drop_params",
                                 "api_type",
                                 "azure_ad_token",
                                 "use_in_pass_through",
                                 "merge_reasoning_content_in_choices",
                                 "model_info",
                                 "litellm_trace_id",
                                 "stream"},
                                "model_list[*].litellm_params", kIgnoredWhy);
  int index = static_cast<int>(std::count_if(ctx.config.deployments.begin(), ctx.config.deployments.end(),
                                             [&](const auto& other) { return other.group == d.group; }));
  d.id = d.group + "#" + std::to_string(index);
  parse_limits(e, d);
  auto info = e.get("model_info");
  if (info) {
    info->expect_object().check_keys({"id", "rpm", "tpm"}, {"*"}, "model_list[*].model_info",
                                     "model_info metadata not used by llmfailover");
    parse_limits(*info, d);
  }
  parse_limits(lp, d);
  parse_params(lp, d, ctx);
  auto id = info ? info->get("id") : std::nullopt;
  if (id) d.id = id->json().is_number_integer() ? id->json().dump() : id->as_nonempty_string();
  add_deployment(ctx.config, std::move(d), id.value_or(e));
}

// A mix of deployments with and without `order` in one group: unordered ones get priority 0.
void warn_mixed_order(const Node& list, const RouterConfig& c) {
  const auto& json = list.json();
  for (const auto& group : c.groups()) {
    int with = 0, without = 0;
    std::size_t first_without = 0;
    for (std::size_t i = 0; i < json.size(); ++i) {
      if (c.deployments[i].group != group) continue;
      const auto& lp = json[i]["litellm_params"];
      if (lp.contains("order") && !lp["order"].is_null()) ++with;
      else if (!without++) first_without = i;
    }
    if (with && without)
      list.reader().warnings.add(index_path(list.path(), first_without) + ".litellm_params",
                                 "no order in a group that uses order: priority 0, tried before order 1");
  }
}

// LiteLLM writes chains as [{"a": ["b"]}, ...]; a plain {"a": ["b"]} is accepted too.
void parse_chains(const Node& n, const std::vector<std::string>& groups,
                  std::map<std::string, std::vector<std::string>>& out, std::vector<std::string>* wildcard) {
  if (!n.json().is_array()) return parse_chain_map(n, groups, out, wildcard);
  for (const auto& item : n.items()) parse_chain_map(item, groups, out, wildcard);
}

std::optional<Node> winner(const Sections& s, std::string_view key) {
  auto from_router = s.router ? s.router->get(key) : std::nullopt;
  auto from_litellm = s.litellm ? s.litellm->get(key) : std::nullopt;
  if (from_router && from_litellm)
    s.router->reader().warnings.add(from_litellm->path(), "overridden by router_settings." + std::string(key));
  return from_router ? from_router : from_litellm;
}

void apply_group_settings(const Sections& s, Context& ctx) {
  auto& c = ctx.config;
  const auto groups = c.groups();
  for (const auto& [group, o] : ctx.overrides) {
    if (!o.first_token && !o.idle && !o.max_attempts) continue;
    auto p = c.defaults;
    if (o.first_token) p.timeouts.first_token = *o.first_token;
    if (o.idle) p.timeouts.idle = *o.idle;
    if (o.max_attempts) p.retry.max_attempts = *o.max_attempts;
    c.group_policies[group] = p;
  }
  if (auto by_group = winner(s, "model_group_retry_policy")) {
    for (const auto& [group, policy] : by_group->members()) {
      if (std::find(groups.begin(), groups.end(), group) == groups.end()) policy.fail("unknown group '" + group + "'");
      auto it = c.group_policies.try_emplace(group, c.defaults).first;
      apply_retry_policy(policy, it->second.retry);
    }
  }
  std::vector<std::string> wildcard;
  if (auto n = winner(s, "fallbacks")) parse_chains(*n, groups, c.fallbacks, &wildcard);
  if (auto n = winner(s, "context_window_fallbacks")) parse_chains(*n, groups, c.context_window_fallbacks, nullptr);
  if (auto n = winner(s, "content_policy_fallbacks")) parse_chains(*n, groups, c.content_policy_fallbacks, nullptr);
  c.default_fallbacks = std::move(wildcard);
  if (auto n = winner(s, "default_fallbacks")) c.default_fallbacks = parse_chain(*n, groups, {});
}

// LiteLLM's background health checks (general_settings) call every deployment each
// health_check_interval (300 s); they steer routing only with router_settings
// enable_health_check_routing, and one failed check marks a deployment unhealthy. Ours steer
// routing whenever they run, so both must be on; thresholds 1 / 1 keep LiteLLM's rule.
void apply_health_checks(const std::optional<Node>& general, const Sections& s, Context& ctx) {
  if (!general) return;
  general->expect_object().check_keys(
      {"background_health_checks", "health_check_interval", "health_check_ignore_transient_errors"}, {"*"}, {},
      "LiteLLM proxy setting not used by llmfailover");
  auto on = general->get("background_health_checks");
  if (!on || !on->as_bool()) return;
  bool routing = false;
  for (const auto& section : s.both())
    if (auto r = section.get("enable_health_check_routing")) routing = routing || r->as_bool();
  if (!routing) {
    general->reader().warnings.add(on->path(),
                                   "LiteLLM runs these for its /health endpoint only; set "
                                   "router_settings.enable_health_check_routing to probe for routing");
    return;
  }
  HealthCheckConfig& h = ctx.config.defaults.health_check;
  h.enabled = true;
  h.interval = Millis{300000};
  if (auto n = general->get("health_check_interval")) h.interval = n->as_duration(Millis{100});
  h.unhealthy_threshold = h.healthy_threshold = 1;
  h.timeout = std::min(h.timeout, h.interval);
}

}  // namespace

RouterConfig parse_litellm(const Node& root) {
  root.check_keys({"model_list", "litellm_settings", "router_settings", "environment_variables", "general_settings"},
                  {"include", "callback_settings", "guardrails", "credential_list", "mcp_servers", "files_settings",
                   "finetune_settings", "assistant_settings", "vector_store_registry"},
                  {}, "LiteLLM proxy section not used by llmfailover");
  auto& reader = root.reader();
  if (auto vars = root.get("environment_variables")) {  // the proxy exports these before reading the rest
    std::map<std::string, std::string> values;
    for (const auto& [name, value] : vars->members())
      values[name] = value.json().is_string() ? value.as_text() : value.json().dump();
    reader.env = [values, base = reader.env](const std::string& name) -> std::optional<std::string> {
      if (auto it = values.find(name); it != values.end()) return it->second;
      return base ? base(name) : std::nullopt;
    };
  }
  Sections sections{root.get("litellm_settings"), root.get("router_settings")};
  Context ctx;
  for (const auto& s : sections.both()) {
    check_section_keys(s);
    apply_settings(s, ctx);
  }
  apply_health_checks(root.get("general_settings"), sections, ctx);
  auto list = root.require("model_list");
  auto entries = list.items();
  if (entries.empty()) list.fail("expected at least one deployment");
  for (const auto& e : entries) parse_entry(e, ctx);
  warn_mixed_order(list, ctx.config);
  apply_group_settings(sections, ctx);
  return std::move(ctx.config);
}

}  // namespace llmfailover::config_detail
