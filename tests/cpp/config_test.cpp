// parse_config, llmfailover schema: deployments, policies layered on defaults, chains, durations,
// environment references, policy_for/groups, and dump_config's round trip.
// Error paths and secrecy: config_errors_test.cpp; the LiteLLM mapping: config_litellm_test.cpp.
#include "llmfailover/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using Vars = std::map<std::string, std::string>;

EnvLookup env_of(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

RouterConfig parse(const std::string& json, Vars vars = {}) { return parse_config(json, env_of(std::move(vars))); }

// The example of the issue, as JSON.
const char* kExample = R"({
  "groups": {
    "smart": {
      "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "os.environ/OPENAI_API_KEY", "weight": 2,
         "region": "us", "price": {"input": 2.5, "output": 10}},
        {"provider": "azure", "model": "gpt-4o-eu", "base_url": "https://x.openai.azure.com/",
         "api_version": "2024-06-01", "api_key": "${AZURE_KEY}", "tags": ["eu", "gdpr"], "rpm": 600,
         "tpm": 90000, "max_concurrency": 8, "priority": 1, "headers": {"X-Team": "${TEAM}"}}
      ],
      "policy": {"timeouts": {"first_token": "10s", "deadline": 60}, "retry": {"max_attempts": 2}}
    },
    "cheap": {"deployments": [{"model": "gpt-4o-mini", "id": "mini", "api_key": ["k1", "k2"]}]},
    "long": {"deployments": [{"model": "gpt-4.1"}]}
  },
  "fallbacks": {"smart": ["cheap"]},
  "context_window_fallbacks": {"smart": ["long"]},
  "content_policy_fallbacks": {},
  "default_fallbacks": ["cheap"],
  "defaults": {"timeouts": {"idle": "20s"}, "retry": {"backoff_base": "250ms"},
               "breaker": {"consecutive_failures": 3}, "budget": {"percent_can_retry": 0.1},
               "ramp": {"steps": [0.1, 1]}},
  "degraded_answer": "Sorry, try again later.",
  "stream_recovery": "continue",
  "routing_strategy": "latency-based-routing"
})";

const Vars kVars = {{"OPENAI_API_KEY", "sk-openai"}, {"AZURE_KEY", "az-key"}, {"TEAM", "core"}};

TEST(Config, MinimalConfigTakesEveryDefault) {
  auto c = parse(R"({"groups": {"smart": {"deployments": [{"model": "gpt-4o"}]}}})");
  ASSERT_EQ(c.deployments.size(), 1u);
  const auto& d = c.deployments[0];
  EXPECT_EQ(d.id, "smart#0");
  EXPECT_EQ(d.group, "smart");
  EXPECT_EQ(d.provider, "openai");
  EXPECT_EQ(d.base_url, "https://api.openai.com/v1");
  EXPECT_TRUE(d.api_keys.empty());
  EXPECT_EQ(d.weight, 1.0);
  EXPECT_EQ(c.defaults, GroupPolicy{});
  EXPECT_TRUE(c.group_policies.empty());
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.stream_recovery, "continue");  // streams are rescued by default (issue 11)
  EXPECT_EQ(c.routing_strategy, "simple-shuffle");
  EXPECT_FALSE(c.degraded_answer);
}

// A provider is known to the parser through the registry alone (providers/registry.cpp): cerebras
// was added there and nowhere in config*.cpp.
TEST(Config, ProviderFromTheRegistry) {
  auto c = parse(R"({"groups": {"g": {"deployments": [{"provider": "cerebras", "model": "llama-3.3-70b"}]}}})");
  ASSERT_EQ(c.deployments.size(), 1u);
  EXPECT_EQ(c.deployments[0].provider, "cerebras");
  // The registry's default, filled in by the parser as for openai (a health check's path is relative to it).
  EXPECT_EQ(c.deployments[0].base_url, "https://api.cerebras.ai/v1");
  auto l = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "cerebras/llama-3.3-70b"}}]})");
  EXPECT_EQ(l.deployments[0].provider, "cerebras");
  EXPECT_EQ(l.deployments[0].model, "llama-3.3-70b");
  try {
    parse(R"({"groups": {"g": {"deployments": [{"provider": "cerebrass", "model": "m"}]}}})");
    FAIL() << "an unknown provider parsed";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown provider (supported: openai, azure"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cerebras"), std::string::npos) << e.what();
  }
}

