// parse_config errors: each names the exact path and what was expected; warnings for unknown
// keys; and no secret value in any error, warning or dump.
#include <gtest/gtest.h>

#include <map>

#include "llmfailover/config.hpp"

namespace llmfailover {
namespace {

using Vars = std::map<std::string, std::string>;

EnvLookup env_of(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

struct Bad {
  std::string json, path, message;
};

// A config with group "smart" holding one deployment with `fields` added.
std::string deployment(const std::string& fields, const std::string& top = "") {
  return R"({"groups": {"smart": {"deployments": [{"model": "gpt-4o")" + (fields.empty() ? "" : ", " + fields) +
         "}]}, \"cheap\": {\"deployments\": [{\"model\": \"gpt-4o-mini\"}]}}" + (top.empty() ? "" : ", " + top) + "}";
}
std::string policy(const std::string& body) { return deployment("", R"("defaults": )" + body); }

void expect_error(const Bad& bad, const Vars& vars = {}) {
  try {
    parse_config(bad.json, env_of(vars));
    ADD_FAILURE() << "no error for " << bad.json;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), bad.path) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad.message), std::string::npos) << e.what();
    if (!bad.path.empty()) {
      EXPECT_EQ(std::string(e.what()).rfind(bad.path + ": ", 0), 0u) << e.what();
    }
  }
}

TEST(ConfigErrors, Deployments) {
  const std::string d = "groups.smart.deployments[0]";
  for (const auto& bad : std::vector<Bad>{
           {deployment(R"("weight": -1)"), d + ".weight", "expected a number in [0, 1000000000]"},
           {deployment(R"("weight": 0)"), d + ".weight", "expected a number > 0"},
           {deployment(R"("weight": "heavy")"), d + ".weight", "expected a number, got a string"},
           {deployment(R"("rpm": 1.5)"), d + ".rpm", "expected an integer"},
           {deployment(R"("tpm": -3)"), d + ".tpm", "expected an integer >= 0"},
           {deployment(R"("max_concurrency": true)"), d + ".max_concurrency", "expected an integer, got a boolean"},
           {deployment(R"("provider": "watsonx")"), d + ".provider", "provider 'watsonx' is not supported yet"},
           {deployment(R"("provider": "azure")"), d + ".base_url", "required for provider azure"},
           {deployment(R"("base_url": "ftp://x")"), d + ".base_url", "expected an http:// or https:// URL"},
           {deployment(R"("api_key": ["k", 7])"), d + ".api_key[1]",
            "expected an API key string or {key, rpm, tpm}, got a number"},
           {deployment(R"("api_key": [{"rpm": 5}])"), d + ".api_key[0].key", "required"},
           {deployment(R"("api_key": [{"key": "k", "rpm": -5}])"), d + ".api_key[0].rpm", "expected an integer >= 0"},
           {deployment(R"("key_rpm": 5)"), d + ".api_key", "required"},
           {deployment(R"("credentials": 5)"), d + ".credentials", "expected a path to a service-account JSON file"},
           {deployment(R"("api_key": [])"), d + ".api_key", "expected at least one API key"},
           {deployment(R"("api_key": "")"), d + ".api_key", "expected a non-empty API key"},
           {deployment(R"("api_key": {"k": 1})"), d + ".api_key",
            "expected a string or a list of strings, got an object"},
           {deployment(R"("tags": "eu")"), d + ".tags", "expected a list, got a string"},
           {deployment(R"("price": {"input": -1})"), d + ".price.input", "expected a number in [0, 1000000000]"},
           {deployment(R"("price": 3)"), d + ".price", "expected an object, got a number"},
           {deployment(R"("headers": {"X-A": 1})"), d + ".headers.X-A", "expected a string"},
           {deployment(R"("model": "")"), d + ".model", "expected a non-empty string"},
           {R"({"groups": {"smart": {"deployments": [{"weight": 1}]}}})", d + ".model", "required"},
           {R"({"groups": {"smart": {}}})", "groups.smart.deployments", "required"},
           {R"({"groups": {"smart": {"deployments": []}}})", "groups.smart.deployments",
            "expected at least one deployment"},
           {R"({"groups": {"smart": {"deployments": {"model": "m"}}}})", "groups.smart.deployments",
            "expected a list, got an object"},
           {R"({"groups": {"smart": {"deployments": ["gpt-4o"]}}})", d, "expected an object, got a string"},
           {R"({"groups": {"gpt-3.5": {"deployments": [{"model": "m", "weight": "x"}]}}})",
            R"(groups["gpt-3.5"].deployments[0].weight)", "expected a number"},
           {R"({"groups": {"a": {"deployments": [{"model": "m", "id": "x"}]},
                           "b": {"deployments": [{"model": "m", "id": "x"}]}}})",
            "groups.b.deployments[0].id", "duplicate deployment id 'x'"},
           {R"({"groups": {}})", "groups", "expected at least one group"},
           {R"({"fallbacks": {}})", "groups", "required"},
       })
    expect_error(bad);
}

