// vertex_test.cpp — Vertex AI: the service-account grant (key file, RS256 JWT verified with the
// public key, token request and answer), the single-flight token cache on a manual clock, the
// provider's URLs, and the router end to end against the fake provider's token endpoint and
// Vertex paths (token fetched once and cached, refreshed after expiry, failover when it fails).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "llmfailover/providers/google_auth.hpp"
#include "llmfailover/providers/vertex.hpp"
#include "llmfailover/router.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "llmfailover/transport/http_client.hpp"
#include "support/sync_call.hpp"

namespace llmfailover {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using providers::Endpoint;
using providers::ErrorVerdict;
using providers::TranslationError;
using testing::FakeProvider;
using testing::Fault;
namespace ga = providers::google_auth;

// ---- a test RSA key, made once --------------------------------------------------------------------

struct TestKey {
  std::string private_pem, public_pem;
};

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

const TestKey& test_key() {
  static const TestKey key = [] {
    EVP_PKEY* k = EVP_RSA_gen(2048);
    BIO* priv = BIO_new(BIO_s_mem());
    BIO* pub = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(priv, k, nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_bio_PUBKEY(pub, k);
    TestKey out{bio_text(priv), bio_text(pub)};
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(k);
    return out;
  }();
  return key;
}

std::string b64url_decode(std::string_view s) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    EXPECT_GE(v, 0) << "not base64url: " << c;
    acc = (acc << 6) | static_cast<std::uint32_t>(v & 63);
    bits += 6;
    if (bits >= 8) out += static_cast<char>((acc >> (bits -= 8)) & 0xff);
  }
  return out;
}

bool verify_rs256(const std::string& public_pem, std::string_view signed_part, const std::string& signature) {
  BIO* b = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = k && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, k) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  BIO_free(b);
  return ok;
}

struct Jwt {
  std::string header, claims, signature, signed_part;
};

Jwt split(const std::string& jwt) {
  const auto d1 = jwt.find('.'), d2 = jwt.rfind('.');
  EXPECT_NE(d1, d2);
  return {b64url_decode(jwt.substr(0, d1)), b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1)),
          b64url_decode(jwt.substr(d2 + 1)), jwt.substr(0, d2)};
}

json key_file(const std::string& token_uri = "https://oauth2.googleapis.com/token",
              const std::string& email = "router@proj-1.iam.gserviceaccount.com") {
  return {{"type", "service_account"},
          {"project_id", "proj-1"},
          {"private_key_id", "kid-0123456789"},
          {"private_key", test_key().private_pem},
          {"client_email", email},
          {"client_id", "1234567890"},
          {"token_uri", token_uri}};
}

// ---- key file -------------------------------------------------------------------------------------

