// sigv4_test.cpp — SigV4 against botocore: every vector in fixtures/providers/bedrock/
// sigv4_vectors.jsonl was signed by botocore.auth.SigV4Auth (make_vectors.py there); we must
// produce the same canonical request, string to sign and Authorization header. Plus credential
// and region discovery with injected environment and files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/sigv4.hpp"

namespace llmfailover::providers::sigv4 {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<json> vectors() {
  const fs::path path =
      fs::path(__FILE__).parent_path().parent_path() / "fixtures/providers/bedrock/sigv4_vectors.jsonl";
  std::ifstream in(path);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::chrono::system_clock::time_point parse_time(const std::string& t) {
  std::tm tm{};
  strptime(t.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

TEST(SigV4, VectorsFileIsThere) { EXPECT_GE(vectors().size(), 9u); }

TEST(SigV4, MatchesBotocoreForEveryVector) {
  for (const auto& v : vectors()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    HttpRequest req;
    req.method = v["method"];
    req.url = v["url"];
    req.body = v["body"];
    for (const auto& h : v["headers"]) req.headers.push_back({h[0], h[1]});
    const Credentials creds{v["access_key"], Secret(v["secret_key"]), Secret(v["token"]), "test"};
    const Signature s = sign(req, creds, {v["region"], v["service"], parse_time(v["time"])});
    const json& e = v["expected"];
    EXPECT_EQ(s.canonical_request, e["canonical_request"].get<std::string>());
    EXPECT_EQ(s.string_to_sign, e["string_to_sign"].get<std::string>());
    EXPECT_EQ(s.authorization, e["authorization"].get<std::string>());
    EXPECT_EQ(s.amz_date, e["x_amz_date"].get<std::string>());
    const auto* auth = find_header(req.headers, "authorization");
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(*auth, s.authorization);
    const auto* token = find_header(req.headers, "x-amz-security-token");
    EXPECT_EQ(token != nullptr, !v["token"].get<std::string>().empty());
    if (v.contains("model")) {  // the wire URL is the one botocore renders for the {modelId} label
      const std::string url = v["url"];
      const auto model_at = url.find("/model/");
      const std::string action = url.substr(url.rfind('/') + 1);
      EXPECT_EQ(bedrock::model_url(url.substr(0, model_at), v["region"].get<std::string>(),
                                   v["model"].get<std::string>(), action),
                url);
    }
  }
}

TEST(SigV4, ResigningReplacesTheEarlierSignature) {
  HttpRequest req;
  req.method = "POST";
  req.url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse";
  const Credentials creds{"AKID", Secret("secret"), Secret("tok"), "test"};
  const auto t = parse_time("20240115T083000Z");
  const Signature a = sign(req, creds, {"us-east-1", "bedrock", t});
  const Signature b = sign(req, creds, {"us-east-1", "bedrock", t + std::chrono::seconds(5)});
  EXPECT_NE(a.signature, b.signature);
  int auths = 0, dates = 0, tokens = 0;
  for (const auto& h : req.headers) {
    auths += iequals(h.name, "authorization");
    dates += iequals(h.name, "x-amz-date");
    tokens += iequals(h.name, "x-amz-security-token");
  }
  EXPECT_EQ(auths, 1);
  EXPECT_EQ(dates, 1);
  EXPECT_EQ(tokens, 1);
  EXPECT_EQ(b.signed_headers, "host;x-amz-date;x-amz-security-token");
}

TEST(SigV4, BuildingBlocks) {
  EXPECT_EQ(uri_encode("a:b/c~d e", ""), "a%3Ab%2Fc~d%20e");
  EXPECT_EQ(uri_encode("a%3Ab/c", "/~"), "a%253Ab/c");
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/a/../../b/./c/"), "/b/c/");
  EXPECT_EQ(canonical_query("z=1&a=2&a=1&k"), "a=1&a=2&k=&z=1");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(amz_date(std::chrono::system_clock::from_time_t(0)), "19700101T000000Z");
  EXPECT_THROW(
      {
        HttpRequest bad;
        bad.url = "not a url";
        sign(bad, {}, {"us-east-1", "bedrock", {}});
      },
      std::invalid_argument);
}

// ---- credential and region discovery ---------------------------------------------------------------

struct World {
  std::map<std::string, std::string> env, files;
  EnvLookup env_lookup() const {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = env.find(k);
      return it == env.end() ? std::nullopt : std::optional(it->second);
    };
  }
  FileReader file_reader() const {
    return [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      return it == files.end() ? std::nullopt : std::optional(it->second);
    };
  }
};

constexpr const char* kCredentials =
    "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key=secretdefault\n\n"
    "[dev]\n  aws_access_key_id=AKIDDEV  \naws_secret_access_key = secretdev\naws_session_token = tokdev\n";

TEST(Credentials, EnvironmentWinsOverTheFile) {
  World w;
  w.env = {
      {"HOME", "/h"}, {"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SESSION_TOKEN", "t"}};
  w.files = {{"/h/.aws/credentials", kCredentials}};
  const auto c = load_credentials(w.env_lookup(), w.file_reader());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->session_token.reveal(), "t");
  EXPECT_EQ(c->source, "environment");
}

TEST(Credentials, SharedFileDefaultAndProfile) {
  World w;
  w.env = {{"HOME", "/h"}};
  w.files = {{"/h/.aws/credentials", kCredentials}, {"/elsewhere", kCredentials}};
  auto c = load_credentials(w.env_lookup(), w.file_reader());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_TRUE(c->session_token.empty());
  w.env["AWS_PROFILE"] = "dev";
  w.env["AWS_SHARED_CREDENTIALS_FILE"] = "/elsewhere";
  c = load_credentials(w.env_lookup(), w.file_reader());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDDEV");
  EXPECT_EQ(c->secret_access_key.reveal(), "secretdev");
  EXPECT_EQ(c->session_token.reveal(), "tokdev");
  EXPECT_EQ(c->source, "shared credentials file (profile dev)");
  w.env["AWS_PROFILE"] = "missing";
  EXPECT_FALSE(load_credentials(w.env_lookup(), w.file_reader()));
}

TEST(Credentials, NothingConfigured) {
  World w;
  w.env = {{"HOME", "/h"}, {"AWS_ACCESS_KEY_ID", "only-half"}};
  EXPECT_FALSE(load_credentials(w.env_lookup(), w.file_reader()));
}

TEST(Region, EnvironmentThenConfigFile) {
  World w;
  w.env = {{"HOME", "/h"}};
  w.files = {{"/h/.aws/config", "[default]\nregion = eu-central-1\n[profile dev]\nregion=us-west-2\n"}};
  EXPECT_EQ(load_region(w.env_lookup(), w.file_reader()), "eu-central-1");
  w.env["AWS_PROFILE"] = "dev";
  EXPECT_EQ(load_region(w.env_lookup(), w.file_reader()), "us-west-2");
  w.env["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(load_region(w.env_lookup(), w.file_reader()), "ap-south-1");
  w.env["AWS_REGION"] = "sa-east-1";
  EXPECT_EQ(load_region(w.env_lookup(), w.file_reader()), "sa-east-1");
  EXPECT_EQ(load_region(World{}.env_lookup(), World{}.file_reader()), "");
}

}  // namespace
}  // namespace llmfailover::providers::sigv4
