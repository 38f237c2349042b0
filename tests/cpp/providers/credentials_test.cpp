// credentials_test.cpp — the registry's credential factory and the service-account Credentials
// (providers/credentials.hpp, google_auth.hpp): which providers get one, configuration errors that
// name the field and never the key, and fetch() over a scripted start_http (single flight, token
// answers, refused answers, transport errors, garbage, a start that throws, refused()).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "llmfailover/providers/credentials.hpp"
#include "llmfailover/providers/google_auth.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/providers/registry.hpp"

namespace llmfailover {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using providers::CredentialConfig;
using providers::CredentialError;
using providers::CredentialPool;
using providers::Credentials;
using providers::Endpoint;

const std::string& private_pem() {
  static const std::string pem = [] {
    EVP_PKEY* k = EVP_RSA_gen(2048);
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
  }();
  return pem;
}

std::string key_file(const std::string& email = "router@proj-1.iam.gserviceaccount.com") {
  return json{{"type", "service_account"},    {"project_id", "proj-1"}, {"private_key_id", "kid-1"},
              {"private_key", private_pem()}, {"client_email", email},  {"token_uri", "https://oauth2.example/token"}}
      .dump();
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const providers::ProviderInfo& info(std::string_view name) {
  const auto* found = providers::find_provider_info(name);
  EXPECT_NE(found, nullptr) << name;
  return *found;
}

// What fetch() started, and a way to answer it.
struct ScriptedHttp {
  std::vector<HttpRequest> requests;
  std::vector<std::function<void(Event&&)>> sinks;
  bool throw_on_start = false;

  providers::StartHttp start() {
    return [this](HttpRequest r, std::function<void(Event &&)> sink) {
      if (throw_on_start) throw std::runtime_error("transport closed");
      requests.push_back(std::move(r));
      sinks.push_back(std::move(sink));
    };
  }
  void answer(std::size_t i, int status, const std::string& body) {
    sinks.at(i)(Event::head(status, {{"content-type", "application/json"}}));
    sinks.at(i)(Event::body(body));
    sinks.at(i)(Event::end());
  }
};

struct Outcome {
  int calls = 0;
  std::optional<Secret> token;
  std::optional<ErrorVerdict> error;
  Credentials::Done done() {
    return [this](std::optional<Secret> t, std::optional<ErrorVerdict> e) {
      ++calls;
      token = std::move(t);
      error = std::move(e);
    };
  }
};

struct CredentialsTest : ::testing::Test {
  ManualClock clock;
  CredentialPool pool;
  Endpoint endpoint;
  std::shared_ptr<Credentials> vertex(const std::string& credentials, const EnvLookup& env = env_of({})) {
    return providers::make_credentials(
        info("vertex"), {.credentials = Secret(credentials), .model = "gemini-2.5-flash"}, endpoint, clock, pool, env);
  }
};

// ---- the factory ----------------------------------------------------------------------------------

TEST_F(CredentialsTest, StaticKeysAndSigv4NeedNoCredentialsToFetch) {
  for (const auto& p : providers::provider_registry()) {
    if (p.credential == providers::CredentialSource::service_account) continue;
    Endpoint e;
    EXPECT_EQ(providers::make_credentials(p, {.has_api_key = true}, e, clock, pool), nullptr) << p.name;
    EXPECT_EQ(providers::make_credentials(p, {.credentials = Secret(key_file())}, e, clock, pool), nullptr) << p.name;
  }
  EXPECT_TRUE(pool.empty());
}

TEST_F(CredentialsTest, VertexWithAReadyTokenAndNoKeyFileFetchesNothingButNeedsAProject) {
  CredentialConfig c{.has_api_key = true, .model = "gemini-2.5-flash"};
  try {
    providers::make_credentials(info("vertex"), c, endpoint, clock, pool, env_of({}));
    FAIL() << "no project";
  } catch (const CredentialError& e) {
    EXPECT_EQ(e.field(), "project");
    EXPECT_NE(std::string(e.what()).find("vertex needs a project"), std::string::npos);
  }
  endpoint.project = "p";
  EXPECT_EQ(providers::make_credentials(info("vertex"), c, endpoint, clock, pool, env_of({})), nullptr);
  c.model = "projects/p2/locations/us/endpoints/1";  // a resource name carries its project
  Endpoint none;
  EXPECT_EQ(providers::make_credentials(info("vertex"), c, none, clock, pool, env_of({})), nullptr);
}

TEST_F(CredentialsTest, VertexKeyFillsTheProjectAndIsSharedPerAccount) {
  auto a = vertex(key_file());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(endpoint.project, "proj-1");
  EXPECT_EQ(a->kind(), "an access token");
  Endpoint other;
  other.project = "mine";
  auto b = providers::make_credentials(info("vertex_ai"), {.credentials = Secret("  " + key_file() + "\n")}, other,
                                       clock, pool, env_of({}));
  EXPECT_EQ(a, b);  // one token and one fetch for every deployment of the account
  EXPECT_EQ(other.project, "mine");
  auto c = vertex(key_file("another@proj-1.iam.gserviceaccount.com"));
  EXPECT_NE(a, c);
  EXPECT_EQ(pool.size(), 2u);
}

TEST_F(CredentialsTest, HostileCredentialsNameTheFieldNeverTheKey) {
  const std::string pasted = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
  json no_email = json::parse(key_file());
  no_email.erase("client_email");
  json bad_pem = json::parse(key_file());
  bad_pem["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  const std::vector<std::string> cases = {
      pasted,                                    // a key where a path or JSON goes
      "{not json",                               // JSON that is not
      json{{"type", "authorized_user"}}.dump(),  // the wrong kind of key file
      no_email.dump(),                           // a required field missing
      bad_pem.dump(),                            // a private key that is not one
      "/no/such/dir/key.json",                   // a path that cannot be read
      std::string(600, 'k'),                     // long text that is no path
  };
  for (const auto& text : cases) {
    try {
      vertex(text);
      ADD_FAILURE() << "accepted: " << text.substr(0, 40);
    } catch (const CredentialError& e) {
      EXPECT_EQ(e.field(), "credentials");
      const std::string what = e.what();
      EXPECT_EQ(what.find("MIIEvQ"), std::string::npos) << what;
      EXPECT_EQ(what.find("AAAA"), std::string::npos) << what;
      EXPECT_EQ(what.find(std::string(40, 'k')), std::string::npos) << what;
    }
  }
  EXPECT_TRUE(pool.empty());
}

TEST_F(CredentialsTest, WithoutCredentialsTheEnvironmentNamesTheKeyFile) {
  try {
    vertex("", env_of({}));
    FAIL() << "no credentials anywhere";
  } catch (const CredentialError& e) {
    EXPECT_EQ(e.field(), "credentials");
    EXPECT_NE(std::string(e.what()).find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
  }
  try {
    vertex("", env_of({{"GOOGLE_APPLICATION_CREDENTIALS", "/no/such/key.json"}}));
    FAIL() << "unreadable file";
  } catch (const CredentialError& e) {
    EXPECT_EQ(e.field(), "credentials (from GOOGLE_APPLICATION_CREDENTIALS)");
    EXPECT_NE(std::string(e.what()).find("/no/such/key.json"), std::string::npos);
  }
  const auto path = std::filesystem::temp_directory_path() / ("llmf-credentials-" + std::to_string(::getpid()));
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string text = key_file();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  EXPECT_NE(vertex("", env_of({{"GOOGLE_APPLICATION_CREDENTIALS", path.string()}})), nullptr);
  EXPECT_NE(vertex(path.string()), nullptr);  // a configured path
  std::filesystem::remove(path);
}

// ---- fetch() --------------------------------------------------------------------------------------

TEST_F(CredentialsTest, OneFetchServesEveryWaiterAndTheTokenIsThenReady) {
  auto creds = vertex(key_file());
  ScriptedHttp http;
  Outcome a, b;
  EXPECT_EQ(creds->ready(), std::nullopt);
  Timeouts t;
  t.connect = 2s;
  creds->fetch(http.start(), t, a.done());
  creds->fetch(http.start(), t, b.done());
  ASSERT_EQ(http.requests.size(), 1u);  // single flight
  const HttpRequest& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://oauth2.example/token");
  EXPECT_TRUE(r.body.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="));
  EXPECT_EQ(r.timeouts.connect, 2s);
  EXPECT_EQ(r.timeouts.total, providers::google_auth::ServiceAccountCredentials::kFetchLimit);
  EXPECT_EQ(a.calls + b.calls, 0);
  http.answer(0, 200, R"({"access_token":"ya29.tok","expires_in":3600,"token_type":"Bearer"})");
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  ASSERT_TRUE(a.token && b.token);
  EXPECT_EQ(a.token->reveal(), "ya29.tok");
  EXPECT_EQ(creds->fetches(), 1);
  ASSERT_TRUE(creds->ready());
  Outcome c;
  creds->fetch(http.start(), t, c.done());  // valid: at once, no exchange
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(http.requests.size(), 1u);
  clock.advance(3600s);  // expired: the next attempt fetches again
  EXPECT_EQ(creds->ready(), std::nullopt);
  creds->fetch(http.start(), t, c.done());
  EXPECT_EQ(http.requests.size(), 2u);
}

TEST_F(CredentialsTest, RefusedForgetsTheToken) {
  auto creds = vertex(key_file());
  ScriptedHttp http;
  Outcome a;
  creds->fetch(http.start(), {}, a.done());
  http.answer(0, 200, R"({"access_token":"t1"})");
  ASSERT_TRUE(creds->ready());
  creds->refused();
  EXPECT_EQ(creds->ready(), std::nullopt);
  creds->fetch(http.start(), {}, a.done());
  EXPECT_EQ(http.requests.size(), 2u);
}

TEST_F(CredentialsTest, EveryFailureReachesEveryWaiterAsAVerdict) {
  struct Case {
    std::string name;
    std::function<void(ScriptedHttp&)> act;
    ErrorClass cls;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"invalid_grant",
       [](ScriptedHttp& h) { h.answer(0, 400, R"({"error":"invalid_grant","error_description":"bad"})"); },
       ErrorClass::fatal_target, "auth"},
      {"rate limited", [](ScriptedHttp& h) { h.answer(0, 429, "{}"); }, ErrorClass::rate_limited, ""},
      {"5xx", [](ScriptedHttp& h) { h.answer(0, 503, "<html>"); }, ErrorClass::retryable, ""},
      {"not json", [](ScriptedHttp& h) { h.answer(0, 200, "{not json"); }, ErrorClass::retryable, "bad_response"},
      {"no token", [](ScriptedHttp& h) { h.answer(0, 200, R"({"access_token":7})"); }, ErrorClass::retryable,
       "bad_response"},
      {"reset",
       [](ScriptedHttp& h) {
         h.sinks.at(0)(Event::failure({Errc::connection_reset, "peer reset", false}));
       },
       errc_class(Error{Errc::connection_reset, "", false}), "connection_reset"},
  };
  for (const auto& c : cases) {
    CredentialPool own;
    Endpoint e;
    auto creds =
        providers::make_credentials(info("vertex"), {.credentials = Secret(key_file())}, e, clock, own, env_of({}));
    ScriptedHttp http;
    Outcome a, b;
    creds->fetch(http.start(), {}, a.done());
    creds->fetch(http.start(), {}, b.done());
    c.act(http);
    for (const Outcome* o : {&a, &b}) {
      EXPECT_EQ(o->calls, 1) << c.name;
      EXPECT_FALSE(o->token) << c.name;
      ASSERT_TRUE(o->error) << c.name;
      EXPECT_EQ(o->error->cls, c.cls) << c.name;
      if (!c.reason.empty()) EXPECT_EQ(o->error->reason, c.reason) << c.name;
      EXPECT_TRUE(o->error->message.starts_with("access token: ")) << c.name << ": " << o->error->message;
      EXPECT_EQ(o->error->message.find("assertion"), std::string::npos) << c.name;
    }
    EXPECT_EQ(creds->ready(), std::nullopt) << c.name;
    Outcome again;  // nothing is remembered: the next attempt fetches again
    creds->fetch(http.start(), {}, again.done());
    EXPECT_EQ(http.requests.size(), 2u) << c.name;
  }
}

TEST_F(CredentialsTest, AStartThatThrowsFailsTheWaitersInsteadOfLeavingThemQueued) {
  auto creds = vertex(key_file());
  ScriptedHttp http;
  http.throw_on_start = true;
  Outcome a;
  EXPECT_NO_THROW(creds->fetch(http.start(), {}, a.done()));
  EXPECT_EQ(a.calls, 1);
  ASSERT_TRUE(a.error);
  EXPECT_NE(a.error->message.find("transport closed"), std::string::npos);
  http.throw_on_start = false;
  Outcome b;
  creds->fetch(http.start(), {}, b.done());  // not stuck "refreshing"
  EXPECT_EQ(http.requests.size(), 1u);
}

}  // namespace
}  // namespace llmfailover