TEST(ServiceAccount, ParsesTheKeyFile) {
  const ga::ServiceAccount sa = ga::parse_service_account(key_file().dump());
  EXPECT_EQ(sa.client_email, "router@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(sa.private_key_id, "kid-0123456789");
  EXPECT_EQ(sa.private_key.reveal(), test_key().private_pem);
  EXPECT_EQ(sa.token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(sa.project_id, "proj-1");
  json minimal = key_file();
  minimal.erase("token_uri");
  minimal.erase("type");
  EXPECT_EQ(ga::parse_service_account(minimal.dump()).token_uri, ga::kDefaultTokenUri);
}

TEST(ServiceAccount, ErrorsNameTheFieldAndNeverTheKey) {
  auto message = [](const std::string& text) -> std::string {
    try {
      ga::parse_service_account(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no throw";
  };
  json no_email = key_file();
  no_email.erase("client_email");
  EXPECT_NE(message(no_email.dump()).find("\"client_email\""), std::string::npos);
  json no_key = key_file();
  no_key.erase("private_key");
  EXPECT_NE(message(no_key.dump()).find("\"private_key\""), std::string::npos);
  json user = key_file();
  user["type"] = "authorized_user";
  EXPECT_NE(message(user.dump()).find("authorized_user"), std::string::npos);
  json bad_uri = key_file();
  bad_uri["token_uri"] = "oauth2.googleapis.com/token";
  EXPECT_NE(message(bad_uri.dump()).find("token_uri"), std::string::npos);
  bad_uri["token_uri"] = "https://oauth2.googleapis.com/token HTTP/1.1\r\nX-Evil: 1\r\n";  // request smuggling
  EXPECT_NE(message(bad_uri.dump()).find("\"token_uri\" must not contain spaces, CR, LF or NUL"), std::string::npos);
  // Nested past the JSON limit: refused like any broken document, before anything deep is built.
  json deep = key_file();
  deep["x"] = json::array();
  std::string deep_text = deep.dump();
  deep_text.replace(deep_text.find("\"x\":[]") + 4, 2, std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(message(deep_text).find("not a JSON object"), std::string::npos);
  // A broken document around the key: the parser's message would quote it; ours does not.
  const std::string broken = key_file().dump().substr(0, 300);
  const std::string m = message(broken);
  EXPECT_NE(m.find("not a JSON object"), std::string::npos) << m;
  for (const auto& text : {m, message(no_email.dump()), message(user.dump())}) {
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << text;
    EXPECT_EQ(text.find(test_key().private_pem.substr(40, 20)), std::string::npos) << text;
  }
}

// ---- the assertion --------------------------------------------------------------------------------

TEST(ServiceAccountJwt, HeaderAndClaimsExactAndTheSignatureVerifies) {
  const ga::ServiceAccount sa = ga::parse_service_account(key_file().dump());
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1750000000));
  const std::string jwt = ga::signed_jwt(sa, ga::kCloudPlatformScope, now).reveal();
  EXPECT_EQ(jwt.find('='), std::string::npos);  // base64url without padding
  EXPECT_EQ(jwt.find('+'), std::string::npos);
  EXPECT_EQ(jwt.find('/'), std::string::npos);
  const Jwt parts = split(jwt);
  EXPECT_EQ(parts.header, R"({"alg":"RS256","typ":"JWT","kid":"kid-0123456789"})");
  EXPECT_EQ(parts.claims, R"({"iss":"router@proj-1.iam.gserviceaccount.com",)"
                          R"("scope":"https://www.googleapis.com/auth/cloud-platform",)"
                          R"("aud":"https://oauth2.googleapis.com/token","iat":1750000000,"exp":1750003600})");
  EXPECT_EQ(parts.signature.size(), 256u);  // RSA-2048
  EXPECT_TRUE(verify_rs256(test_key().public_pem, parts.signed_part, parts.signature));
  EXPECT_FALSE(verify_rs256(test_key().public_pem, parts.signed_part + "x", parts.signature));
}

TEST(ServiceAccountJwt, KeyWithEscapedNewlinesStillSigns) {
  json escaped = key_file();
  std::string pem = test_key().private_pem, flat;
  for (char c : pem) flat += c == '\n' ? std::string("\\n") : std::string(1, c);
  escaped["private_key"] = flat;
  const ga::ServiceAccount sa = ga::parse_service_account(escaped.dump());
  const Jwt parts = split(ga::signed_jwt(sa, ga::kCloudPlatformScope, std::chrono::system_clock::now()).reveal());
  EXPECT_TRUE(verify_rs256(test_key().public_pem, parts.signed_part, parts.signature));
}

TEST(ServiceAccountJwt, ABadKeyIsAnErrorWithoutTheKey) {
  ga::ServiceAccount sa = ga::parse_service_account(key_file().dump());
  sa.private_key = Secret("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n");
  try {
    ga::signed_jwt(sa, ga::kCloudPlatformScope, std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("private_key"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("c2VjcmV0"), std::string::npos) << e.what();
  }
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, ec, nullptr, nullptr, 0, nullptr, nullptr);
  sa.private_key = Secret(bio_text(b));
  BIO_free(b);
  EVP_PKEY_free(ec);
  EXPECT_THROW(ga::signed_jwt(sa, ga::kCloudPlatformScope, std::chrono::system_clock::now()), std::invalid_argument);
}

TEST(ServiceAccountJwt, TokenRequestIsTheJwtBearerGrant) {
  const ga::ServiceAccount sa = ga::parse_service_account(key_file("http://127.0.0.1:9/token").dump());
  Timeouts t;
  t.total = 30s;
  const HttpRequest h = ga::token_request(sa, std::chrono::system_clock::now(), t);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.url, "http://127.0.0.1:9/token");
  EXPECT_EQ(h.timeouts, t);
  ASSERT_NE(find_header(h.headers, "content-type"), nullptr);
  EXPECT_EQ(*find_header(h.headers, "content-type"), "application/x-www-form-urlencoded");
  const std::string prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  ASSERT_TRUE(h.body.starts_with(prefix)) << h.body.substr(0, 80);
  const Jwt parts = split(h.body.substr(prefix.size()));
  EXPECT_EQ(json::parse(parts.claims)["aud"], "http://127.0.0.1:9/token");
  EXPECT_TRUE(verify_rs256(test_key().public_pem, parts.signed_part, parts.signature));
}

// ---- the token answer -----------------------------------------------------------------------------

TEST(TokenAnswer, SuccessAndEachKindOfFailure) {
  const Clock::time_point now{1000h};
  auto ok = ga::read_token_answer(200, R"({"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"})", now);
  ASSERT_TRUE(ok.token);
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.token->token.reveal(), "ya29.abc");
  EXPECT_EQ(ok.token->expires_at, now + 3599s);

  auto grant =
      ga::read_token_answer(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})", now);
  ASSERT_TRUE(grant.error);
  EXPECT_EQ(grant.error->cls, ErrorClass::fatal_target);
  EXPECT_EQ(grant.error->reason, "auth");
  EXPECT_EQ(grant.error->message, "access token: HTTP 400 invalid_grant: Invalid JWT Signature.");

  EXPECT_EQ(ga::read_token_answer(401, R"({"error":"invalid_client"})", now).error->cls, ErrorClass::fatal_target);
  EXPECT_EQ(ga::read_token_answer(403, "", now).error->reason, "auth");
  EXPECT_EQ(ga::read_token_answer(429, "{}", now).error->cls, ErrorClass::rate_limited);
  auto down = ga::read_token_answer(503, "<html>Service Unavailable</html>", now);
  EXPECT_EQ(down.error->cls, ErrorClass::retryable);
  EXPECT_EQ(down.error->message, "access token: HTTP 503");
  auto empty = ga::read_token_answer(200, R"({"token_type":"Bearer"})", now);
  EXPECT_FALSE(empty.token);
  EXPECT_EQ(empty.error->reason, "bad_response");
  EXPECT_EQ(ga::read_token_answer(200, R"({"access_token":"t","expires_in":"60"})", now).token->expires_at, now + 60s);
}

// ---- the cache ------------------------------------------------------------------------------------

struct Delivery {
  std::vector<std::string> tokens;
  std::vector<ErrorVerdict> errors;
  ga::TokenCache::Waiter waiter() {
    return [this](std::optional<Secret> t, std::optional<ErrorVerdict> e) {
      if (t) tokens.push_back(t->reveal());
      if (e) errors.push_back(*e);
    };
  }
};

class TokenCacheTest : public ::testing::Test {
 protected:
  ManualClock clock;
  ga::TokenCache cache{ga::parse_service_account(key_file().dump()), clock};
  ga::AccessToken token(std::string value, Clock::duration life = 3600s) {
    return {Secret(std::move(value)), clock.now() + life};
  }
};

TEST_F(TokenCacheTest, TwoWaitersOneFetch) {
  Delivery d;
  EXPECT_FALSE(cache.valid());
  EXPECT_TRUE(cache.begin_refresh(d.waiter()));   // this caller fetches
  EXPECT_FALSE(cache.begin_refresh(d.waiter()));  // this one waits
  EXPECT_TRUE(d.tokens.empty());
  cache.complete(token("t1"));
  EXPECT_EQ(d.tokens, (std::vector<std::string>{"t1", "t1"}));
  EXPECT_EQ(cache.refreshes(), 1);
  ASSERT_TRUE(cache.valid());
  EXPECT_EQ(cache.valid()->reveal(), "t1");
}

TEST_F(TokenCacheTest, RefreshesWhenLessThanTheMarginIsLeft) {
  Delivery d;
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.complete(token("t1"));
  clock.advance(3600s - ga::kRefreshMargin - 1s);
  EXPECT_TRUE(cache.valid());
  clock.advance(2s);
  EXPECT_FALSE(cache.valid());  // 3 min 44 s left: refresh, although it has not expired
  EXPECT_TRUE(cache.begin_refresh(d.waiter()));
  cache.complete(token("t2"));
  EXPECT_EQ(cache.valid()->reveal(), "t2");
  EXPECT_EQ(cache.refreshes(), 2);
}

TEST_F(TokenCacheTest, ShortLivedTokensAreRefreshedAtHalfTheirLife) {
  Delivery d;
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.complete(token("short", 60s));
  EXPECT_TRUE(cache.valid());
  clock.advance(29s);
  EXPECT_TRUE(cache.valid());
  clock.advance(2s);
  EXPECT_FALSE(cache.valid());
}

TEST_F(TokenCacheTest, AFailedRefreshDoesNotPoisonTheCache) {
  Delivery d;
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  EXPECT_FALSE(cache.begin_refresh(d.waiter()));
  cache.fail({ErrorClass::retryable, "server_error", "access token: HTTP 503"});
  EXPECT_EQ(d.errors.size(), 2u);
  EXPECT_TRUE(d.tokens.empty());
  EXPECT_TRUE(cache.begin_refresh(d.waiter()));  // the next call tries again
  cache.complete(token("t1"));
  EXPECT_EQ(d.tokens, std::vector<std::string>{"t1"});
}

TEST_F(TokenCacheTest, AFailedRefreshInsideTheMarginHandsOutTheStillValidToken) {
  Delivery d;
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.complete(token("t1"));
  clock.advance(3500s);  // in the margin, not expired
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.fail({ErrorClass::retryable, "server_error", "down"});
  EXPECT_EQ(d.tokens, (std::vector<std::string>{"t1", "t1"}));
  EXPECT_TRUE(d.errors.empty());
  clock.advance(200s);  // expired now
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.fail({ErrorClass::retryable, "server_error", "down"});
  EXPECT_EQ(d.errors.size(), 1u);
}

TEST_F(TokenCacheTest, BeginRefreshAfterAnotherCompletedDeliversAtOnce) {
  Delivery d;
  ASSERT_TRUE(cache.begin_refresh(d.waiter()));
  cache.complete(token("t1"));
  EXPECT_FALSE(cache.begin_refresh(d.waiter()));  // a stale valid() check: no second fetch
  EXPECT_EQ(d.tokens, (std::vector<std::string>{"t1", "t1"}));
  cache.invalidate();
  EXPECT_FALSE(cache.valid());
  EXPECT_TRUE(cache.begin_refresh(d.waiter()));
}

TEST_F(TokenCacheTest, ConcurrentCallersFetchOnce) {
  std::atomic<int> fetchers{0}, delivered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (cache.begin_refresh([&](auto t, auto) { delivered += t.has_value(); })) ++fetchers;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fetchers.load(), 1);
  cache.complete(token("t1"));
  EXPECT_EQ(delivered.load(), 8);
}

