// parse_config on LiteLLM proxy configs: model_list, litellm_params, model_info, router_settings and
// litellm_settings mapped onto RouterConfig; what is ignored becomes a warning, listed once.
#include <gtest/gtest.h>

#include <algorithm>

#include <map>

#include "llmfailover/config.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;
using Vars = std::map<std::string, std::string>;
using Chains = std::map<std::string, std::vector<std::string>>;

EnvLookup env_of(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

RouterConfig parse(const std::string& json, Vars vars = {}) { return parse_config(json, env_of(std::move(vars))); }

std::string error_of(const std::string& json, Vars vars = {}, std::string* path = nullptr) {
  try {
    parse(json, std::move(vars));
  } catch (const ConfigError& e) {
    if (path) *path = e.path();
    return e.what();
  }
  return "(no error)";
}

// The example of litellm.md §2, as JSON.
const std::string kDocExample = R"({
  "model_list": [
    {"model_name": "gpt-4o", "litellm_params": {"model": "azure/gpt-4o-eu", "api_key": "os.environ/AZ_KEY",
                                              "api_base": "os.environ/AZ_BASE", "rpm": 900, "order": 1}},
    {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY",
                                              "rpm": 100, "order": 2, "timeout": 30}},
    {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-sonnet-4-5",
                                              "api_key": "os.environ/ANTHROPIC_API_KEY"}}
  ],
  "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 2, "cooldown_time": 30,
    "fallbacks": [{"gpt-4o": ["claude"]}], "enable_pre_call_checks": true, "redis_host": "os.environ/REDIS_HOST"},
  "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY", "background_health_checks": true}
})";

const Vars kVars = {{"AZ_KEY", "az-secret"},
                    {"AZ_BASE", "https://eu.openai.azure.com/"},
                    {"OPENAI_API_KEY", "sk-secret"},
                    {"ANTHROPIC_API_KEY", "ant-secret"}};

std::string replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(ConfigLiteLlm, DocExampleLoadsWithItsAnthropicDeployment) {
  auto c = parse_config(kDocExample, env_of(kVars));
  auto it = std::find_if(c.deployments.begin(), c.deployments.end(), [](auto& d) { return d.provider == "anthropic"; });
  ASSERT_NE(it, c.deployments.end());
  EXPECT_EQ(it->model, "claude-sonnet-4-5");
  EXPECT_EQ(it->base_url, "https://api.anthropic.com");  // the provider's own default, from the registry
}

TEST(ConfigLiteLlm, ProviderAliasesAndUnknownProviders) {
  auto c = parse_config(R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "together_ai/llama"}}]})");
  EXPECT_EQ(c.deployments[0].provider, "together");
  std::string path;
  auto what =
      error_of(R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "watsonx/granite"}}]})", {}, &path);
  EXPECT_EQ(path, "model_list[0].litellm_params.model");
  EXPECT_NE(what.find("provider 'watsonx' is not supported yet"), std::string::npos) << what;
}

