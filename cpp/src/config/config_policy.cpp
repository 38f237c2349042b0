// config_policy.cpp — group policies (timeouts, retry, budget, breaker, ramp, balancer) and fallback
// chains, shared by the llmfailover schema and the LiteLLM mapping.
#include <algorithm>
#include <cctype>

#include "config_detail.hpp"
#include "llmfailover/policy/balancer.hpp"
#include "llmfailover/transport/proxy.hpp"
#include "llmfailover/providers/registry.hpp"

namespace llmfailover::config_detail {

namespace {

constexpr double kBig = 1e301;  // "no upper bound" for as_number
constexpr int kBigInt = 1 << 30;

template <class T, class Read>
void set(const Node& obj, std::string_view key, T& field, Read read) {
  if (auto n = obj.get(key)) field = read(*n);
}

auto duration(Millis min = Millis{0}) {
  return [min](const Node& n) { return n.as_duration(min); };
}
auto number(double min, double max) {
  return [=](const Node& n) { return n.as_number(min, max); };
}
auto integer(int min, int max) {
  return [=](const Node& n) { return n.as_int(min, max); };
}

// `small` must not exceed `large`; the error names whichever of the two this node sets.
void check_order(const Node& obj, std::string_view small_key, Millis small, std::string_view large_key, Millis large) {
  if (small <= large) return;
  auto at = obj.get(large_key) ? large_key : small_key;
  throw ConfigError(key_path(obj.path(), at), "expected " + std::string(small_key) + " <= " + std::string(large_key) +
                                                  " (" + format_duration(small) + " > " + format_duration(large) + ")");
}

void parse_timeouts(const Node& n, TimeoutPolicy& t) {
  n.check_keys({"connect", "first_token", "idle", "deadline", "first_token_factor", "first_token_samples"});
  set(n, "connect", t.connect, duration(Millis{1}));
  set(n, "first_token", t.first_token, duration());
  set(n, "first_token_factor", t.first_token_factor, number(0, 1000));
  set(n, "first_token_samples", t.first_token_samples, integer(1, 8));
  set(n, "idle", t.idle, duration());
  set(n, "deadline", t.deadline, duration());
}

void parse_retry(const Node& n, RetryPolicyConfig& r) {
  n.check_keys({"style", "max_attempts", "backoff_base", "backoff_cap", "max_retry_after", "max_hint_wait"});
  if (auto s = n.get("style"))
    r.style = s->as_enum({"router", "openai"}) == "openai" ? RetryStyle::openai : RetryStyle::router;
  set(n, "max_attempts", r.max_attempts, integer(1, r.style == RetryStyle::openai ? kMaxOpenAiAttempts : kMaxAttempts));
  set(n, "backoff_base", r.backoff_base, duration());
  set(n, "backoff_cap", r.backoff_cap, duration());
  set(n, "max_retry_after", r.max_retry_after, duration());
  set(n, "max_hint_wait", r.max_hint_wait, duration());
  check_order(n, "backoff_base", r.backoff_base, "backoff_cap", r.backoff_cap);
}

void parse_budget(const Node& n, BudgetPolicyConfig& b) {
  n.check_keys({"percent_can_retry", "min_retries_per_sec", "ttl"});
  set(n, "percent_can_retry", b.percent_can_retry, number(0, 10));
  set(n, "min_retries_per_sec", b.min_retries_per_sec, number(0, kBig));
  set(n, "ttl", b.ttl, duration(Millis{1000}));
  if (auto t = n.get("ttl"); t && b.ttl > Millis{60000}) t->fail("expected a duration <= 60s");
}

void parse_breaker(const Node& n, BreakerPolicyConfig& b) {
  n.check_keys({"window", "window_size", "minimum_calls", "failure_rate_threshold", "slow_call_rate_threshold",
                "slow_call_duration", "consecutive_failures", "open_base", "open_multiplier", "open_cap", "open_jitter",
                "half_open_permits", "max_wait_in_half_open", "fatal_target_open", "initial_state"});
  if (auto w = n.get("window"))
    b.window = w->as_enum({"count_based", "time_based"}) == "count_based" ? BreakerPolicyConfig::Window::count_based
                                                                          : BreakerPolicyConfig::Window::time_based;
  set(n, "window_size", b.window_size, integer(1, kBigInt));
  set(n, "minimum_calls", b.minimum_calls, integer(1, kBigInt));
  set(n, "failure_rate_threshold", b.failure_rate_threshold, number(0, 100));
  set(n, "slow_call_rate_threshold", b.slow_call_rate_threshold, number(0, 100));
  set(n, "slow_call_duration", b.slow_call_duration, duration(Millis{1}));
  set(n, "consecutive_failures", b.consecutive_failures, integer(0, kBigInt));
  set(n, "open_base", b.open_base, duration());
  set(n, "open_multiplier", b.open_multiplier, number(1, 100));
  set(n, "open_cap", b.open_cap, duration());
  set(n, "open_jitter", b.open_jitter, number(0, 1));
  set(n, "half_open_permits", b.half_open_permits, integer(1, kBigInt));
  set(n, "max_wait_in_half_open", b.max_wait_in_half_open, duration());
  set(n, "fatal_target_open", b.fatal_target_open, duration());
  set(n, "initial_state", b.initial_state, [](const Node& s) {
    return s.as_enum({"closed", "disabled", "metrics_only", "forced_open"});
  });
  check_order(n, "open_base", b.open_base, "open_cap", b.open_cap);
}

void parse_ramp(const Node& n, RampPolicyConfig& r) {
  n.check_keys({"steps", "step_hold", "step_min_requests", "failure_rate_threshold", "slow_call_rate_threshold"});
  if (auto steps = n.get("steps")) {
    auto items = steps->items();
    if (items.empty()) steps->fail("expected at least one step");
    r.steps.clear();
    for (const auto& item : items) {
      auto v = item.as_number(0, 1);
      if (v <= 0 || (!r.steps.empty() && v <= r.steps.back())) item.fail("expected steps in (0, 1], increasing");
      r.steps.push_back(v);
    }
    if (r.steps.back() != 1.0) items.back().fail("expected the last step to be 1 (full traffic)");
  }
  set(n, "step_hold", r.step_hold, duration());
  set(n, "step_min_requests", r.step_min_requests, integer(0, kBigInt));
  set(n, "failure_rate_threshold", r.failure_rate_threshold, number(0, 100));
  set(n, "slow_call_rate_threshold", r.slow_call_rate_threshold, number(0, 100));
}

void parse_balancer(const Node& n, BalancerPolicyConfig& b) {
  n.check_keys({"strategy", "fail_fast", "ewma_decay", "default_rtt", "rate_limit_penalty", "failure_penalty",
                "latency_metric", "active_request_bias"});
  if (auto s = n.get("strategy")) {
    auto name = s->as_nonempty_string();
    if (!policy::parse_strategy(name))
      s->fail(
          "expected one of weighted_random, round_robin, least_in_flight, latency_p2c, lowest_cost (or a "
          "LiteLLM routing_strategy), got '" +
          name + "'");
    b.strategy = name;
  }
  if (auto f = n.get("fail_fast")) b.fail_fast = f->as_bool();
  set(n, "ewma_decay", b.ewma_decay, duration(Millis{1}));
  set(n, "default_rtt", b.default_rtt, duration());
  set(n, "rate_limit_penalty", b.rate_limit_penalty, duration());
  set(n, "failure_penalty", b.failure_penalty, duration());
  set(n, "latency_metric", b.latency_metric, [](const Node& s) { return s.as_enum({"ttft", "per_output_token"}); });
  set(n, "active_request_bias", b.active_request_bias, number(0, 100));
}

}  // namespace

// An object without `enabled` turns probes on: writing one is the opt-in (each probe is billed).
HealthCheckConfig parse_health_check(const Node& n, const HealthCheckConfig& base) {
  n.expect_object().check_keys({"enabled", "interval", "interval_jitter_percent", "timeout", "unhealthy_threshold",
                                "healthy_threshold", "path", "prompt"});
  HealthCheckConfig h = base;
  h.enabled = true;
  if (auto e = n.get("enabled")) h.enabled = e->as_bool();
  set(n, "interval", h.interval, duration(Millis{100}));
  set(n, "interval_jitter_percent", h.interval_jitter_percent, number(0, 100));
  set(n, "timeout", h.timeout, duration(Millis{1}));
  set(n, "unhealthy_threshold", h.unhealthy_threshold, integer(1, kBigInt));
  set(n, "healthy_threshold", h.healthy_threshold, integer(1, kBigInt));
  if (auto p = n.get("path")) {
    h.path = p->as_string();
    if (!h.path.empty() && h.path.front() != '/')
      p->fail("expected a path starting with '/' (e.g. \"/models\"), or \"\"");
  }
  if (auto p = n.get("prompt")) {
    h.prompt = p->as_text();
    if (h.prompt.empty()) p->fail("expected a non-empty string");
  }
  check_order(n, "timeout", h.timeout, "interval", h.interval);
  return h;
}

namespace {

std::string known_groups(const std::vector<std::string>& groups) {
  std::string out;
  for (std::size_t i = 0; i < groups.size() && i < 12; ++i) out += (i ? ", " : "") + groups[i];
  if (groups.size() > 12) out += ", ...";
  return out;
}

// hedge: {delay: p95 | <duration>, max: 1} (policy/failover.hpp); `hedge: true` is {delay: p95}.
HedgePolicyConfig parse_hedge(const Node& n, const HedgePolicyConfig& base) {
  HedgePolicyConfig h = base;
  h.enabled = true;
  if (n.json().is_boolean()) {
    h.enabled = n.as_bool();
    return h;
  }
  n.expect_object().check_keys({"enabled", "delay", "max"});
  if (auto e = n.get("enabled")) h.enabled = e->as_bool();
  if (auto d = n.get("delay"); d && !(d->json().is_string() && d->as_string() == "p95")) {
    if (d->json().is_string() && d->as_string().rfind('p', 0) == 0)
      d->fail("expected \"p95\" or a duration (e.g. \"800ms\"); other percentiles are not kept");
    h.delay = d->as_duration(Millis{1});
  }
  if (auto m = n.get("max")) h.max = m->as_int(1, 1);  // one hedge in flight per call (routed_call_impl.hpp)
  return h;
}

void expect_group(const Node& at, const std::string& name, const std::vector<std::string>& groups) {
  if (std::find(groups.begin(), groups.end(), name) == groups.end())
    at.fail("unknown group '" + name + "' (known: " + known_groups(groups) + ")");
}

}  // namespace

GroupPolicy parse_policy(const Node& node, const GroupPolicy& base) {
  node.check_keys({"timeouts", "retry", "budget", "breaker", "ramp", "balancer", "health_check", "hedge",
                   "cache"});  // `cache` is read by cache/cache_config.cpp
  GroupPolicy p = base;
  if (auto n = node.get("timeouts")) parse_timeouts(*n, p.timeouts);
  if (auto n = node.get("retry")) parse_retry(*n, p.retry);
  if (auto n = node.get("budget")) parse_budget(*n, p.budget);
  if (auto n = node.get("breaker")) parse_breaker(*n, p.breaker);
  if (auto n = node.get("ramp")) parse_ramp(*n, p.ramp);
  if (auto n = node.get("balancer")) parse_balancer(*n, p.balancer);
  if (auto n = node.get("health_check")) p.health_check = parse_health_check(*n, p.health_check);
  if (auto n = node.get("hedge")) p.hedge = parse_hedge(*n, p.hedge);
  return p;
}

std::vector<std::string> parse_chain(const Node& node, const std::vector<std::string>& groups,
                                     const std::string& owner) {
  std::vector<std::string> chain;
  for (const auto& item : node.items()) {
    auto name = item.as_name();
    expect_group(item, name, groups);
    if (name == owner) {
      node.reader().warnings.add(item.path(), "a group's chain naming itself is skipped");
    } else if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
      node.reader().warnings.add(item.path(), "duplicate group in the chain is skipped");
    } else {
      chain.push_back(std::move(name));
    }
  }
  return chain;
}