// ---- the provider ---------------------------------------------------------------------------------

const providers::Provider& vertex_p() { return *providers::find_provider("vertex"); }

Endpoint vertex_ep(std::string base_url = "", std::string region = "", std::string project = "proj-1") {
  Endpoint ep;
  ep.base_url = std::move(base_url);
  ep.region = std::move(region);
  ep.project = std::move(project);
  ep.api_key = Secret("ya29.token");
  ep.model = "gemini-2.5-flash";
  return ep;
}

TEST(VertexUrl, Shapes) {
  using providers::vertex::model_url;
  EXPECT_EQ(model_url(vertex_ep(), "gemini-2.5-flash", "generateContent"),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers/google/"
            "models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(
      model_url(vertex_ep("", "europe-west4"), "gemini-2.0-flash-001", "streamGenerateContent?alt=sse"),
      "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj-1/locations/europe-west4/publishers/google/"
      "models/gemini-2.0-flash-001:streamGenerateContent?alt=sse");
  EXPECT_EQ(model_url(vertex_ep("", "global"), "gemini-2.5-pro", "generateContent"),
            "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global/publishers/google/models/"
            "gemini-2.5-pro:generateContent");
  EXPECT_EQ(model_url(vertex_ep("http://127.0.0.1:8080/"), "gemini-x", "batchEmbedContents"),
            "http://127.0.0.1:8080/v1/projects/proj-1/locations/us-central1/publishers/google/models/"
            "gemini-x:batchEmbedContents");
  EXPECT_EQ(model_url(vertex_ep("https://proxy.example/v1beta1"), "gemini-x", "generateContent"),
            "https://proxy.example/v1beta1/projects/proj-1/locations/us-central1/publishers/google/models/"
            "gemini-x:generateContent");
  EXPECT_EQ(
      model_url(vertex_ep(), "projects/p2/locations/us-east1/endpoints/123", "generateContent"),
      "https://us-central1-aiplatform.googleapis.com/v1/projects/p2/locations/us-east1/endpoints/123:generateContent");
  EXPECT_EQ(model_url(vertex_ep(), "publishers/google/models/gemini-2.5-flash@001", "generateContent"),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers/google/"
            "models/gemini-2.5-flash@001:generateContent");
  try {
    model_url(vertex_ep("", "", ""), "gemini-x", "generateContent");
    FAIL() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.provider(), "vertex");
    EXPECT_EQ(e.parameter(), "project");
  }
  EXPECT_THROW(model_url(vertex_ep("", "evil.example/x#"), "gemini-x", "generateContent"), TranslationError);
}