TEST(ConfigLiteLlm, DocExampleWithAnOpenAiFallback) {
  auto json = replace(kDocExample, "anthropic/claude-sonnet-4-5", "gpt-4o-mini");
  auto c = parse(json, kVars);
  ASSERT_EQ(c.deployments.size(), 3u);
  const auto& az = c.deployments[0];
  EXPECT_EQ(az.id, "gpt-4o#0");
  EXPECT_EQ(az.group, "gpt-4o");
  EXPECT_EQ(az.provider, "azure");
  EXPECT_EQ(az.model, "gpt-4o-eu");
  EXPECT_EQ(az.base_url, "https://eu.openai.azure.com");
  EXPECT_EQ(az.api_keys, std::vector<Secret>{Secret("az-secret")});
  EXPECT_EQ(az.rpm, 900);
  EXPECT_EQ(az.priority, 1);
  const auto& oa = c.deployments[1];
  EXPECT_EQ(oa.id, "gpt-4o#1");
  EXPECT_EQ(oa.provider, "openai");
  EXPECT_EQ(oa.model, "gpt-4o");
  EXPECT_EQ(oa.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(oa.priority, 2);
  EXPECT_EQ(c.deployments[2].model, "gpt-4o-mini");
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"gpt-4o", "claude"}));
  EXPECT_EQ(c.fallbacks, (Chains{{"gpt-4o", {"claude"}}}));
  EXPECT_EQ(c.routing_strategy, "simple-shuffle");
  EXPECT_EQ(c.defaults.retry.max_attempts, 3);  // num_retries 2 + the first attempt
  EXPECT_EQ(c.defaults.breaker.open_base, 30s);
  auto gpt4o = c.defaults;  // the deployment timeout becomes the group's first_token limit
  gpt4o.timeouts.first_token = 30s;
  EXPECT_EQ(c.policy_for("gpt-4o"), gpt4o);
  EXPECT_EQ(&c.policy_for("claude"), &c.defaults);
  // REDIS_HOST and LITELLM_MASTER_KEY are unset: ignored settings are never resolved.
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "router_settings.enable_pre_call_checks: ignored (LiteLLM setting not used by llmfailover)",
                            "router_settings.redis_host: ignored (LiteLLM setting not used by llmfailover)",
                            "general_settings.master_key: ignored (LiteLLM proxy setting not used by llmfailover)",
                            "general_settings.background_health_checks: LiteLLM runs these for its /health endpoint "
                            "only; set router_settings.enable_health_check_routing to probe for routing",
                        }));
  EXPECT_FALSE(c.defaults.health_check.enabled);
}

TEST(ConfigLiteLlm, BackgroundHealthChecksWithHealthCheckRoutingBecomeProbes) {
  auto c = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o"}}],
    "general_settings": {"background_health_checks": true, "health_check_interval": 60, "master_key": "x"},
    "router_settings": {"enable_health_check_routing": true}})");
  HealthCheckConfig h;
  h.enabled = true;
  h.interval = 60s;
  h.unhealthy_threshold = h.healthy_threshold = 1;  // LiteLLM: one failed check marks it unhealthy
  EXPECT_EQ(c.defaults.health_check, h);
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "general_settings.master_key: ignored (LiteLLM proxy setting not used by llmfailover)"}));
}

TEST(ConfigLiteLlm, ModelPrefixes) {
  auto c = parse(R"({"model_list": [
    {"model_name": "a", "litellm_params": {"model": "gpt-4o"}},
    {"model_name": "b", "litellm_params": {"model": "openai/meta-llama/Llama-3-8B", "api_base": "http://vllm:8000/v1"}},
    {"model_name": "c", "litellm_params": {"model": "azure/my-deployment", "api_base": "https://r.openai.azure.com",
                                          "api_version": "2024-06-01"}},
    {"model_name": "d", "litellm_params": {"model": "my-dep", "custom_llm_provider": "azure",
                                          "base_url": "https://r.openai.azure.com"}}]})");
  EXPECT_EQ(c.deployments[0].provider, "openai");
  EXPECT_EQ(c.deployments[0].model, "gpt-4o");
  EXPECT_EQ(c.deployments[1].model, "meta-llama/Llama-3-8B");
  EXPECT_EQ(c.deployments[1].base_url, "http://vllm:8000/v1");
  EXPECT_EQ(c.deployments[2].provider, "azure");
  EXPECT_EQ(c.deployments[2].model, "my-deployment");
  EXPECT_EQ(c.deployments[2].api_version, "2024-06-01");
  EXPECT_EQ(c.deployments[3].provider, "azure");
  EXPECT_EQ(c.deployments[3].model, "my-dep");
}

