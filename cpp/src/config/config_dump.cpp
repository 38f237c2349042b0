// config_dump.cpp — dump_config: a RouterConfig as JSON in llmfailover's schema, secrets redacted.
// parse_config reads the dump back to an equal config, except that keys read back as "***".
#include "config_detail.hpp"
#include "llmfailover/state/redis.hpp"
#include "llmfailover/transport/proxy.hpp"

namespace llmfailover {

namespace {

using config_detail::format_duration;
using config_detail::Json;

// Strings are written so that parse_config does not expand them again.
std::string text(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "${") == 0) out += '$';
    out += s[i];
  }
  return out;
}

// "https://user:pw@host/v1?key=x" -> "https://***@host/v1?***": credentials can hide in URLs.
std::string redact_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto host = scheme + 3;
  auto path = url.find_first_of("/?#", host);
  auto at = url.rfind('@', path == std::string::npos ? url.size() : path);
  std::string out = url;
  if (at != std::string::npos && at >= host) out = url.substr(0, host) + "***" + url.substr(at);
  if (auto q = out.find('?'); q != std::string::npos) out = out.substr(0, q) + "?***";
  return out;
}

Json dump_health_check(const HealthCheckConfig& h) {
  return {{"enabled", h.enabled},
          {"interval", format_duration(h.interval)},
          {"interval_jitter_percent", h.interval_jitter_percent},
          {"timeout", format_duration(h.timeout)},
          {"unhealthy_threshold", h.unhealthy_threshold},
          {"healthy_threshold", h.healthy_threshold},
          {"path", text(h.path)},
          {"prompt", text(h.prompt)}};
}

Json dump_policy(const GroupPolicy& p) {
  const auto& t = p.timeouts;
  const auto& r = p.retry;
  const auto& b = p.budget;
  const auto& k = p.breaker;
  const auto& m = p.ramp;
  Json out;
  out["timeouts"] = {{"connect", format_duration(t.connect)},
                     {"first_token", format_duration(t.first_token)},
                     {"first_token_factor", t.first_token_factor},
                     {"first_token_samples", t.first_token_samples},
                     {"idle", format_duration(t.idle)},
                     {"deadline", format_duration(t.deadline)}};
  out["retry"] = {{"style", r.style == RetryStyle::openai ? "openai" : "router"},
                  {"max_attempts", r.max_attempts},
                  {"backoff_base", format_duration(r.backoff_base)},
                  {"backoff_cap", format_duration(r.backoff_cap)},
                  {"max_retry_after", format_duration(r.max_retry_after)},
                  {"max_hint_wait", format_duration(r.max_hint_wait)}};
  out["budget"] = {{"percent_can_retry", b.percent_can_retry},
                   {"min_retries_per_sec", b.min_retries_per_sec},
                   {"ttl", format_duration(b.ttl)}};
  out["breaker"] = {{"window", k.window == BreakerPolicyConfig::Window::count_based ? "count_based" : "time_based"},
                    {"window_size", k.window_size},
                    {"minimum_calls", k.minimum_calls},
                    {"failure_rate_threshold", k.failure_rate_threshold},
                    {"slow_call_rate_threshold", k.slow_call_rate_threshold},
                    {"slow_call_duration", format_duration(k.slow_call_duration)},
                    {"consecutive_failures", k.consecutive_failures},
                    {"open_base", format_duration(k.open_base)},
                    {"open_multiplier", k.open_multiplier},
                    {"open_cap", format_duration(k.open_cap)},
                    {"open_jitter", k.open_jitter},
                    {"half_open_permits", k.half_open_permits},
                    {"max_wait_in_half_open", format_duration(k.max_wait_in_half_open)},
                    {"fatal_target_open", format_duration(k.fatal_target_open)},
                    {"initial_state", k.initial_state}};
  out["ramp"] = {{"steps", m.steps},
                 {"step_hold", format_duration(m.step_hold)},
                 {"step_min_requests", m.step_min_requests},
                 {"failure_rate_threshold", m.failure_rate_threshold},
                 {"slow_call_rate_threshold", m.slow_call_rate_threshold}};
  const auto& l = p.balancer;
  out["balancer"] = {{"fail_fast", l.fail_fast},
                     {"ewma_decay", format_duration(l.ewma_decay)},
                     {"default_rtt", format_duration(l.default_rtt)},
                     {"rate_limit_penalty", format_duration(l.rate_limit_penalty)},
                     {"failure_penalty", format_duration(l.failure_penalty)},
                     {"latency_metric", l.latency_metric},
                     {"active_request_bias", l.active_request_bias}};
  if (!l.strategy.empty()) out["balancer"]["strategy"] = l.strategy;
  out["health_check"] = dump_health_check(p.health_check);
  if (p.hedge.enabled)
    out["hedge"] = {{"delay", p.hedge.delay ? format_duration(*p.hedge.delay) : "p95"}, {"max", p.hedge.max}};
  return out;
}