TEST(VertexProvider, ChatIsGeminiOnVertexWithABearerToken) {
  const json req = {
      {"model", "gemini-2.5-flash"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"temperature", 0.5}};
  const auto tr = vertex_p().chat_request(vertex_ep(), req, true, Timeouts{});
  EXPECT_TRUE(tr.http.url.ends_with("/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
      << tr.http.url;
  ASSERT_NE(find_header(tr.http.headers, "authorization"), nullptr);
  EXPECT_EQ(*find_header(tr.http.headers, "authorization"), "Bearer ya29.token");
  EXPECT_EQ(find_header(tr.http.headers, "x-goog-api-key"), nullptr);
  const auto& gemini = *providers::find_provider("gemini");
  EXPECT_EQ(json::parse(tr.http.body), json::parse(gemini.chat_request(vertex_ep(), req, true, Timeouts{}).http.body));
  try {
    vertex_p().chat_request(vertex_ep(), {{"messages", json::array()}}, false, Timeouts{});
    FAIL() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.provider(), "vertex");
    EXPECT_EQ(e.parameter(), "messages");
    EXPECT_TRUE(std::string(e.what()).starts_with("vertex: ")) << e.what();
  }
}

TEST(VertexProvider, EmbeddingsForGeminiModelsOnly) {
  Endpoint ep = vertex_ep();
  ep.model = "gemini-embedding-001";
  const json req = {{"model", "x"}, {"input", {"a", "b"}}, {"dimensions", 768}};
  const auto tr = vertex_p().embeddings_request(ep, req, Timeouts{});
  EXPECT_TRUE(tr.http.url.ends_with("/models/gemini-embedding-001:batchEmbedContents")) << tr.http.url;
  EXPECT_EQ(json::parse(tr.http.body),
            json::parse(
                R"({"requests":[{"content":{"parts":[{"text":"a"}]},"embedContentConfig":{"outputDimensionality":768}},
                                         {"content":{"parts":[{"text":"b"}]},"embedContentConfig":{"outputDimensionality":768}}]})"));
  const json out = json::parse(vertex_p().embeddings_response(
      ep, R"({"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}],"usageMetadata":{"promptTokenCount":2}})"));
  EXPECT_EQ(out["data"][1]["embedding"], json::parse("[0.3,0.4]"));
  EXPECT_EQ(out["usage"]["prompt_tokens"], 2);
  ep.model = "text-embedding-005";
  try {
    vertex_p().embeddings_request(ep, req, Timeouts{});
    FAIL() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.parameter(), "model");
    EXPECT_NE(std::string(e.what()).find(":predict"), std::string::npos) << e.what();
  }
}