TEST(ConfigLiteLlm, DeploymentFields) {
  auto c = parse(R"({"model_list": [
    {"model_name": "g", "rpm": 1, "tpm": 2, "model_info": {"id": "dep-1", "tpm": 20, "mode": "chat"},
     "litellm_params": {"model": "gpt-4o", "api_key": "k", "tpm": 200, "weight": 3, "tags": ["eu"],
                        "region_name": "eu", "input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5,
                        "max_parallel_requests": 4, "organization": "org-1", "extra_headers": {"X-A": "b"}}},
    {"model_name": "g", "model_info": {"id": 7}, "litellm_params": {"model": "gpt-4o"}}],
    "router_settings": {"default_max_parallel_requests": 9}})");
  const auto& d = c.deployments[0];
  EXPECT_EQ(d.id, "dep-1");
  EXPECT_EQ(d.rpm, 1);    // from the entry
  EXPECT_EQ(d.tpm, 200);  // litellm_params wins over model_info and the entry
  EXPECT_EQ(d.weight, 3.0);
  EXPECT_EQ(d.tags, std::vector<std::string>{"eu"});
  EXPECT_EQ(d.region, "eu");
  EXPECT_DOUBLE_EQ(d.input_price_per_mtok, 2.5);
  EXPECT_DOUBLE_EQ(d.output_price_per_mtok, 10.0);
  EXPECT_EQ(d.max_concurrency, 4);
  EXPECT_EQ(d.organization, "org-1");
  EXPECT_EQ(d.headers, (Headers{{"X-A", "b"}}));
  EXPECT_EQ(c.deployments[1].id, "7");
  EXPECT_EQ(c.deployments[1].max_concurrency, 9);
  EXPECT_EQ(c.warnings, std::vector<std::string>{
                            "model_list[0].model_info.mode: ignored (model_info metadata not used by llmfailover)"});
}

TEST(ConfigLiteLlm, RouterSettingsMapOntoDefaults) {
  auto c = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}],
    "litellm_settings": {"request_timeout": 90, "num_retries": 1},
    "router_settings": {"num_retries": 3, "stream_timeout": "15s", "allowed_fails": 3, "cooldown_time": 600,
                        "routing_strategy": "latency-based-routing"}})");
  const auto& p = c.defaults;
  EXPECT_EQ(p.retry.max_attempts, 4);            // router_settings wins over litellm_settings
  EXPECT_EQ(p.timeouts.deadline, 90s);           // request_timeout
  EXPECT_EQ(p.timeouts.idle, 15s);               // stream_timeout
  EXPECT_EQ(p.breaker.consecutive_failures, 4);  // the 4th failure opens (LiteLLM: fails > allowed_fails)
  EXPECT_EQ(p.breaker.open_base, 600s);
  EXPECT_EQ(p.breaker.open_cap, 600s);  // raised to the cooldown
  EXPECT_EQ(c.routing_strategy, "latency-based-routing");
  EXPECT_TRUE(c.warnings.empty());
  auto t = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}],
                     "router_settings": {"timeout": "45s", "disable_cooldowns": true}})");
  EXPECT_EQ(t.defaults.timeouts.deadline, 45s);
  EXPECT_EQ(t.defaults.breaker.initial_state, "disabled");
  auto z = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}],
                     "router_settings": {"cooldown_time": 0}})");
  EXPECT_EQ(z.defaults.breaker.initial_state, "disabled");
}

TEST(ConfigLiteLlm, RetriesAreCappedAndRetryPolicyMapped) {
  auto c = parse(R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "gpt-4o"}},
                                    {"model_name": "h", "litellm_params": {"model": "gpt-4o", "num_retries": 9}}],
    "router_settings": {"num_retries": 0,
      "retry_policy": {"RateLimitErrorRetries": 3, "TimeoutErrorRetries": 1, "AuthenticationErrorRetries": 0,
                       "BadRequestErrorRetries": 2},
      "model_group_retry_policy": {"g": {"InternalServerErrorRetries": 0}}}})");
  EXPECT_EQ(c.defaults.retry.max_attempts, 4);  // the largest retryable count wins over num_retries
  EXPECT_EQ(c.policy_for("g").retry.max_attempts, 1);
  EXPECT_EQ(c.policy_for("h").retry.max_attempts, 5);
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "router_settings.retry_policy.BadRequestErrorRetries: not mapped: llmfailover does not "
                            "retry this error on the same deployment (it fails over)",
                            "router_settings.retry_policy: per-class retry counts differ; llmfailover uses one "
                            "count for all retryable errors: the largest",
                            "model_list[1].litellm_params.num_retries: capped: llmfailover makes at most 5 attempts "
                            "per deployment (4 retries)",
                        }));
}

