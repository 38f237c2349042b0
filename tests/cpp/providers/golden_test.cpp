// golden_test.cpp — golden translation fixtures, one JSON file per case, under
// tests/cpp/fixtures/providers/<provider>/. Each file holds its input and the expected output:
//   {"kind": "request",  "provider", "endpoint": {...}, "stream": bool, "openai": {...},
//    "expected": {"method", "url", "headers": {...}, "body": {...}, "warnings": [...]}}
//   {"kind": "response", "provider", "body": {...}, "expected": {...ChatCompletion}}
//   {"kind": "stream",   "provider", "request": {...}, "events": [[event, data], ...],
//    "expected": [chunk | "[DONE]", ...], "expected_error": {cls, reason} (optional)}
//   {"kind": "error",    "provider", "request", "expected_error": {parameter, message_contains}}
// "created" is removed from outputs before comparing. LLMFAILOVER_UPDATE_GOLDEN=1 rewrites
// "expected" from the current output (review the diff before committing).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llmfailover/providers/provider.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path fixture_root() { return fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "providers"; }

std::vector<fs::path> fixtures() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fixture_root())) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

json strip_created(json j) {
  if (j.is_object()) j.erase("created");
  return j;
}

Endpoint endpoint(const json& e) {
  Endpoint ep;
  ep.base_url = e.value("base_url", "");
  ep.api_key = Secret(e.value("api_key", "test-key"));
  ep.model = e.value("model", "");
  ep.api_version = e.value("api_version", "");
  ep.region = e.value("region", "");
  ep.project = e.value("project", "");
  return ep;
}

json run_request(const Provider& p, const json& fx) {
  json openai = fx["openai"];
  const Endpoint ep = endpoint(fx.value("endpoint", json::object()));
  if (!ep.model.empty()) openai["model"] = ep.model;
  const TranslatedRequest t = p.chat_request(ep, openai, fx.value("stream", false), Timeouts{});
  json headers = json::object();
  for (const auto& h : t.http.headers) headers[h.name] = h.value;
  return {{"method", t.http.method},
          {"url", t.http.url},
          {"headers", headers},
          {"body", json::parse(t.http.body)},
          {"warnings", t.warnings}};
}

json run_stream(const Provider& p, const json& fx, std::optional<ErrorVerdict>& error) {
  auto tr = p.stream_translator(endpoint(fx.value("endpoint", json::object())), fx.value("request", json::object()));
  std::vector<std::string> chunks;
  for (const auto& ev : fx["events"]) {
    const std::string data = ev[1].is_string() ? ev[1].get<std::string>() : ev[1].dump();
    tr->on_sse(ev[0].get<std::string>(), data, chunks, error);
    if (error) break;
  }
  json out = json::array();
  for (const auto& c : chunks) out.push_back(c == "[DONE]" ? json("[DONE]") : strip_created(json::parse(c)));
  return out;
}

class Golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(Golden, Matches) {
  const fs::path path = GetParam();
  std::ifstream in(path);
  json fx = json::parse(in);
  const Provider* p = find_provider(fx["provider"].get<std::string>());
  ASSERT_NE(p, nullptr) << fx["provider"];
  const std::string kind = fx["kind"];
  json actual;
  std::optional<ErrorVerdict> error;
  if (kind == "request") {
    actual = run_request(*p, fx);
  } else if (kind == "response") {
    actual =
        strip_created(json::parse(p->chat_response(endpoint(fx.value("endpoint", json::object())), fx["body"].dump())));
  } else if (kind == "stream") {
    actual = run_stream(*p, fx, error);
  } else if (kind == "error") {
    try {
      run_request(*p, fx);
      FAIL() << "no TranslationError";
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), fx["provider"]);
      EXPECT_EQ(e.parameter(), fx["expected_error"]["parameter"]);
      EXPECT_NE(std::string(e.what()).find(fx["expected_error"]["message_contains"].get<std::string>()),
                std::string::npos)
          << e.what();
    }
    return;
  } else {
    FAIL() << "unknown kind " << kind;
  }
  if (std::getenv("LLMFAILOVER_UPDATE_GOLDEN")) {
    fx["expected"] = actual;
    if (error) fx["expected_error"] = {{"cls", to_string(error->cls)}, {"reason", error->reason}};
    std::ofstream(path) << fx.dump(2) << "\n";
    return;
  }
  EXPECT_EQ(actual, fx["expected"]) << path.filename() << "\nactual: " << actual.dump(2);
  if (fx.contains("expected_error")) {
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(to_string(error->cls), fx["expected_error"]["cls"].get<std::string>());
    EXPECT_EQ(error->reason, fx["expected_error"]["reason"]);
  } else {
    EXPECT_FALSE(error.has_value()) << error->reason;
  }
}

std::string case_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.parent_path().filename().string() + "_" + info.param.stem().string();
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Providers, Golden, ::testing::ValuesIn(fixtures()), case_name);

TEST(GoldenFixtures, EveryProviderWithAnAdapterHasSome) {
  std::set<std::string> dirs;
  for (const auto& f : fixtures()) dirs.insert(f.parent_path().filename().string());
  for (const char* p : {"anthropic", "gemini", "mistral", "openai", "azure"}) EXPECT_TRUE(dirs.count(p)) << p;
}

}  // namespace
}  // namespace llmfailover::providers