// ---- the router, end to end -----------------------------------------------------------------------

constexpr const char* kEmail = "router@proj-1.iam.gserviceaccount.com";

struct Outcome {
  std::vector<Event> events;
  std::vector<RouteAttempt> log;
  std::optional<RouteAttempt> served;
  int status() const { return !events.empty() && events[0].kind == Event::Kind::head ? events[0].status : 0; }
  std::string text() const {
    std::string out;
    for (auto& e : events)
      if (e.kind == Event::Kind::body || e.kind == Event::Kind::sse) out += e.data;
    return out;
  }
};

class VertexRouterTest : public ::testing::Test {
 protected:
  FakeProvider fp;

  DeploymentConfig vertex(const std::string& id, const std::string& model, const std::string& email = kEmail) {
    DeploymentConfig d;
    d.id = id;
    d.group = "smart";
    d.provider = "vertex";
    d.model = model;
    d.base_url = fp.root_url();
    d.region = "us-central1";
    d.credentials = Secret(key_file(fp.root_url() + "/token", email).dump());
    return d;
  }

  DeploymentConfig gemini(const std::string& id, const std::string& model) {
    DeploymentConfig d;
    d.id = id;
    d.group = "smart";
    d.provider = "gemini";
    d.model = model;
    d.base_url = fp.root_url() + "/v1beta";
    d.api_keys = {Secret("test-key")};
    d.priority = 1;
    return d;
  }

  static RouterConfig config(std::vector<DeploymentConfig> deps) {
    RouterConfig c;
    c.deployments = std::move(deps);
    c.defaults.timeouts.first_token = 2s;
    c.defaults.timeouts.idle = 2s;
    c.defaults.timeouts.deadline = 10s;
    c.defaults.retry.backoff_base = 10ms;
    c.defaults.retry.backoff_cap = 50ms;
    return c;
  }

  static std::shared_ptr<Random> first() { return std::make_shared<SequenceRandom>(std::vector<double>{0.0}); }

  static Outcome run(Router& router, bool stream = false, const std::string& path = "/chat/completions",
                     const std::string& body = R"({"model":"smart","messages":[{"role":"user","content":"hi"}]})") {
    RouteRequest r;
    r.model = "smart";
    r.call.path = path;
    r.call.body = body;
    if (stream) r.call.body.insert(r.call.body.size() - 1, R"(,"stream":true)");
    r.stream = stream;
    auto call = router.send(r);
    Outcome o;
    auto until = Clock::now() + 15s;
    while ((o.events.empty() || !o.events.back().terminal()) && Clock::now() < until)
      call->channel().wait(o.events, 1s);
    o.log = call->route_log();
    o.served = call->served();
    return o;
  }

  std::string bearer(const std::string& model, std::size_t i) {
    auto seen = fp.attempts(model);
    if (i >= seen.size()) return "(none)";
    const std::string* h = find_header(seen[i].headers, "authorization");
    return h ? *h : "(none)";
  }
};