TEST(ConfigErrors, Policies) {
  for (const auto& bad : std::vector<Bad>{
           {policy(R"({"retry": {"max_attempts": 6}})"), "defaults.retry.max_attempts",
            "expected an integer in [1, 5]"},
           {policy(R"({"retry": {"max_attempts": 0}})"), "defaults.retry.max_attempts", "in [1, 5]"},
           {policy(R"({"retry": {"backoff_base": "30s"}})"), "defaults.retry.backoff_base",
            "expected backoff_base <= backoff_cap (30s > 20s)"},
           {policy(R"({"retry": {"backoff_base": "30s", "backoff_cap": "1s"}})"), "defaults.retry.backoff_cap",
            "expected backoff_base <= backoff_cap"},
           {policy(R"({"timeouts": {"first_token": "5 parsecs"}})"), "defaults.timeouts.first_token",
            "expected a duration: seconds as a number, or a string like \"500ms\""},
           {policy(R"({"timeouts": {"idle": -1}})"), "defaults.timeouts.idle", "expected a duration"},
           {policy(R"({"timeouts": {"idle": "-1s"}})"), "defaults.timeouts.idle", "expected a duration"},
           {policy(R"({"timeouts": {"idle": "1m2"}})"), "defaults.timeouts.idle", "expected a duration"},
           {policy(R"({"timeouts": {"idle": ""}})"), "defaults.timeouts.idle", "expected a duration"},
           {policy(R"({"timeouts": {"idle": true}})"), "defaults.timeouts.idle", "got a boolean"},
           {policy(R"({"timeouts": {"connect": 0}})"), "defaults.timeouts.connect", "expected a duration >= 1ms"},
           {policy(R"({"budget": {"ttl": 0.5}})"), "defaults.budget.ttl", "expected a duration >= 1s"},
           {policy(R"({"budget": {"ttl": "2m"}})"), "defaults.budget.ttl", "expected a duration <= 60s"},
           {policy(R"({"budget": {"percent_can_retry": 11}})"), "defaults.budget.percent_can_retry", "in [0, 10]"},
           {policy(R"({"breaker": {"initial_state": "half"}})"), "defaults.breaker.initial_state",
            "expected one of closed, disabled, metrics_only, forced_open"},
           {policy(R"({"breaker": {"window": 5}})"), "defaults.breaker.window",
            "expected one of count_based, time_based, got a number"},
           {policy(R"({"breaker": {"failure_rate_threshold": 101}})"), "defaults.breaker.failure_rate_threshold",
            "expected a number in [0, 100]"},
           {policy(R"({"breaker": {"open_base": "10m"}})"), "defaults.breaker.open_base",
            "expected open_base <= open_cap"},
           {policy(R"({"breaker": {"open_multiplier": 0.5}})"), "defaults.breaker.open_multiplier", "in [1, 100]"},
           {policy(R"({"ramp": {"steps": [0.5, 0.2, 1]}})"), "defaults.ramp.steps[1]", "increasing"},
           {policy(R"({"ramp": {"steps": [0.5]}})"), "defaults.ramp.steps[0]", "expected the last step to be 1"},
           {policy(R"({"ramp": {"steps": []}})"), "defaults.ramp.steps", "expected at least one step"},
           {policy(R"([])"), "defaults", "expected an object, got a list"},
           {deployment("", R"("stream_recovery": "retry")"), "stream_recovery", "expected one of error, continue"},
           {deployment("", R"("routing_strategy": "round-robin")"), "routing_strategy",
            "expected one of simple-shuffle, least-busy"},
           {deployment("", R"("degraded_answer": 42)"), "degraded_answer", "expected a string, got a number"},
       })
    expect_error(bad);
  // A group's policy is checked at its own path, on top of the defaults.
  expect_error({R"({"groups": {"smart": {"deployments": [{"model": "m"}],
                                         "policy": {"retry": {"max_attempts": 9}}}}})",
                "groups.smart.policy.retry.max_attempts", "expected an integer in [1, 5]"});
}