void parse_chain_map(const Node& node, const std::vector<std::string>& groups,
                     std::map<std::string, std::vector<std::string>>& out, std::vector<std::string>* wildcard) {
  for (const auto& [name, chain] : node.members()) {
    if (name == "*" && wildcard) {
      *wildcard = parse_chain(chain, groups, {});
      continue;
    }
    expect_group(chain, name, groups);
    if (out.contains(name)) chain.fail("a chain for this group was already given");
    out[name] = parse_chain(chain, groups, name);
  }
}

// LiteLLM providers llmfailover has no adapter for: a config naming one hears "not supported yet".
// Only names from this list are quoted back: whatever else is in the field may be a misplaced key.
constexpr std::string_view kKnownUnsupported[] = {"azure_ai",  "databricks", "huggingface",           "perplexity",
                                                  "sagemaker", "watsonx",    "text-completion-openai"};

std::string check_provider(const Node& at, const std::string& provider) {
  if (const auto* info = providers::find_provider_info(provider)) return std::string(info->name);  // aliases too
  auto known = std::find(std::begin(kKnownUnsupported), std::end(kKnownUnsupported), provider);
  auto what = known != std::end(kKnownUnsupported) ? "provider '" + provider + "' is not supported yet"
                                                   : std::string("unknown provider");
  std::string list;
  for (const auto& name : providers::provider_names()) list += (list.empty() ? "" : ", ") + name;
  at.fail(what + " (supported: " + list + "). OpenAI-compatible servers work as provider openai with a base_url");
}