Json dump_deployment(const DeploymentConfig& d) {
  Json out;
  out["id"] = text(d.id);
  out["provider"] = d.provider;
  out["model"] = text(d.model);
  if (!d.base_url.empty()) out["base_url"] = text(redact_url(d.base_url));
  if (!d.api_keys.empty()) {
    out["api_key"] = Json::array();
    for (std::size_t i = 0; i < d.api_keys.size(); ++i) {
      const auto key = d.api_keys[i].redacted();
      const auto l = i < d.key_limits.size() ? d.key_limits[i] : KeyLimits{};
      if (l == KeyLimits{}) out["api_key"].push_back(key);
      else out["api_key"].push_back({{"key", key}, {"rpm", l.rpm}, {"tpm", l.tpm}});
    }
  }
  out["api_version"] = text(d.api_version);
  out["organization"] = text(d.organization);
  out["headers"] = Json::object();
  for (const auto& h : d.headers) out["headers"][h.name] = "***";
  out["weight"] = d.weight;
  out["tags"] = Json::array();
  for (const auto& t : d.tags) out["tags"].push_back(text(t));
  out["region"] = text(d.region);
  out["project"] = text(d.project);
  if (!d.credentials.empty()) out["credentials"] = d.credentials.redacted();
  out["price"] = {{"input", d.input_price_per_mtok}, {"output", d.output_price_per_mtok}};
  out["max_concurrency"] = d.max_concurrency;
  out["rpm"] = d.rpm;
  out["tpm"] = d.tpm;
  out["priority"] = d.priority;
  if (d.health_check) out["health_check"] = dump_health_check(*d.health_check);
  // The proxy's host and port only: its userinfo is a credential (parse_proxy checked the URL).
  if (d.proxy) out["proxy"] = d.proxy->empty() ? "" : transport::parse_proxy_url(d.proxy->reveal(), "proxy").display();
  return out;
}

Json dump_chains(const std::map<std::string, std::vector<std::string>>& chains) {
  Json out = Json::object();
  for (const auto& [group, chain] : chains) out[group] = chain;
  return out;
}

}  // namespace

std::string dump_config(const RouterConfig& c) {
  Json groups = Json::object();
  for (const auto& g : c.groups()) groups[g]["deployments"] = Json::array();
  for (const auto& d : c.deployments) groups[d.group]["deployments"].push_back(dump_deployment(d));
  for (const auto& [g, p] : c.group_policies)
    if (groups.contains(g)) groups[g]["policy"] = dump_policy(p);
  Json out;
  out["groups"] = std::move(groups);
  out["fallbacks"] = dump_chains(c.fallbacks);
  out["context_window_fallbacks"] = dump_chains(c.context_window_fallbacks);
  out["content_policy_fallbacks"] = dump_chains(c.content_policy_fallbacks);
  out["default_fallbacks"] = c.default_fallbacks;
  out["defaults"] = dump_policy(c.defaults);
  out["degraded_answer"] = c.degraded_answer ? Json(text(*c.degraded_answer)) : Json(nullptr);
  out["stream_recovery"] = c.stream_recovery;
  out["routing_strategy"] = c.routing_strategy;
  if (!c.budgets.empty()) {
    out["budgets"] = Json::array();
    for (const auto& b : c.budgets)
      out["budgets"].push_back({{"scope", b.scope}, {"name", b.name}, {"usd", b.usd}, {"period", b.period}});
  }
  if (c.state.enabled())  // the AUTH password becomes "***"
    out["state"] = {{"redis",
                     {{"url", state::redacted_url(c.state.url.reveal())},
                      {"prefix", c.state.prefix},
                      {"timeout", format_duration(c.state.timeout)},
                      {"window", format_duration(c.state.window)},
                      {"poll", format_duration(c.state.poll)},
                      {"slice", c.state.slice}}}};
  if (!c.state.tls.ca_file.empty()) out["state"]["redis"]["ca_file"] = c.state.tls.ca_file;
  if (c.state.tls.skip_verify) out["state"]["redis"]["tls_skip_verify"] = true;
  return out.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace llmfailover