TEST_F(VertexRouterTest, TheTokenIsFetchedOnceAndCachedForManyCalls) {
  Router router(config({vertex("v", "gemini-x")}), {}, nullptr, first());
  for (bool stream : {false, true, false, true}) {
    auto o = run(router, stream);
    ASSERT_EQ(o.status(), 200) << o.text();
    ASSERT_EQ(o.events.back().kind, Event::Kind::end) << o.events.back().error.message;
    ASSERT_TRUE(o.served);
    EXPECT_EQ(o.served->provider, "vertex");
    EXPECT_NE(o.text().find(stream ? "chat.completion.chunk" : "Hello from gemini-x."), std::string::npos) << o.text();
  }
  const auto tokens = fp.attempts(kEmail);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].target, "/token");
  EXPECT_EQ(tokens[0].outcome, "ok");
  EXPECT_NE(tokens[0].body.find("assertion="), std::string::npos);
  const auto calls = fp.attempts("gemini-x");
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].target,
            "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-x:generateContent");
  EXPECT_EQ(
      calls[1].target,
      "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-x:streamGenerateContent?alt=sse");
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(bearer("gemini-x", i), "Bearer fake-token-1");
}

TEST_F(VertexRouterTest, ConcurrentFirstCallsShareOneFetch) {
  Router router(config({vertex("v", "gemini-x")}), {}, nullptr, first());
  fp.script(kEmail, {Fault::slow_headers(200ms)});  // every call arrives while the fetch is in flight
  std::vector<std::shared_ptr<RoutedCall>> calls;
  for (int i = 0; i < 6; ++i) {
    RouteRequest r;
    r.model = "smart";
    r.call.path = "/chat/completions";
    r.call.body = R"({"messages":[{"role":"user","content":"hi"}]})";
    calls.push_back(router.send(r));
  }
  for (auto& c : calls) {
    std::vector<Event> events;
    auto until = Clock::now() + 10s;
    while ((events.empty() || !events.back().terminal()) && Clock::now() < until) c->channel().wait(events, 1s);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events[0].status, 200);
  }
  EXPECT_EQ(fp.attempts(kEmail).size(), 1u);
  EXPECT_EQ(fp.attempts("gemini-x").size(), 6u);
}

TEST_F(VertexRouterTest, TheCallsDeadlineHoldsWhileItWaitsForAToken) {
  auto c = config({vertex("v", "gemini-x")});
  c.defaults.timeouts.deadline = 300ms;
  fp.script(kEmail, {Fault::slow_headers(1500ms)});
  Router router(c, {}, nullptr, first());
  const auto started = Clock::now();
  auto o = run(router);
  const auto took = Clock::now() - started;
  ASSERT_FALSE(o.events.empty());
  ASSERT_EQ(o.events.back().kind, Event::Kind::error);
  EXPECT_EQ(o.events.back().error.code, Errc::deadline_exceeded) << o.events.back().error.message;
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 1200ms);  // not the token fetch's 1.5 s
  ASSERT_EQ(o.log.size(), 1u);
  EXPECT_EQ(o.log[0].message, "the call's deadline passed while waiting for an access token");
  EXPECT_TRUE(fp.attempts("gemini-x").empty());
}

TEST_F(VertexRouterTest, TheTokenIsRefreshedAfterExpiry) {
  auto clock = std::make_shared<ManualClock>(Clock::now());
  Router router(config({vertex("v", "gemini-x")}), {}, clock, first());
  ASSERT_EQ(run(router).status(), 200);
  ASSERT_EQ(run(router).status(), 200);
  EXPECT_EQ(fp.attempts(kEmail).size(), 1u);
  clock->advance(3600s - ga::kRefreshMargin + 1s);
  ASSERT_EQ(run(router).status(), 200);
  ASSERT_EQ(run(router).status(), 200);
  EXPECT_EQ(fp.attempts(kEmail).size(), 2u);
  EXPECT_EQ(bearer("gemini-x", 1), "Bearer fake-token-1");
  EXPECT_EQ(bearer("gemini-x", 2), "Bearer fake-token-2");
  EXPECT_EQ(bearer("gemini-x", 3), "Bearer fake-token-2");
}

TEST_F(VertexRouterTest, ARefusedTokenFailsOverAndTheRouteLogNamesAuth) {
  fp.set_default(kEmail,
                 Fault::http_status(400));  // {"error":"invalid_grant","error_description":"Invalid JWT Signature."}
  Router router(config({vertex("v", "gemini-x"), gemini("g", "gemini-y")}), {}, nullptr, first());
  auto o = run(router);
  ASSERT_EQ(o.status(), 200) << o.text();
  ASSERT_TRUE(o.served);
  EXPECT_EQ(o.served->deployment, "g");
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].deployment, "v");
  EXPECT_EQ(o.log[0].reason, "auth");
  EXPECT_EQ(o.log[0].error_class, "fatal_target");
  EXPECT_EQ(o.log[0].message, "access token: HTTP 400 invalid_grant: Invalid JWT Signature.");
  EXPECT_EQ(o.log[0].decision, "failover");
  EXPECT_TRUE(fp.attempts("gemini-x").empty());  // never called without a token
}