std::string default_base_url(const Node& deployment, std::string_view key, const std::string& provider, bool litellm) {
  const auto* info = providers::find_provider_info(provider);
  if (!info) return {};
  if (info->requires_base_url()) {
    const std::string name(info->name);
    const std::string example = info->base_url_example.empty() ? "" : " (" + std::string(info->base_url_example) + ")";
    throw ConfigError(key_path(deployment.path(), key),
                      litellm ? "required for " + name + " deployments" : "required for provider " + name + example);
  }
  return std::string(info->default_base_url);
}

std::string normalize_url(const Node& at, std::string url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) at.fail("expected an http:// or https:// URL");
  while (url.size() > 8 && url.back() == '/') url.pop_back();
  return url;
}

Secret parse_proxy(const Node& node) {
  std::string url = node.as_string();
  if (url.empty()) return Secret{};
  try {
    (void)transport::parse_proxy_url(url, "proxy");
  } catch (const std::invalid_argument& e) {
    node.fail(std::string(e.what()).substr(std::string_view("proxy: ").size()));
  }
  return Secret{std::move(url)};
}

std::vector<Secret> parse_keys(const Node& node, std::vector<KeyLimits>* limits) {
  if (!node.json().is_array() && !node.json().is_string())
    node.fail("expected a string or a list of strings, got " + json_type_name(node.json()));
  auto nodes = node.json().is_array() ? node.items() : std::vector<Node>{node};
  if (nodes.empty()) node.fail("expected at least one API key");
  std::vector<Secret> keys;
  std::vector<KeyLimits> found;
  bool any_limit = false;
  for (const auto& n : nodes) {
    KeyLimits l;
    std::string key;
    if (limits && n.json().is_object()) {  // {"key": ..., "rpm": N, "tpm": N}
      n.check_keys({"key", "rpm", "tpm"});
      key = n.require("key").as_string();
      if (auto v = n.get("rpm")) l.rpm = v->as_int(0, 1 << 30);
      if (auto v = n.get("tpm")) l.tpm = v->as_int(0, 1 << 30);
      any_limit = any_limit || l.rpm > 0 || l.tpm > 0;
    } else {
      if (!n.json().is_string())
        n.fail(std::string(limits ? "expected an API key string or {key, rpm, tpm}" : "expected an API key string") +
               ", got " + json_type_name(n.json()));
      key = n.as_string();
    }
    if (key.empty()) n.fail("expected a non-empty API key");
    keys.emplace_back(std::move(key));
    found.push_back(l);
  }
  if (limits && any_limit) *limits = std::move(found);
  return keys;
}

Secret parse_credentials(const Node& node) {
  if (node.json().is_object()) return Secret(node.json().dump());
  if (!node.json().is_string())
    node.fail("expected a path to a service-account JSON file, or its content, got " + json_type_name(node.json()));
  auto value = node.as_text();  // a JSON document has line breaks (the private key's PEM too)
  if (value.empty()) node.fail("expected a non-empty path or JSON document");
  return Secret(std::move(value));
}

namespace {

// RFC 9110 section 5.1: a field name is a token (section 5.6.2: tchar).
bool is_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kSpecials.find(c) != std::string_view::npos;
  });
}

}  // namespace

Headers parse_headers(const Node& node) {
  Headers out;
  for (const auto& [name, value] : node.members()) {
    if (!is_token(name)) value.fail("expected a header name made of letters, digits and !#$%&'*+-.^_`|~");
    out.push_back({name, value.as_string()});
  }
  return out;
}

}  // namespace llmfailover::config_detail