TEST(Config, ExampleDeployments) {
  auto c = parse(kExample, kVars);
  EXPECT_TRUE(c.warnings.empty()) << c.warnings[0];
  ASSERT_EQ(c.deployments.size(), 4u);
  const auto& oa = c.deployments[0];
  EXPECT_EQ(oa.api_keys, std::vector<Secret>{Secret("sk-openai")});
  EXPECT_EQ(oa.weight, 2.0);
  EXPECT_EQ(oa.region, "us");
  EXPECT_EQ(oa.input_price_per_mtok, 2.5);
  EXPECT_EQ(oa.output_price_per_mtok, 10.0);
  const auto& az = c.deployments[1];
  EXPECT_EQ(az.id, "smart#1");
  EXPECT_EQ(az.provider, "azure");
  EXPECT_EQ(az.model, "gpt-4o-eu");
  EXPECT_EQ(az.base_url, "https://x.openai.azure.com");  // trailing slash trimmed
  EXPECT_EQ(az.api_version, "2024-06-01");
  EXPECT_EQ(az.api_keys, std::vector<Secret>{Secret("az-key")});
  EXPECT_EQ(az.tags, (std::vector<std::string>{"eu", "gdpr"}));
  EXPECT_EQ(az.rpm, 600);
  EXPECT_EQ(az.tpm, 90000);
  EXPECT_EQ(az.max_concurrency, 8);
  EXPECT_EQ(az.priority, 1);
  EXPECT_EQ(az.headers, (Headers{{"X-Team", "core"}}));
  EXPECT_EQ(c.deployments[2].id, "mini");
  EXPECT_EQ(c.deployments[2].api_keys, (std::vector<Secret>{Secret("k1"), Secret("k2")}));
}

TEST(Config, ExampleChainsAndTopLevel) {
  auto c = parse(kExample, kVars);
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"smart", "cheap", "long"}));
  using Chains = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(c.fallbacks, (Chains{{"smart", {"cheap"}}}));
  EXPECT_EQ(c.context_window_fallbacks, (Chains{{"smart", {"long"}}}));
  EXPECT_TRUE(c.content_policy_fallbacks.empty());
  EXPECT_EQ(c.default_fallbacks, std::vector<std::string>{"cheap"});
  EXPECT_EQ(c.degraded_answer, "Sorry, try again later.");
  EXPECT_EQ(c.stream_recovery, "continue");
  EXPECT_EQ(c.routing_strategy, "latency-based-routing");
}

TEST(Config, GroupPolicyIsLayeredOnDefaults) {
  auto c = parse(kExample, kVars);
  GroupPolicy defaults;
  defaults.timeouts.idle = 20s;
  defaults.retry.backoff_base = 250ms;
  defaults.breaker.consecutive_failures = 3;
  defaults.budget.percent_can_retry = 0.1;
  defaults.ramp.steps = {0.1, 1.0};
  EXPECT_EQ(c.defaults, defaults);
  auto smart = defaults;
  smart.timeouts.first_token = 10s;
  smart.timeouts.deadline = 60s;
  smart.retry.max_attempts = 2;
  EXPECT_EQ(c.policy_for("smart"), smart);
  EXPECT_EQ(&c.policy_for("cheap"), &c.defaults);
  EXPECT_EQ(&c.policy_for("no-such-group"), &c.defaults);
}

TEST(Config, GroupsKeepDocumentOrder) {
  auto c = parse(R"({"groups": {"zeta": {"deployments": [{"model": "a"}, {"model": "b"}]},
                                "alpha": {"deployments": [{"model": "c"}]}}})");
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"zeta", "alpha"}));
  EXPECT_EQ(c.deployments[1].id, "zeta#1");
  EXPECT_EQ(c.deployments[2].id, "alpha#0");
}

