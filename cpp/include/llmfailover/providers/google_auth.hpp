// google_auth.hpp — Google service-account authentication for Vertex AI: the OAuth 2.0 JWT bearer
// grant (RFC 7523) that google-auth's service_account.Credentials performs, and a single-flight
// cache of the access token it yields.
//
//   parse_service_account(json)  the key file            -> ServiceAccount
//   token_request(sa, now)       a signed RS256 assertion -> POST token_uri (form-encoded)
//   read_token_answer(...)       the token endpoint's answer -> AccessToken, or an ErrorVerdict
//   TokenCache                   valid() / begin_refresh() / complete() / fail()
//   ServiceAccountCredentials    a TokenCache behind the Credentials interface (credentials.hpp):
//                                fetch() runs the token exchange on the caller's start_http
//   load_service_account(...)    a deployment's key file: the configured JSON or path, else the
//                                file GOOGLE_APPLICATION_CREDENTIALS names (google.auth.default())
//
// The assertion follows google-auth (google/oauth2/service_account.py
// _make_authorization_grant_assertion): header {"alg":"RS256","typ":"JWT","kid":private_key_id},
// claims {iat, exp = iat + 3600, iss = client_email, aud = token_uri, scope}; base64url without
// padding; signed with RSASSA-PKCS1-v1_5 SHA-256 through OpenSSL's EVP_DigestSign.
//
// Key material (the PEM private key, the assertion, the access token) is held in Secret and never
// appears in an exception message, a verdict or a log line.
//
// Call order for TokenCache (ServiceAccountCredentials::fetch drives it):
//   if (auto t = cache.valid()) use *t;
//   else if (cache.begin_refresh(waiter)) { fetch; cache.complete(token) or cache.fail(verdict); }
//   // every waiter queued meanwhile is called once, with the token or the error
//
// Thread safety: the free functions are pure (OpenSSL's EVP calls are thread-safe). TokenCache is
// safe from any thread; waiters are called outside its lock, on the thread that calls complete()
// or fail() (or, when a token is already valid, on the thread that calls begin_refresh()).
// Cost: one RSA-2048 signature (~1 ms) per token, i.e. about once an hour per service account.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/http.hpp"
#include "llmfailover/providers/credentials.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/secret.hpp"

namespace llmfailover::providers::google_auth {

inline constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr std::chrono::seconds kAssertionLifetime{3600};
// A token is refreshed when less than this is left (google-auth's _helpers.REFRESH_THRESHOLD),
// or half its lifetime for tokens that live shorter than twice this.
inline constexpr std::chrono::seconds kRefreshMargin{3 * 60 + 45};

// The fields of a service-account key file that the grant needs.
struct ServiceAccount {
  std::string client_email;
  std::string private_key_id;
  Secret private_key;  // PEM ("-----BEGIN PRIVATE KEY-----...")
  std::string token_uri{kDefaultTokenUri};
  std::string project_id;
  bool operator==(const ServiceAccount&) const = default;
};

// A key file's JSON. Throws std::invalid_argument naming the missing or wrong field (never its
// value): not JSON, "type" other than "service_account", no client_email or private_key.
ServiceAccount parse_service_account(std::string_view json);

// RFC 4648 section 5 base64url without padding (the JWT encoding).
std::string base64url(std::string_view bytes);

// The signed assertion for `scope` at wall-clock time `now`. Throws std::invalid_argument when the
// private key is not a PEM RSA private key (the message names the problem, not the key).
Secret signed_jwt(const ServiceAccount& account, std::string_view scope, std::chrono::system_clock::time_point now);

// POST token_uri, application/x-www-form-urlencoded:
//   grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<jwt>
HttpRequest token_request(const ServiceAccount& account, std::chrono::system_clock::time_point now,
                          const Timeouts& timeouts, std::string_view scope = kCloudPlatformScope);

struct AccessToken {
  Secret token;
  Clock::time_point expires_at;  // on the router's TimeSource
  bool operator==(const AccessToken&) const = default;
};

// What the token endpoint answered: a token, or what the failure means for failover.
struct TokenAnswer {
  std::optional<AccessToken> token;
  std::optional<ErrorVerdict> error;
};

// `status` and `body` of the token endpoint's answer, received at `now`. 2xx with access_token ->
// token (expires_in defaults to 3600). Errors ({"error", "error_description"} per RFC 6749 5.2):
// 400 / 401 / 403 -> fatal_target "auth" (invalid_grant: a wrong, revoked or expired key, or a
// clock far off); 429 -> rate_limited; 5xx and anything else -> retryable. Messages start with
// "access token: " and carry the endpoint's error code and description, never the assertion.
TokenAnswer read_token_answer(int status, std::string_view body, Clock::time_point now);

// One service account's access token, shared by every target that uses it.
class TokenCache {
 public:
  using Waiter = std::function<void(std::optional<Secret> token, std::optional<ErrorVerdict> error)>;