TEST(ConfigLiteLlm, FallbackShapes) {
  const std::string models = R"("model_list": [{"model_name": "a", "litellm_params": {"model": "gpt-4o"}},
    {"model_name": "b", "litellm_params": {"model": "gpt-4o"}}, {"model_name": "c", "litellm_params": {"model": "x"}}])";
  auto c = parse("{" + models + R"(, "router_settings": {
      "fallbacks": [{"a": ["b", "c"]}, {"b": ["c"], "*": ["c"]}],
      "context_window_fallbacks": {"a": ["c"]}},
    "litellm_settings": {"fallbacks": [{"c": ["a"]}], "content_policy_fallbacks": [{"a": ["b"]}]}})");
  EXPECT_EQ(c.fallbacks, (Chains{{"a", {"b", "c"}}, {"b", {"c"}}}));
  EXPECT_EQ(c.default_fallbacks, std::vector<std::string>{"c"});
  EXPECT_EQ(c.context_window_fallbacks, (Chains{{"a", {"c"}}}));
  EXPECT_EQ(c.content_policy_fallbacks, (Chains{{"a", {"b"}}}));
  EXPECT_EQ(c.warnings,
            std::vector<std::string>{"litellm_settings.fallbacks: overridden by router_settings.fallbacks"});
  auto d = parse("{" + models + R"(, "litellm_settings": {"default_fallbacks": ["b"]}})");
  EXPECT_EQ(d.default_fallbacks, std::vector<std::string>{"b"});
}

TEST(ConfigLiteLlm, ErrorPaths) {
  const std::string one =
      R"({"model_list": [{"model_name": "gpt-3.5-turbo", "litellm_params": {"model": "gpt-4o"}}], )";
  struct Case {
    std::string json, path, message;
  };
  for (
      const auto& [json, path, message] : std::vector<Case>{
          {one + R"("router_settings": {"fallbacks": [{"gpt-3.5-turbo": ["gpt-4"]}]}})",
           R"(router_settings.fallbacks[0]["gpt-3.5-turbo"][0])", "unknown group 'gpt-4' (known: gpt-3.5-turbo)"},
          {one + R"("router_settings": {"fallbacks": [["gpt-3.5-turbo"]]}})", "router_settings.fallbacks[0]",
           "expected an object, got a list"},
          {one + R"("router_settings": {"num_retries": -1}})", "router_settings.num_retries", "expected an integer"},
          {one + R"("router_settings": {"timeout": "soon"}})", "router_settings.timeout", "expected a duration"},
          {one + R"("router_settings": {"model_group_retry_policy": {"x": {}}}})",
           "router_settings.model_group_retry_policy.x", "unknown group 'x'"},
          {one + R"("litellm_settings": []})", "litellm_settings", "expected an object, got a list"},
          {R"({"model_list": {}})", "model_list", "expected a list, got an object"},
          {R"({"model_list": []})", "model_list", "expected at least one deployment"},
          {R"({"model_list": [{"litellm_params": {"model": "m"}}]})", "model_list[0].model_name", "required"},
          {R"({"model_list": [{"model_name": "a"}]})", "model_list[0].litellm_params", "required"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {}}]})", "model_list[0].litellm_params.model",
           "required"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "azure/x"}}]})",
           "model_list[0].litellm_params.api_base", "required for azure deployments"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/"}}]})",
           "model_list[0].litellm_params.model", "expected a model name after the provider prefix"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "sagemaker/claude"}}]})",
           "model_list[0].litellm_params.model", "provider 'sagemaker' is not supported yet"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "x", "custom_llm_provider": "watsonx"}}]})",
           "model_list[0].litellm_params.custom_llm_provider", "provider 'watsonx' is not supported yet"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "m", "api_base": "localhost:8000"}}]})",
           "model_list[0].litellm_params.api_base", "expected an http:// or https:// URL"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "m", "api_key": "os.environ/NOPE"}}]})",
           "model_list[0].litellm_params.api_key", "environment variable NOPE is not set"},
          {R"({"model_list": [{"model_name": "a", "litellm_params": {"model": "m", "rpm": "many"}}]})",
           "model_list[0].litellm_params.rpm", "expected an integer, got a string"},
          {R"({"model_list": [{"model_name": "a", "model_info": {"id": "x"}, "litellm_params": {"model": "m"}},
                               {"model_name": "b", "model_info": {"id": "x"}, "litellm_params": {"model": "m"}}]})",
           "model_list[1].model_info.id", "duplicate deployment id 'x'"},
      }) {
    std::string got;
    auto what = error_of(json, {}, &got);
    EXPECT_EQ(got, path) << what;
    EXPECT_NE(what.find(message), std::string::npos) << what;
  }
}