TEST(Config, EveryPolicyKey) {
  auto c = parse(R"({"groups": {"g": {"deployments": [{"model": "m"}]}}, "defaults": {
    "timeouts": {"connect": "2s", "first_token": "15s", "idle": "5s", "deadline": "2m"},
    "retry": {"max_attempts": 5, "backoff_base": 0.1, "backoff_cap": "10s", "max_retry_after": "1m"},
    "budget": {"percent_can_retry": 0.5, "min_retries_per_sec": 2, "ttl": "30s"},
    "breaker": {"window": "count_based", "window_size": 100, "minimum_calls": 20, "failure_rate_threshold": 40,
                "slow_call_rate_threshold": 80, "slow_call_duration": "8s", "consecutive_failures": 0,
                "open_base": "1s", "open_multiplier": 1.5, "open_cap": "1m", "open_jitter": 0.2,
                "half_open_permits": 1, "max_wait_in_half_open": "30s", "fatal_target_open": "1h",
                "initial_state": "metrics_only"},
    "ramp": {"steps": [0.1, 0.5, 1], "step_hold": "10s", "step_min_requests": 5, "failure_rate_threshold": 30,
             "slow_call_rate_threshold": 90}}})");
  const auto& p = c.defaults;
  EXPECT_EQ(p.timeouts, (TimeoutPolicy{2s, 15s, 5s, 120s}));
  EXPECT_EQ(p.retry, (RetryPolicyConfig{5, 100ms, 10s, 60s}));
  EXPECT_EQ(p.budget, (BudgetPolicyConfig{0.5, 2, 30s}));
  BreakerPolicyConfig b{BreakerPolicyConfig::Window::count_based,
                        100,
                        20,
                        40,
                        80,
                        8s,
                        0,
                        1s,
                        1.5,
                        60s,
                        0.2,
                        1,
                        30s,
                        3600s,
                        "metrics_only"};
  EXPECT_EQ(p.breaker, b);
  EXPECT_EQ(p.ramp, (RampPolicyConfig{{0.1, 0.5, 1.0}, 10s, 5, 30, 90}));
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, HealthCheckIsOffByDefault) {
  auto c = parse(R"({"groups": {"g": {"deployments": [{"model": "m"}]}}})");
  EXPECT_EQ(c.defaults.health_check, HealthCheckConfig{});
  EXPECT_FALSE(c.defaults.health_check.enabled);
  EXPECT_EQ(c.deployments[0].health_check, std::nullopt);
}

TEST(Config, HealthCheckInAGroupPolicyAndPerDeployment) {
  auto c = parse(R"({"groups": {"g": {
      "deployments": [
        {"model": "m", "id": "inherits"},
        {"model": "m", "id": "own", "health_check": {"path": "/models", "unhealthy_threshold": 1}},
        {"model": "m", "id": "off", "health_check": {"enabled": false}}],
      "policy": {"health_check": {"interval": "10s", "interval_jitter_percent": 0, "timeout": "2s",
                                  "unhealthy_threshold": 2, "healthy_threshold": 3, "prompt": "Say OK"}}}}})");
  HealthCheckConfig group;
  group.enabled = true;  // a health_check object turns probes on
  group.interval = 10s;
  group.interval_jitter_percent = 0;
  group.timeout = 2s;
  group.unhealthy_threshold = 2;
  group.healthy_threshold = 3;
  group.prompt = "Say OK";
  EXPECT_EQ(c.policy_for("g").health_check, group);
  EXPECT_FALSE(c.defaults.health_check.enabled);
  EXPECT_EQ(c.deployments[0].health_check, std::nullopt);
  HealthCheckConfig own = group;  // layered on the group's
  own.path = "/models";
  own.unhealthy_threshold = 1;
  EXPECT_EQ(c.deployments[1].health_check, own);
  HealthCheckConfig off = group;
  off.enabled = false;
  EXPECT_EQ(c.deployments[2].health_check, off);
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
}