TEST_F(VertexRouterTest, WhenNoTargetGetsATokenTheAuthErrorSurfaces) {
  fp.set_default(kEmail, Fault::http_status(401));
  Router router(config({vertex("v", "gemini-x")}), {}, nullptr, first());
  auto o = run(router);
  EXPECT_EQ(o.status(), 401);
  EXPECT_NE(o.text().find("access token: HTTP 401 invalid_client"), std::string::npos) << o.text();
  EXPECT_EQ(o.text().find("PRIVATE"), std::string::npos);
}

TEST_F(VertexRouterTest, ATokenEndpointOutageIsRetriedAndDoesNotPoisonTheCache) {
  fp.script(kEmail, {Fault::unavailable()});
  Router router(config({vertex("v", "gemini-x")}), {}, nullptr, first());
  auto o = run(router);
  ASSERT_EQ(o.status(), 200) << o.text();
  ASSERT_EQ(o.log.size(), 2u);
  EXPECT_EQ(o.log[0].reason, "server_error");
  EXPECT_EQ(o.log[0].decision, "retry");
  EXPECT_EQ(fp.attempts(kEmail).size(), 2u);
  EXPECT_EQ(bearer("gemini-x", 0), "Bearer fake-token-2");
}

TEST_F(VertexRouterTest, TwoDeploymentsOfOneServiceAccountShareItsToken) {
  auto b = vertex("v2", "gemini-y");
  b.region = "global";
  Router router(config({vertex("v1", "gemini-x"), b}), {}, nullptr, first());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(run(router).status(), 200);
  EXPECT_EQ(fp.attempts(kEmail).size(), 1u);
}

TEST_F(VertexRouterTest, A401FromVertexDropsTheTokenAndTheNextTargetFetchesANewOne) {
  auto b = vertex("v2", "gemini-y");
  b.priority = 1;
  Router router(config({vertex("v1", "gemini-x"), b}), {}, nullptr, first());
  ASSERT_EQ(run(router).status(), 200);            // token 1, cached
  fp.script("gemini-x", {Fault::unauthorized()});  // the next attempt: Vertex no longer accepts token 1
  auto o = run(router);
  ASSERT_EQ(o.status(), 200) << o.text();
  EXPECT_EQ(o.served->deployment, "v2");
  EXPECT_EQ(o.log[0].reason, "auth");
  EXPECT_EQ(fp.attempts(kEmail).size(), 2u) << "the refused token was dropped and a new one fetched";
  EXPECT_EQ(bearer("gemini-x", 1), "Bearer fake-token-1");
  EXPECT_EQ(bearer("gemini-y", 0), "Bearer fake-token-2");
}

TEST_F(VertexRouterTest, EmbeddingsThroughVertexAndGemini) {
  const std::string body = R"({"model":"smart","input":["one","two"],"dimensions":4})";
  for (auto d : {vertex("v", "gemini-embedding-001"), gemini("g", "gemini-embedding-001")}) {
    Router router(config({d}), {}, nullptr, first());
    auto o = run(router, false, "/embeddings", body);
    ASSERT_EQ(o.status(), 200) << o.text();
    const json out = json::parse(o.text());
    EXPECT_EQ(out["object"], "list");
    ASSERT_EQ(out["data"].size(), 2u);
    EXPECT_EQ(out["data"][1]["index"], 1);
    EXPECT_EQ(out["data"][0]["embedding"].size(), 4u);
    EXPECT_NE(out["data"][0]["embedding"], out["data"][1]["embedding"]);
    EXPECT_EQ(out["model"], "gemini-embedding-001");
  }
  const auto seen = fp.attempts("gemini-embedding-001");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].target.ends_with(":batchEmbedContents"));
  EXPECT_EQ(seen[1].target, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
}

TEST_F(VertexRouterTest, VertexPathsWithoutAFakeTokenAre401) {
  auto d = vertex("v", "gemini-x");
  d.credentials = Secret();
  d.api_keys = {Secret("not-a-fake-token")};  // a static access token, used as it is
  d.project = "proj-1";
  Router router(config({d}), {}, nullptr, first());
  auto o = run(router);
  EXPECT_EQ(o.status(), 401);
  EXPECT_EQ(bearer("gemini-x", 0), "Bearer not-a-fake-token");
  EXPECT_TRUE(fp.attempts(kEmail).empty());
}

// ---- the fake's token endpoint --------------------------------------------------------------------