TEST(ConfigErrors, HealthChecks) {
  const std::string h = "defaults.health_check";
  const std::string d = "groups.smart.deployments[0].health_check";
  for (const auto& bad : std::vector<Bad>{
           {policy(R"({"health_check": {"interval": "50ms"}})"), h + ".interval", "expected a duration >= 100ms"},
           {policy(R"({"health_check": {"timeout": 0}})"), h + ".timeout", "expected a duration >= 1ms"},
           {policy(R"({"health_check": {"timeout": "40s"}})"), h + ".timeout",
            "expected timeout <= interval (40s > 30s)"},
           {policy(R"({"health_check": {"timeout": "2s", "interval": "1s"}})"), h + ".interval",
            "expected timeout <= interval"},
           {policy(R"({"health_check": {"unhealthy_threshold": 0}})"), h + ".unhealthy_threshold",
            "expected an integer >= 1"},
           {policy(R"({"health_check": {"healthy_threshold": 1.5}})"), h + ".healthy_threshold", "expected an integer"},
           {policy(R"({"health_check": {"interval_jitter_percent": 101}})"), h + ".interval_jitter_percent",
            "expected a number in [0, 100]"},
           {policy(R"({"health_check": {"path": "models"}})"), h + ".path", "expected a path starting with '/'"},
           {policy(R"({"health_check": {"prompt": ""}})"), h + ".prompt", "expected a non-empty string"},
           {policy(R"({"health_check": {"enabled": "yes"}})"), h + ".enabled", "expected true or false"},
           {policy(R"({"health_check": true})"), h, "expected an object, got a boolean"},
           {deployment(R"("health_check": {"interval": 0.05})"), d + ".interval", "expected a duration >= 100ms"},
           {deployment(R"("health_check": {"path": "v1/models"})"), d + ".path", "expected a path starting with '/'"},
           {deployment(R"("health_check": [])"), d, "expected an object, got a list"},
       })
    expect_error(bad);
  auto c = parse_config(policy(R"({"health_check": {"intervall": "10s"}})"));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("defaults.health_check.intervall"), std::string::npos) << c.warnings[0];
}

TEST(ConfigErrors, Chains) {
  for (const auto& bad : std::vector<Bad>{
           {deployment("", R"("fallbacks": {"smart": ["nope"]})"), "fallbacks.smart[0]",
            "unknown group 'nope' (known: smart, cheap)"},
           {deployment("", R"("fallbacks": {"nope": ["cheap"]})"), "fallbacks.nope", "unknown group 'nope'"},
           {deployment("", R"("fallbacks": [{"smart": ["cheap"]}])"), "fallbacks", "expected an object, got a list"},
           {deployment("", R"("context_window_fallbacks": {"smart": "cheap"})"), "context_window_fallbacks.smart",
            "expected a list, got a string"},
           {deployment("", R"("content_policy_fallbacks": {"smart": [1]})"), "content_policy_fallbacks.smart[0]",
            "expected a string"},
           {deployment("", R"("default_fallbacks": ["cheap", "gone"])"), "default_fallbacks[1]",
            "unknown group 'gone'"},
       })
    expect_error(bad);
}