TEST(Config, HealthCheckRoundTrips) {
  auto c = parse(R"({"groups": {"g": {"deployments": [
      {"model": "m", "health_check": {"interval": "45s", "path": "/v1/models", "prompt": "cost ${X}"}},
      {"model": "m"}]}},
    "defaults": {"health_check": {"enabled": false, "timeout": "500ms", "interval": "1500ms"}}})",
                 {{"X", "$"}});
  ASSERT_TRUE(c.deployments[0].health_check);
  EXPECT_EQ(c.deployments[0].health_check->prompt, "cost $");
  EXPECT_EQ(c.deployments[0].health_check->timeout, 500ms);  // from the defaults it is layered on
  auto again = parse(dump_config(c));
  c.warnings.clear();
  EXPECT_EQ(again, c);
}

struct DurationCase {
  std::string json;
  Millis expected;
};

TEST(Config, DurationFormats) {
  for (const auto& [json, expected] : std::vector<DurationCase>{{"30", 30s},
                                                                {"0.5", 500ms},
                                                                {"0", 0ms},
                                                                {R"("500ms")", 500ms},
                                                                {R"("30s")", 30s},
                                                                {R"("1.5s")", 1500ms},
                                                                {R"("2m")", 120s},
                                                                {R"("1h")", 3600s},
                                                                {R"("1m30s")", 90s},
                                                                {R"(" 45 ")", 45s},
                                                                {R"("${T}")", 7s}}) {
    auto c = parse(R"({"groups": {"g": {"deployments": [{"model": "m"}]}},
                       "defaults": {"timeouts": {"deadline": )" +
                       json + "}}}",
                   {{"T", "7s"}});
    EXPECT_EQ(c.defaults.timeouts.deadline, expected) << json;
  }
}

TEST(Config, EnvironmentReferences) {
  auto c = parse(R"j({"groups": {"g": {"deployments": [{
      "model": "${MODEL}", "base_url": "https://${HOST}:${PORT}/v1", "api_key": ["os.environ/K1", "${K2}"],
      "rpm": "${RPM}", "weight": "os.environ/WEIGHT", "organization": "$${NOT_A_REF}"}]}},
      "degraded_answer": "busy (${WHO})"})j",
                 {{"MODEL", "gpt-4o"},
                  {"HOST", "llm.local"},
                  {"PORT", "8443"},
                  {"K1", "a"},
                  {"K2", "b"},
                  {"RPM", "120"},
                  {"WEIGHT", "0.5"},
                  {"WHO", "ops"}});
  const auto& d = c.deployments[0];
  EXPECT_EQ(d.model, "gpt-4o");
  EXPECT_EQ(d.base_url, "https://llm.local:8443/v1");
  EXPECT_EQ(d.api_keys, (std::vector<Secret>{Secret("a"), Secret("b")}));
  EXPECT_EQ(d.rpm, 120);
  EXPECT_EQ(d.weight, 0.5);
  EXPECT_EQ(d.organization, "${NOT_A_REF}");
  EXPECT_EQ(c.degraded_answer, "busy (ops)");
}

TEST(Config, ProcessEnvReadsTheEnvironment) {
  ::setenv("LLMF_CONFIG_TEST_KEY", "from-process", 1);
  auto c =
      parse_config(R"({"groups": {"g": {"deployments": [{"model": "m", "api_key": "${LLMF_CONFIG_TEST_KEY}"}]}}})");
  EXPECT_EQ(c.deployments[0].api_keys[0].reveal(), "from-process");
  ::unsetenv("LLMF_CONFIG_TEST_KEY");
  EXPECT_FALSE(process_env()("LLMF_CONFIG_TEST_KEY"));
}

TEST(Config, NullMeansAbsent) {  // YAML `key:` with no value
  auto c = parse(R"({"groups": {"g": {"deployments": [{"model": "m", "weight": null}], "policy": null}},
                     "fallbacks": null, "degraded_answer": null})");
  EXPECT_EQ(c.deployments[0].weight, 1.0);
  EXPECT_TRUE(c.group_policies.empty());
  EXPECT_FALSE(c.degraded_answer);
}

