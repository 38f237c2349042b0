// config_hardening_test.cpp — hostile configs (issue 10, items 2 and 5): nesting past the JSON limit
// and oversized texts are ConfigErrors naming the place; CR, LF and NUL never reach a header, a URL
// or a path, whether written in the file or read from the environment, and the error never shows
// the value.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "llmfailover/config.hpp"
#include "llmfailover/json.hpp"

namespace llmfailover {
namespace {

using Vars = std::map<std::string, std::string>;

const std::string kSecret = "sk-TOPSECRET-0123456789";

EnvLookup vars(Vars v) {
  return [v = std::move(v)](const std::string& name) -> std::optional<std::string> {
    auto it = v.find(name);
    return it == v.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string deep(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

ConfigError error_of(const std::string& text, const Vars& env = {}) {
  try {
    parse_config(text, vars(env));
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no ConfigError for " << text.substr(0, 200);
  return ConfigError("", "");
}

// Before parse_json, each of these overflowed the stack: the value was built, then dumped or
// copied recursively (the inline credentials object and LiteLLM environment_variables are dumped).
TEST(ConfigHardening, NestedAMillionLevelsIsAConfigErrorWithThePlace) {
  const std::string inline_credentials = R"({"groups": {"g": {"deployments": [{"provider": "vertex", "model": "m",
    "credentials": {"k": )" + deep(1'000'000) +
                                         "}}]}}}";
  const std::string litellm_env = R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}],
    "environment_variables": {"X": )" +
                                  deep(1'000'000) + "}}";
  for (const auto& text : {inline_credentials, litellm_env}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto e = error_of(text);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    EXPECT_EQ(e.path(), "");
    EXPECT_NE(std::string(e.what()).find("JSON nested deeper than 256 levels at line "), std::string::npos) << e.what();
  }
  // The column is the bracket that opens level 257: `{"a": ` is 6 characters and level 1.
  const auto e = error_of("{\"a\": " + deep(300) + "}");
  EXPECT_STREQ(e.what(), "JSON nested deeper than 256 levels at line 1, column 262");
}

TEST(ConfigHardening, NestingWithinTheLimitStillParses) {
  // 256 levels in a place the parser ignores with a warning: accepted.
  const auto c =
      parse_config("{\"groups\": {\"g\": {\"deployments\": [{\"model\": \"m\"}]}}, \"x\": " + deep(255) + "}");
  EXPECT_EQ(c.deployments.size(), 1u);
}

TEST(ConfigHardening, ALargerTextThan16MiBIsRefused) {
  std::string text = "{\"groups\": {\"g\": {\"deployments\": [{\"model\": \"m\"}]}}, \"pad\": \"";
  text += std::string(kMaxConfigBytes - text.size() - 2, 'x') + "\"}";
  EXPECT_EQ(text.size(), kMaxConfigBytes);
  EXPECT_NO_THROW(parse_config(text));
  text.insert(text.size() - 2, "x");
  const auto e = error_of(text);
  EXPECT_NE(std::string(e.what()).find("the limit is 16777216 (16 MiB)"), std::string::npos) << e.what();
}

struct Injection {
  std::string fields;  // added to the deployment
  std::string path;
};

TEST(ConfigHardening, CrLfAndNulAreRefusedWhereTheyWouldReachTheWire) {
  const std::string d = "groups.g.deployments[0]";
  const std::vector<Injection> cases = {
      {R"("api_key": "k\r\nX-Evil: 1")", d + ".api_key"},
      {R"("api_key": ["ok", "k\nX"])", d + ".api_key[1]"},
      {R"("api_key": [{"key": "k\r"}])", d + ".api_key[0].key"},
      {R"("api_key": "os.environ/KEY_WITH_CRLF")", d + ".api_key"},
      {R"("api_key": "Bearer ${KEY_WITH_CRLF}")", d + ".api_key"},
      {R"("base_url": "https://x.example/v1\r\nHost: evil")", d + ".base_url"},
      {R"("base_url": "os.environ/KEY_WITH_CRLF")", d + ".base_url"},
      {R"("headers": {"X-Team": "a\r\nX-Evil: 1"})", d + ".headers.X-Team"},
      {R"("headers": {"X-Team": "${KEY_WITH_CRLF}"})", d + ".headers.X-Team"},
      {R"("headers": {"X-Team\r\nX-Evil": "1"})", d + "[\"headers\"]"},
      {R"("headers": {"Bad Name": "1"})", d + ".headers[\"Bad Name\"]"},
      {R"("api_version": "2024\r\n")", d + ".api_version"},
      {R"("organization": "org\u0000x")", d + ".organization"},
      {R"("project": "p\n")", d + ".project"},
      {R"("region": "us\r")", d + ".region"},
      {R"("id": "a\nb")", d + ".id"},
  };
  for (const auto& c : cases) {
    const std::string text = R"({"groups": {"g": {"deployments": [{"model": "m", )" + c.fields + "}]}}}";
    const auto e = error_of(text, {{"KEY_WITH_CRLF", kSecret + "\r\nX-Evil: 1"}});
    const std::string what = e.what();
    EXPECT_TRUE(what.find("CR, LF or NUL") != std::string::npos || what.find("header name") != std::string::npos)
        << c.fields << " -> " << what;
    EXPECT_EQ(what.find(kSecret), std::string::npos) << what;
    if (c.path.find("[\"headers\"]") == std::string::npos) {
      EXPECT_EQ(e.path(), c.path) << c.fields << " -> " << what;
    }
  }
  // The model (a path segment for Gemini, Vertex, Azure, Bedrock) and group names too.
  EXPECT_EQ(error_of(R"({"groups": {"g": {"deployments": [{"model": "m\r\n"}]}}})").path(), d + ".model");
  EXPECT_EQ(error_of(R"({"groups": {"g\n": {"deployments": [{"model": "m"}]}}})").path(), "groups[\"g\n\"]");
}

TEST(ConfigHardening, LiteLlmValuesToo) {
  const std::string p = "model_list[0].litellm_params";
  const std::vector<Injection> cases = {
      {R"("api_base": "https://x.example", "api_key": "os.environ/KEY_WITH_CRLF")", p + ".api_key"},
      {R"("api_base": "https://x.example\r\n")", p + ".api_base"},
      {R"("api_base": "https://x.example", "extra_headers": {"X": "a\nb"})", p + ".extra_headers.X"},
      {R"("api_base": "https://x.example", "api_version": "${KEY_WITH_CRLF}")", p + ".api_version"},
  };
  for (const auto& c : cases) {
    const std::string text =
        R"({"model_list": [{"model_name": "g", "litellm_params": {"model": "azure/d", )" + c.fields + "}}]}";
    const auto e = error_of(text, {{"KEY_WITH_CRLF", kSecret + "\n"}});
    EXPECT_EQ(e.path(), c.path) << e.what();
    EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos) << e.what();
  }
  // A line break in a model name from the environment_variables section.
  const auto e = error_of(R"({"environment_variables": {"M": "gpt\r\n"},
    "model_list": [{"model_name": "g", "litellm_params": {"model": "${M}"}}]})");
  EXPECT_EQ(e.path(), p + ".model");
}

// Values only ever sent inside a JSON body, or read as a document, may have line breaks.
TEST(ConfigHardening, MultiLineTextWhereItIsText) {
  const auto c = parse_config(R"({"groups": {"g": {"deployments": [{"model": "m",
      "health_check": {"prompt": "line 1\nline 2"}}]}}, "degraded_answer": "Sorry.\n\nTry later."})");
  EXPECT_EQ(*c.degraded_answer, "Sorry.\n\nTry later.");
  EXPECT_EQ(c.deployments[0].health_check->prompt, "line 1\nline 2");
  const auto v = parse_config(R"({"groups": {"g": {"deployments": [{"provider": "vertex", "model": "m",
      "credentials": "${SA}"}]}}})",
                              vars({{"SA", "{\n  \"type\": \"service_account\"\n}"}}));
  EXPECT_EQ(v.deployments[0].credentials.reveal(), "{\n  \"type\": \"service_account\"\n}");
}

}  // namespace
}  // namespace llmfailover
