// config.cpp — parse_config: detects the schema, reads llmfailover's own schema (docs/config.md),
// and implements RouterConfig's queries. The LiteLLM mapping is in config_litellm.cpp.
#include "llmfailover/config.hpp"

#include <algorithm>
#include <cstdlib>

#include "config_detail.hpp"
#include "llmfailover/json.hpp"

namespace llmfailover {

namespace cd = config_detail;

const GroupPolicy& RouterConfig::policy_for(const std::string& group) const {
  auto it = group_policies.find(group);
  return it == group_policies.end() ? defaults : it->second;
}

std::vector<std::string> RouterConfig::groups() const {
  std::vector<std::string> out;
  for (const auto& d : deployments)
    if (std::find(out.begin(), out.end(), d.group) == out.end()) out.push_back(d.group);
  return out;
}

namespace config_detail {

void add_deployment(RouterConfig& config, DeploymentConfig d, const Node& at) {
  for (const auto& other : config.deployments)
    if (other.id == d.id) at.fail("duplicate deployment id '" + d.id + "'");
  config.deployments.push_back(std::move(d));
}

namespace {

void parse_price(const Node& n, DeploymentConfig& d) {
  n.check_keys({"input", "output"});
  if (auto p = n.get("input")) d.input_price_per_mtok = p->as_number(0, 1e9);
  if (auto p = n.get("output")) d.output_price_per_mtok = p->as_number(0, 1e9);
}

// key_rpm / key_tpm: the limit of every key that does not set its own.
void parse_key_limits(const Node& n, DeploymentConfig& d) {
  KeyLimits all;
  if (auto v = n.get("key_rpm")) all.rpm = v->as_int(0, 1 << 30);
  if (auto v = n.get("key_tpm")) all.tpm = v->as_int(0, 1 << 30);
  if (all == KeyLimits{}) return;
  if (d.api_keys.empty()) n.require("api_key");  // key limits need keys to count against
  d.key_limits.resize(d.api_keys.size());
  for (auto& l : d.key_limits) {
    if (l.rpm == 0) l.rpm = all.rpm;
    if (l.tpm == 0) l.tpm = all.tpm;
  }
}

// `health_check` is read by parse_groups, after the group's policy it is layered on.
DeploymentConfig parse_deployment(const Node& n, const std::string& group, std::size_t index) {
  n.expect_object().check_keys(
      {"id",      "provider",    "model",   "base_url", "api_key",         "api_version", "organization", "headers",
       "weight",  "tags",        "region",  "price",    "max_concurrency", "rpm",         "tpm",          "priority",
       "project", "credentials", "key_rpm", "key_tpm",  "health_check",    "proxy"});
  DeploymentConfig d;
  d.group = group;
  d.id = group + "#" + std::to_string(index);
  if (auto id = n.get("id")) d.id = id->as_nonempty_string();
  if (auto p = n.get("provider")) d.provider = check_provider(*p, p->as_name());
  d.model = n.require("model").as_nonempty_string();
  if (auto u = n.get("base_url")) {
    d.base_url = normalize_url(*u, u->as_string());
  } else {
    d.base_url = default_base_url(n, "base_url", d.provider, false);
  }
  if (auto k = n.get("api_key")) d.api_keys = parse_keys(*k, &d.key_limits);
  parse_key_limits(n, d);
  if (auto v = n.get("project")) d.project = v->as_string();
  if (auto v = n.get("credentials")) d.credentials = parse_credentials(*v);
  if (auto v = n.get("api_version")) d.api_version = v->as_string();
  if (auto v = n.get("organization")) d.organization = v->as_string();
  if (auto h = n.get("headers")) d.headers = parse_headers(*h);
  if (auto w = n.get("weight")) {
    d.weight = w->as_number(0, 1e9);
    if (d.weight <= 0) w->fail("expected a number > 0");
  }
  if (auto t = n.get("tags")) d.tags = t->as_string_list();
  if (auto r = n.get("region")) d.region = r->as_string();
  if (auto p = n.get("price")) parse_price(*p, d);
  if (auto v = n.get("max_concurrency")) d.max_concurrency = v->as_int(0, 1 << 30);
  if (auto v = n.get("rpm")) d.rpm = v->as_int(0, 1 << 30);
  if (auto v = n.get("tpm")) d.tpm = v->as_int(0, 1 << 30);
  if (auto v = n.get("priority")) d.priority = v->as_int(-1000000, 1000000);
  if (auto v = n.get("proxy")) d.proxy = parse_proxy(*v);
  return d;
}

void parse_groups(const Node& groups, RouterConfig& c) {
  auto members = groups.members();
  if (members.empty()) groups.fail("expected at least one group");
  for (const auto& [name, g] : members) {
    if (name.empty() || name == "*") g.fail("a group needs a name other than \"\" and \"*\"");
    g.check_single_line(name);
    g.expect_object().check_keys({"deployments", "policy"});
    auto deployments = g.require("deployments");
    auto items = deployments.items();
    if (items.empty()) deployments.fail("expected at least one deployment");
    const std::size_t first = c.deployments.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto d = parse_deployment(items[i], name, i);
      add_deployment(c, std::move(d), items[i].get("id").value_or(items[i]));
    }
    if (auto p = g.get("policy")) c.group_policies[name] = parse_policy(*p, c.defaults);
    // A deployment's health_check is layered on its group's.
    for (std::size_t i = 0; i < items.size(); ++i)
      if (auto h = items[i].get("health_check"))
        c.deployments[first + i].health_check = parse_health_check(*h, c.policy_for(name).health_check);
  }
}

}  // namespace

RouterConfig parse_native(const Node& root) {
  root.check_keys({"groups", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks",
                   "defaults", "degraded_answer", "stream_recovery", "routing_strategy", "proxy", "cache", "budgets",
                   "state"});  // `cache` is read by cache/cache_config.cpp
  RouterConfig c;
  if (auto d = root.get("defaults")) c.defaults = parse_policy(*d, GroupPolicy{});
  parse_groups(root.require("groups"), c);
  if (auto p = root.get("proxy")) {  // the default of every deployment without its own
    Secret proxy = parse_proxy(*p);
    for (auto& d : c.deployments)
      if (!d.proxy) d.proxy = proxy;
  }
  const auto groups = c.groups();
  if (auto f = root.get("fallbacks")) parse_chain_map(*f, groups, c.fallbacks, nullptr);
  if (auto f = root.get("context_window_fallbacks")) parse_chain_map(*f, groups, c.context_window_fallbacks, nullptr);
  if (auto f = root.get("content_policy_fallbacks")) parse_chain_map(*f, groups, c.content_policy_fallbacks, nullptr);
  if (auto f = root.get("default_fallbacks")) c.default_fallbacks = parse_chain(*f, groups, {});
  if (auto a = root.get("degraded_answer")) c.degraded_answer = a->as_text();
  if (auto s = root.get("stream_recovery")) c.stream_recovery = s->as_enum({"error", "continue"});
  if (auto s = root.get("routing_strategy")) c.routing_strategy = s->as_enum(kStrategies);
  if (auto b = root.get("budgets")) c.budgets = parse_budgets(*b, c);
  if (auto s = root.get("state")) c.state = parse_state(*s);
  return c;
}

}  // namespace config_detail