TEST(FakeTokenEndpoint, ChecksTheGrantAndHandsOutNumberedTokens) {
  FakeProvider fp;
  transport::HttpClient client;
  const ga::ServiceAccount sa = ga::parse_service_account(key_file(fp.root_url() + "/token").dump());
  auto post = [&](std::string body) {
    HttpRequest h;
    h.method = "POST";
    h.url = fp.root_url() + "/token";
    h.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    h.body = std::move(body);
    auto c = test::fetch(client, h);
    std::string text;
    for (auto& e : c.events)
      if (e.kind == Event::Kind::body) text += e.data;
    return std::pair<int, json>{c.status(), json::parse(text, nullptr, false)};
  };
  for (int n = 1; n <= 2; ++n) {
    auto [status, answer] = post(ga::token_request(sa, std::chrono::system_clock::now(), Timeouts{}).body);
    EXPECT_EQ(status, 200);
    EXPECT_EQ(
        answer,
        json({{"access_token", "fake-token-" + std::to_string(n)}, {"expires_in", 3600}, {"token_type", "Bearer"}}));
  }
  const std::string jwt = ga::signed_jwt(sa, ga::kCloudPlatformScope, std::chrono::system_clock::now()).reveal();
  EXPECT_EQ(post("grant_type=password&assertion=" + jwt).second["error"], "unsupported_grant_type");
  EXPECT_EQ(post("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer").second["error"],
            "invalid_request");
  auto [status, bad] = post("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(bad["error"], "invalid_grant");
  ga::ServiceAccount elsewhere = sa;
  elsewhere.token_uri = "https://example.com/token";
  auto wrong_aud = post(ga::token_request(elsewhere, std::chrono::system_clock::now(), Timeouts{}).body).second;
  EXPECT_NE(wrong_aud.value("error_description", "").find("audience"), std::string::npos) << wrong_aud;
  auto stale = post(ga::token_request(sa, std::chrono::system_clock::now() - 2h, Timeouts{}).body).second;
  EXPECT_EQ(stale["error"], "invalid_grant");
  const auto seen = fp.attempts(kEmail);
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0].outcome, "ok");
  EXPECT_NE(seen[0].body.find("&assertion="), std::string::npos);  // the assertion is in the attempt log
}

// ---- configuration errors -------------------------------------------------------------------------

std::string config_error(const RouterConfig& c) {
  try {
    Router router(c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no throw";
}

TEST_F(VertexRouterTest, CredentialsProblemsAreConfigErrorsNamingTheDeployment) {
  auto missing = vertex("v", "gemini-x");
  missing.credentials = Secret("/nonexistent/key.json");
  std::string m = config_error(config({missing}));
  EXPECT_NE(m.find("deployments.v.credentials"), std::string::npos) << m;
  EXPECT_NE(m.find("/nonexistent/key.json"), std::string::npos) << m;

  auto broken = vertex("v", "gemini-x");
  json k = key_file();
  k.erase("client_email");
  broken.credentials = Secret(k.dump());
  m = config_error(config({broken}));
  EXPECT_NE(m.find("deployments.v.credentials"), std::string::npos) << m;
  EXPECT_NE(m.find("client_email"), std::string::npos) << m;
  EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;

  auto bad_key = vertex("v", "gemini-x");
  k = key_file();
  k["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  bad_key.credentials = Secret(k.dump());
  m = config_error(config({bad_key}));
  EXPECT_NE(m.find("private_key"), std::string::npos) << m;
  EXPECT_EQ(m.find("AAAA"), std::string::npos) << m;

  auto pasted_pem = vertex("v", "gemini-x");  // a PEM where a path or JSON was expected: never quoted
  pasted_pem.credentials = Secret(test_key().private_pem);
  m = config_error(config({pasted_pem}));
  EXPECT_NE(m.find("deployments.v.credentials"), std::string::npos) << m;
  EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;

  auto no_project = vertex("v", "gemini-x");
  k = key_file();
  k.erase("project_id");
  no_project.credentials = Secret(k.dump());
  m = config_error(config({no_project}));
  EXPECT_NE(m.find("deployments.v.project"), std::string::npos) << m;
}

TEST_F(VertexRouterTest, CredentialsFromAFileAndTheProjectFromTheKey) {
  const auto path = std::filesystem::temp_directory_path() / ("llmf-vertex-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << key_file(fp.root_url() + "/token").dump();
  auto d = vertex("v", "gemini-x");
  d.credentials = Secret(path.string());
  Router router(config({d}), {}, nullptr, first());
  EXPECT_EQ(run(router).status(), 200);
  std::filesystem::remove(path);
  EXPECT_EQ(fp.attempts(kEmail).size(), 1u);
  EXPECT_TRUE(fp.attempts("gemini-x")[0].target.starts_with("/v1/projects/proj-1/"));
}

}  // namespace
}  // namespace llmfailover