  TokenCache(ServiceAccount account, const TimeSource& clock) : account_(std::move(account)), clock_(clock) {}
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  const ServiceAccount& account() const noexcept { return account_; }

  // The token when it has more than the refresh margin left; nullopt otherwise.
  std::optional<Secret> valid() const;
  // Queues `waiter` for the refresh in progress, or starts one. Returns true only to the caller
  // that must fetch the token (then complete() or fail() — exactly once). When a token became
  // valid since the caller's valid() check, `waiter` is called at once and false is returned.
  bool begin_refresh(Waiter waiter);
  // Ends the refresh: stores the token and hands it to every queued waiter.
  void complete(AccessToken token);
  // Ends the refresh without a new token. Waiters get the current token if it has not expired yet
  // (the margin is a head start, not an expiry), else `error`. Nothing is remembered: the next
  // call that finds no valid token fetches again.
  void fail(ErrorVerdict error);
  // Forgets the token (the upstream refused it with 401): the next call fetches a new one.
  void invalidate();
  // Fetches completed so far (tests, diagnostics).
  int refreshes() const;

 private:
  bool fresh(Clock::time_point now) const;  // with mutex_ held

  const ServiceAccount account_;
  const TimeSource& clock_;
  mutable std::mutex mutex_;
  std::optional<AccessToken> token_;
  Clock::time_point obtained_{};
  bool refreshing_ = false;
  std::vector<Waiter> waiters_;
  int refreshes_ = 0;
};

// The service account a deployment configures: `config.credentials` is the key file's JSON (it
// starts with '{') or a path to it; empty: the file GOOGLE_APPLICATION_CREDENTIALS names. The key
// is validated by signing once. Throws CredentialError (field "credentials", or "credentials (from
// GOOGLE_APPLICATION_CREDENTIALS)") naming the problem; a path is quoted back only when it looks
// like one (never text that may be a key).
ServiceAccount load_service_account(const CredentialConfig& config, const EnvLookup& env);

// One service account's token behind the Credentials interface. fetch(): the cached token when it
// is valid; else queues the waiter, and the first waiter POSTs token_uri through start_http with a
// freshly signed assertion, bounded by `timeouts.connect` and kFetchLimit in all. The answer is
// read by read_token_answer(); a transport error, a refused answer or one that does not fit the
// schema reaches every waiter as an ErrorVerdict, never as an exception on the io thread.
class ServiceAccountCredentials : public Credentials {
 public:
  static constexpr Millis kFetchLimit{30000};

  ServiceAccountCredentials(ServiceAccount account, const TimeSource& clock)
      : cache_(std::make_shared<TokenCache>(std::move(account), clock)), clock_(clock) {}

  std::optional<Secret> ready() const override { return cache_->valid(); }
  void fetch(const StartHttp& start_http, const Timeouts& timeouts, Done done) override;
  void refused() override { cache_->invalidate(); }
  int fetches() const override { return cache_->refreshes(); }
  std::string_view kind() const noexcept override { return "an access token"; }

  TokenCache& cache() noexcept { return *cache_; }

 private:
  std::shared_ptr<TokenCache> cache_;  // shared with a fetch in flight, which may end after this
  const TimeSource& clock_;            // the router's: outlives its targets and their exchanges
};

// The Credentials of `account`, shared through `pool` by every deployment that uses the same key
// (client_email, key id, token_uri and key): one token and one fetch for all of them.
std::shared_ptr<Credentials> shared_credentials(ServiceAccount account, const TimeSource& clock, CredentialPool& pool);

}  // namespace llmfailover::providers::google_auth