TEST(Config, ChainsSkipSelfAndRepeatsWithAWarning) {
  auto c = parse(R"({"groups": {"a": {"deployments": [{"model": "m"}]}, "b": {"deployments": [{"model": "m"}]}},
                     "fallbacks": {"a": ["a", "b", "b"]}})");
  EXPECT_EQ(c.fallbacks.at("a"), std::vector<std::string>{"b"});
  EXPECT_EQ(c.warnings, (std::vector<std::string>{"fallbacks.a[0]: a group's chain naming itself is skipped",
                                                  "fallbacks.a[2]: duplicate group in the chain is skipped"}));
}

TEST(Config, DumpReadsBackToTheSameConfig) {
  auto c = parse(kExample, kVars);
  auto again = parse(dump_config(c));
  ASSERT_EQ(again.deployments.size(), c.deployments.size());
  for (auto& d : c.deployments)  // keys come back redacted
    for (auto& k : d.api_keys) k = Secret("***");
  c.warnings.clear();
  for (auto& d : c.deployments)
    for (auto& h : d.headers) h.value = "***";
  EXPECT_EQ(again, c);
}

TEST(Config, KeysWithTheirOwnLimits) {
  auto c = parse(R"({"groups": {"g": {"deployments": [
      {"model": "m", "api_key": ["k0", {"key": "${K1}", "rpm": 60}, {"key": "k2", "tpm": 1000}], "key_tpm": 5000},
      {"model": "n", "api_key": ["a", "b"], "key_rpm": 10},
      {"model": "o", "api_key": ["a"]}]}}})",
                 {{"K1", "secret-one"}});
  const auto& d = c.deployments;
  EXPECT_EQ(d[0].api_keys[1], Secret("secret-one"));
  EXPECT_EQ(d[0].key_limits, (std::vector<KeyLimits>{{0, 5000}, {60, 5000}, {0, 1000}}));
  EXPECT_EQ(d[1].key_limits, (std::vector<KeyLimits>{{10, 0}, {10, 0}}));
  EXPECT_TRUE(d[2].key_limits.empty());
  auto dumped = dump_config(c);
  EXPECT_EQ(dumped.find("secret-one"), std::string::npos);
  EXPECT_EQ(parse(dumped).deployments[0].key_limits, d[0].key_limits);
}

TEST(Config, VertexCredentialsArePathsOrDocumentsAndNeverDumped) {
  auto c = parse(R"({"groups": {"g": {"deployments": [
      {"provider": "vertex", "model": "gemini-2.0-flash", "project": "p", "region": "europe-west4",
       "credentials": "os.environ/SA_PATH"},
      {"provider": "vertex", "model": "gemini-2.0-flash", "credentials": {"type": "service_account", "private_key": "PEM"}}]}}})",
                 {{"SA_PATH", "/etc/sa.json"}});
  EXPECT_EQ(c.deployments[0].credentials, Secret("/etc/sa.json"));
  EXPECT_EQ(c.deployments[1].credentials, Secret(R"({"type":"service_account","private_key":"PEM"})"));
  auto dumped = dump_config(c);
  EXPECT_EQ(dumped.find("PEM"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("/etc/sa.json"), std::string::npos) << dumped;
}

TEST(Config, DumpRedactsUrlsAndKeepsLiteralDollars) {
  auto c = parse(R"({"groups": {"g": {"deployments": [{"model": "m",
      "base_url": "https://user:p4ssw0rd@host.example/v1?key=${Q}"}]}}, "degraded_answer": "$${x}"})",
                 {{"Q", "query-secret"}});
  auto dumped = dump_config(c);
  EXPECT_NE(dumped.find("https://***@host.example/v1?***"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("p4ssw0rd"), std::string::npos);
  EXPECT_EQ(dumped.find("query-secret"), std::string::npos);
  EXPECT_EQ(parse(dumped).degraded_answer, "${x}");
}

}  // namespace
}  // namespace llmfailover
