// credentials.hpp — a deployment's credential source, as the provider registry makes it: what a
// target needs before an attempt can be sent, obtained without the caller knowing which kind it is.
//
// Kinds (registry.hpp CredentialSource):
//   api_key          the Endpoint's static key; the adapter sets the header       -> no Credentials
//   sigv4            the adapter signs each request from the Endpoint's values     -> no Credentials
//   service_account  an OAuth access token fetched from a token endpoint and cached
//                    (google_auth.hpp ServiceAccountCredentials)                    -> a Credentials
// make_credentials() returns nullptr for a deployment whose Endpoint already authenticates its
// requests; otherwise a Credentials shared by every deployment that uses the same account.
//
// Call order (the router):
//   building:   creds = make_credentials(info, config, endpoint, clock, pool)   // may fill endpoint
//   per attempt: if (auto t = creds->ready()) send with *t;
//                else creds->fetch(start_http, timeouts, done);   // done(token) or done(error)
//                the attempt puts the token in its own copy of the Endpoint (Endpoint::api_key)
//   a 401 answer: creds->refused()  (the next attempt fetches a fresh credential)
// fetch() starts at most one exchange per Credentials however many attempts wait (single flight);
// every waiter is called exactly once. start_http is how the caller sends an HTTP request (its
// HttpClient, with the deployment's proxy): providers never own a connection.
//
// Errors: make_credentials throws CredentialError naming the configuration field (relative to the
// deployment: "credentials", "project") and the problem, never a key's content. A failed fetch is
// delivered to the waiters as an ErrorVerdict (message starts "access token: "), never thrown.
//
// Thread safety: make_credentials runs while the router is built. ready(), fetch() and refused()
// are safe from any thread; `done` runs outside any lock, on the thread that ends the fetch (the
// io thread of start_http's exchange) or at once on the calling thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "llmfailover/clock.hpp"
#include "llmfailover/error.hpp"
#include "llmfailover/http.hpp"
#include "llmfailover/secret.hpp"

namespace llmfailover::providers {

struct Endpoint;
struct ProviderInfo;

// A configuration problem of one deployment's credentials. `field` is relative to the deployment
// ("credentials", "credentials (from GOOGLE_APPLICATION_CREDENTIALS)", "project"); the caller
// prefixes the deployment's path.
class CredentialError : public std::invalid_argument {
 public:
  CredentialError(std::string field, const std::string& message)
      : std::invalid_argument(message), field_(std::move(field)) {}
  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

// What a credential factory reads from a deployment's configuration (the config layer's types stay
// above this layer: the router copies these out).
struct CredentialConfig {
  Secret credentials;        // a key file's JSON or a path to one; empty when not configured
  bool has_api_key = false;  // the deployment configures an api_key (for vertex: a ready token)
  std::string model;         // the deployment's model ("projects/..." names its own project)
};

// Sends one HTTP request and delivers its events (head, body/sse..., end or error) to the sink.
using StartHttp = std::function<void(HttpRequest request, std::function<void(Event&&)> sink)>;

class Credentials {
 public:
  using Done = std::function<void(std::optional<Secret> token, std::optional<ErrorVerdict> error)>;

  virtual ~Credentials() = default;
  // A credential usable now without waiting; nullopt when fetch() is needed.
  virtual std::optional<Secret> ready() const = 0;
  // Calls `done` once with a credential or the error that prevented one. `timeouts` are the
  // waiting attempt's (the exchange's connect limit; the fetch has its own overall limit).
  virtual void fetch(const StartHttp& start_http, const Timeouts& timeouts, Done done) = 0;
  // The upstream refused the credential (401): forget it, the next attempt fetches a new one.
  virtual void refused() {}
  // Fetches completed so far (tests, diagnostics).
  virtual int fetches() const { return 0; }
  // What is fetched, for messages: "an access token".
  virtual std::string_view kind() const noexcept = 0;
};

// Credentials shared while the router is built: one per account, keyed by the factory.
using CredentialPool = std::map<std::string, std::shared_ptr<Credentials>>;

// The deployment's Credentials from its provider's factory (ProviderInfo::make_credentials), or
// nullptr when the provider has none or the Endpoint already authenticates the deployment's
// requests. May fill `endpoint` (vertex: the project from the key file). Throws CredentialError.
std::shared_ptr<Credentials> make_credentials(const ProviderInfo& info, const CredentialConfig& config,
                                              Endpoint& endpoint, const TimeSource& clock, CredentialPool& pool,
                                              const EnvLookup& env = process_env());

}  // namespace llmfailover::providers