namespace {

// nlohmann's messages quote the text near the error, which may be a secret: report the place only.
std::string json_error_place(const std::string& text, const JsonError& error) {
  std::size_t byte = error.kind == JsonError::Kind::too_deep ? error.byte + 1 : error.byte;  // 1-based
  byte = std::min(byte, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < byte; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  const auto place = "line " + std::to_string(line) + ", column " + std::to_string(column);
  if (error.kind == JsonError::Kind::too_deep) return "JSON " + error.message() + " at " + place;
  return "invalid JSON at " + place;
}

}  // namespace

RouterConfig parse_config(const std::string& json_text, const EnvLookup& env) {
  if (json_text.size() > kMaxConfigBytes)
    throw ConfigError("", "the config is " + std::to_string(json_text.size()) + " bytes; the limit is " +
                              std::to_string(kMaxConfigBytes) + " (16 MiB)");
  JsonError error;
  const cd::Json doc = parse_json<cd::Json>(json_text, &error);
  if (doc.is_discarded()) throw ConfigError("", json_error_place(json_text, error));
  cd::Reader reader{env, {}};
  cd::Node root(doc, "", reader);
  if (!doc.is_object()) root.fail("expected an object at the top of the config, got " + cd::json_type_name(doc));
  RouterConfig config;
  if (doc.contains("model_list")) {
    if (doc.contains("groups"))
      throw ConfigError("groups", "a config uses either groups (llmfailover) or model_list (LiteLLM), not both");
    config = cd::parse_litellm(root);
  } else {
    config = cd::parse_native(root);
  }
  config.warnings = reader.warnings.take();
  // A first-token or idle limit as long as the deadline leaves no room for failover (issue 11):
  // the router clips each attempt to half of the time left while a fallback remains, but the
  // user should know the configured limit cannot be what happens.
  auto room = [&](const std::string& where, const TimeoutPolicy& t) {
    if (t.deadline.count() <= 0) return;
    for (auto [name, limit] : {std::pair{"first_token", t.first_token}, std::pair{"idle", t.idle}})
      if (limit.count() > 0 && limit >= t.deadline)
        config.warnings.push_back(where + ".timeouts." + name + " (" + cd::format_duration(limit) +
                                  ") is not shorter than the deadline (" + cd::format_duration(t.deadline) +
                                  "): no room for failover; an attempt gets at most half of the time left "
                                  "while a fallback remains");
  };
  room("defaults", config.defaults.timeouts);
  for (const auto& [group, p] : config.group_policies)
    if (!(p.timeouts == config.defaults.timeouts)) room("groups." + group + ".policy", p.timeouts);
  return config;
}

}  // namespace llmfailover