TEST(ConfigLiteLlm, IgnoredKeysAreListedOnce) {
  auto c = parse(R"({"model_list": [
    {"model_name": "a", "litellm_params": {"model": "gpt-4o", "mock_response": "hi", "frobnicate": 1}},
    {"model_name": "a", "litellm_params": {"model": "gpt-4o", "mock_response": "hi", "frobnicate": 1}},
    {"model_name": "a", "litellm_params": {"model": "gpt-4o", "mock_response": "hi"}, "extra": 1}],
    "router_settings": {"routing_strategy": "lar1", "max_fallbacks": 3}, "whatever": {}})");
  EXPECT_EQ(c.routing_strategy, "simple-shuffle");
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "whatever: unknown key, ignored",
                            "router_settings.max_fallbacks: ignored (LiteLLM setting not used by llmfailover)",
                            "router_settings.routing_strategy: unknown routing strategy, using simple-shuffle",
                            "model_list[0].litellm_params.mock_response: ignored (LiteLLM setting not used by "
                            "llmfailover) (also in 2 more entries)",
                            "model_list[0].litellm_params.frobnicate: unknown key, ignored (also in 1 more entry)",
                            "model_list[2].extra: unknown key, ignored",
                        }));
}

TEST(ConfigLiteLlm, GroupLevelSettingsFromDeployments) {
  auto c = parse(R"({"model_list": [
    {"model_name": "a", "litellm_params": {"model": "gpt-4o", "timeout": 10, "stream_timeout": 5, "order": 1}},
    {"model_name": "a", "litellm_params": {"model": "gpt-4o", "timeout": 20, "max_retries": 1}}]})");
  EXPECT_EQ(c.policy_for("a").timeouts.first_token, 20s);
  EXPECT_EQ(c.policy_for("a").timeouts.idle, 5s);
  EXPECT_EQ(c.policy_for("a").retry.max_attempts, 2);
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "model_list[1].litellm_params.timeout: differs between deployments of one group; "
                            "llmfailover keeps one value per group: the largest",
                            "model_list[1].litellm_params: no order in a group that uses order: priority 0, tried "
                            "before order 1",
                        }));
}

TEST(ConfigLiteLlm, EnvironmentVariablesSection) {
  auto c = parse(R"({"environment_variables": {"AZ": "from-config", "N": 5},
    "model_list": [{"model_name": "a", "litellm_params": {"model": "gpt-4o", "api_key": "os.environ/AZ",
                                                          "rpm": "os.environ/N", "organization": "${ORG}"}}]})",
                 {{"AZ", "from-process"}, {"ORG", "o"}});
  EXPECT_EQ(c.deployments[0].api_keys[0].reveal(), "from-config");
  EXPECT_EQ(c.deployments[0].rpm, 5);
  EXPECT_EQ(c.deployments[0].organization, "o");
}

}  // namespace
}  // namespace llmfailover