TEST(ConfigErrors, DocumentAndEnvironment) {
  const std::string d = "groups.smart.deployments[0]";
  for (const auto& bad : std::vector<Bad>{
           {"[1, 2]", "", "expected an object at the top of the config, got a list"},
           {"{\"groups\": {\n  \"smart\": [}", "", "invalid JSON at line 2, column 13"},
           {"", "", "invalid JSON at line 1"},
           {R"({"groups": {"a": {"deployments": [{"model": "m"}]}}, "model_list": []})", "groups",
            "either groups (llmfailover) or model_list (LiteLLM), not both"},
           {deployment(R"("api_key": "${AZURE_KEY}")"), d + ".api_key", "environment variable AZURE_KEY is not set"},
           {deployment(R"("api_key": "os.environ/OPENAI_API_KEY")"), d + ".api_key",
            "environment variable OPENAI_API_KEY is not set"},
           {deployment(R"("base_url": "https://${HOST")"), d + ".base_url", "'${' without '}'"},
           {deployment(R"("base_url": "https://${1X}")"), d + ".base_url", "expected a variable name"},
           {deployment(R"("api_key": "os.environ/")"), d + ".api_key", "expected a variable name"},
           {deployment(R"("rpm": "${RPM}")"), d + ".rpm", "expected a number (from the environment variable)"},
       })
    expect_error(bad, {{"RPM", "lots"}});
}

TEST(ConfigWarnings, UnknownKeysAreListedWithTheirPath) {
  auto c = parse_config(R"({"groups": {"smart": {"deployments": [{"model": "m", "colour": "red"}], "note": 1,
                                     "policy": {"retry": {"jitter": true}}}},
                           "version": 2, "defaults": {"timeout": {"deadline": 1}}})");
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "version: unknown key, ignored",
                            "defaults.timeout: unknown key, ignored",
                            "groups.smart.note: unknown key, ignored",
                            "groups.smart.deployments[0].colour: unknown key, ignored",
                            "groups.smart.policy.retry.jitter: unknown key, ignored",
                        }));
}

// Secrets: a key's value never appears in an error, a warning or the dump.
const std::string kSecret = "sk-TOPSECRET-1234567890";

void expect_secret_kept(const std::string& json) {
  try {
    auto c = parse_config(json, env_of({{"KEY", kSecret}, {"NUM", kSecret}}));
    for (const auto& w : c.warnings) EXPECT_EQ(w.find("TOPSECRET"), std::string::npos) << w;
    EXPECT_EQ(dump_config(c).find("TOPSECRET"), std::string::npos);
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("TOPSECRET"), std::string::npos) << e.what();
    EXPECT_EQ(e.path().find("TOPSECRET"), std::string::npos) << e.path();
  }
}

TEST(ConfigSecrets, NeverInAnErrorWarningOrDump) {
  for (const auto& json : std::vector<std::string>{
           deployment(R"("api_key": ")" + kSecret + R"(", "headers": {"Authorization": ")" + kSecret + R"("})"),
           deployment(R"("api_key": "${KEY}", "base_url": "https://u:)" + kSecret + R"(@h/v1?k=)" + kSecret + "\""),
           deployment(R"("api_key": [")" + kSecret + R"(", 3])"),
           deployment(R"("weight": ")" + kSecret + "\""),
           deployment(R"("rpm": "${NUM}")"),
           deployment(R"("provider": ")" + kSecret + "\""),
           deployment(R"("base_url": ")" + kSecret + "\""),
           deployment(R"("api_key": ")" + kSecret + R"(", "oops": ")" + kSecret + "\""),
           deployment("", R"("stream_recovery": ")" + kSecret + "\""),
           deployment("", R"("routing_strategy": ")" + kSecret + "\""),
           deployment("", R"("defaults": {"timeouts": {"idle": ")" + kSecret + "\"}}"),
           R"({"groups": {"smart": {"deployments": [{"model": "m", "api_key": ")" + kSecret,  // truncated JSON
           R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "gpt-4o", "api_key": ")" + kSecret +
               R"(", "mock_response": ")" + kSecret + R"("}}], "general_settings": {"master_key": ")" + kSecret +
               "\"}}",
       })
    expect_secret_kept(json);
}

TEST(ConfigSecrets, SecretPrintsRedacted) {
  Secret s(kSecret);
  EXPECT_EQ(s.redacted(), "***");
  EXPECT_EQ(Secret().redacted(), "");
}

}  // namespace
}  // namespace llmfailover
