// google_auth.cpp — the service-account JWT bearer grant and the token cache (google_auth.hpp).
// Grant: RFC 7523 section 2.1; token answer: RFC 6749 sections 5.1 and 5.2; claims and header as
// google-auth's service_account.Credentials (google/oauth2/service_account.py, google/auth/jwt.py).
// Where a deployment's key comes from follows google-auth's google.auth.default(): the explicit
// key, else the file named by GOOGLE_APPLICATION_CREDENTIALS.
#include "llmfailover/providers/google_auth.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "llmfailover/json.hpp"
#include "llmfailover/saturate.hpp"

namespace llmfailover::providers::google_auth {
namespace {

using nlohmann::json;

[[noreturn]] void bad_key_file(const std::string& what) {
  throw std::invalid_argument("service-account JSON: " + what);
}

// A required non-empty string member; the message names the field, never a value.
std::string required(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) bad_key_file(std::string("missing \"") + field + "\"");
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    bad_key_file(std::string("\"") + field + "\" must be a non-empty string");
  return it->get<std::string>();
}

std::string optional_string(const json& doc, const char* field, std::string fallback = {}) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return fallback;
  if (!it->is_string()) bad_key_file(std::string("\"") + field + "\" must be a string");
  return it->get_ref<const std::string&>().empty() ? fallback : it->get<std::string>();
}

// OpenSSL handles, freed on every path.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Never prompt for a passphrase on the terminal (OpenSSL's default for an encrypted PEM).
int no_passphrase(char*, int, int, void*) { return 0; }

[[noreturn]] void signing_failed(const std::string& what) {
  ERR_clear_error();  // leave nothing on this thread's queue for the TLS code to misread
  throw std::invalid_argument("service-account private_key: " + what);
}

Pkey load_rsa_key(const Secret& pem) {
  std::string text = pem.reveal();
  // Keys pasted into environment variables often carry literal "\n" instead of line breaks.
  if (text.find('\n') == std::string::npos && text.find("\\n") != std::string::npos) {
    std::string fixed;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') fixed += '\n', ++i;
      else fixed += text[i];
    }
    text.swap(fixed);
  }
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) signing_failed("out of memory");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) signing_failed("not a PEM private key (expected \"-----BEGIN PRIVATE KEY-----\")");
  if (!EVP_PKEY_is_a(key.get(), "RSA")) signing_failed("not an RSA key (RS256 needs one)");
  return key;
}

std::string rs256(const Secret& pem, std::string_view input) {
  Pkey key = load_rsa_key(pem);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) signing_failed("out of memory");
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
    signing_failed("cannot sign with it");
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) signing_failed("cannot sign with it");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1) {
    signing_failed("cannot sign with it");
  }
  sig.resize(len);
  return sig;
}

long long unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

ErrorVerdict token_error(int status, std::string_view body) {
  std::string detail = "HTTP " + std::to_string(status);
  const json doc = parse_json(body);
  if (doc.is_object()) {
    // RFC 6749 5.2: {"error": "invalid_grant", "error_description": "..."}; some proxies send a
    // google.rpc.Status ({"error": {"message": ...}}) instead.
    const json& e = doc.contains("error") ? doc["error"] : json();
    if (e.is_string()) detail += " " + e.get<std::string>();
    else if (e.is_object() && e.contains("message") && e["message"].is_string())
      detail += " " + e["message"].get<std::string>();
    if (doc.contains("error_description") && doc["error_description"].is_string()) {
      detail += ": " + doc["error_description"].get<std::string>();
    }
  }
  const std::string message = "access token: " + detail;
  if (status == 429) return {ErrorClass::rate_limited, "rate_limited", message};
  if (status == 408 || status >= 500) return {ErrorClass::retryable, "server_error", message};
  if (status >= 400) return {ErrorClass::fatal_target, "auth", message};  // the credentials cannot work here
  return {ErrorClass::retryable, "bad_response", message};
}

}  // namespace

ServiceAccount parse_service_account(std::string_view text) {
  // No parser message: it would quote the text around the error, which may be the key.
  const json doc = parse_json(text);
  if (!doc.is_object()) bad_key_file("not a JSON object");
  const std::string type = optional_string(doc, "type");
  if (!type.empty() && type != "service_account") {
    bad_key_file("\"type\" is \"" + type + "\"; only \"service_account\" keys are supported" +
                 (type == "authorized_user" ? " (not gcloud user credentials)" : ""));
  }
  ServiceAccount sa;
  sa.client_email = required(doc, "client_email");
  sa.private_key = Secret(required(doc, "private_key"));
  sa.private_key_id = optional_string(doc, "private_key_id");
  sa.token_uri = optional_string(doc, "token_uri", std::string(kDefaultTokenUri));
  sa.project_id = optional_string(doc, "project_id");
  if (!sa.token_uri.starts_with("https://") && !sa.token_uri.starts_with("http://")) {
    bad_key_file("\"token_uri\" must be an http(s) URL");
  }
  if (sa.token_uri.find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos)
    bad_key_file("\"token_uri\" must not contain spaces, CR, LF or NUL");
  return sa;
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    if (i + 1 < bytes.size()) out.push_back(kAlphabet[(n >> 6) & 63]);
    if (i + 2 < bytes.size()) out.push_back(kAlphabet[n & 63]);
  }
  return out;
}

Secret signed_jwt(const ServiceAccount& account, std::string_view scope, std::chrono::system_clock::time_point now) {
  nlohmann::ordered_json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  const long long iat = unix_seconds(now);
  const nlohmann::ordered_json claims = {{"iss", account.client_email},
                                         {"scope", std::string(scope)},
                                         {"aud", account.token_uri},
                                         {"iat", iat},
                                         {"exp", iat + kAssertionLifetime.count()}};
  std::string input = base64url(header.dump()) + "." + base64url(claims.dump());
  const std::string signature = rs256(account.private_key, input);
  return Secret(input + "." + base64url(signature));
}

HttpRequest token_request(const ServiceAccount& account, std::chrono::system_clock::time_point now,
                          const Timeouts& timeouts, std::string_view scope) {
  HttpRequest h;
  h.method = "POST";
  h.url = account.token_uri;
  h.timeouts = timeouts;
  h.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  // The assertion is base64url and dots: nothing in it needs percent-encoding.
  h.body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
           signed_jwt(account, scope, now).reveal();
  return h;
}

TokenAnswer read_token_answer(int status, std::string_view body, Clock::time_point now) {
  TokenAnswer out;
  if (status < 200 || status >= 300) {
    out.error = token_error(status, body);
    return out;
  }
  const json doc = parse_json(body);
  const json* token = doc.is_object() && doc.contains("access_token") ? &doc["access_token"] : nullptr;
  if (!token || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    out.error = ErrorVerdict{ErrorClass::retryable, "bad_response",
                             "access token: the token endpoint's answer has no access_token"};
    return out;
  }
  long long expires_in = kAssertionLifetime.count();
  if (auto e = doc.find("expires_in"); e != doc.end()) {
    if (e->is_number()) expires_in = saturate_ll(e->get<double>());
    else if (e->is_string()) expires_in = std::atoll(e->get<std::string>().c_str());  // some proxies quote it
  }
  out.token = AccessToken{Secret(token->get<std::string>()), now + std::chrono::seconds(std::max(0LL, expires_in))};
  return out;
}

// ---- TokenCache ---------------------------------------------------------------------------------

bool TokenCache::fresh(Clock::time_point now) const {
  if (!token_) return false;
  const auto lifetime = token_->expires_at - obtained_;
  const auto margin = std::min<Clock::duration>(kRefreshMargin, lifetime / 2);
  return token_->expires_at - now > margin;
}

std::optional<Secret> TokenCache::valid() const {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  if (fresh(now)) return token_->token;
  return std::nullopt;
}

bool TokenCache::begin_refresh(Waiter waiter) {
  const auto now = clock_.now();
  std::optional<Secret> ready;
  {
    std::lock_guard lock(mutex_);
    if (fresh(now)) {
      ready = token_->token;
    } else {
      waiters_.push_back(std::move(waiter));
      if (refreshing_) return false;
      refreshing_ = true;
      return true;
    }
  }
  waiter(std::move(ready), std::nullopt);
  return false;
}

void TokenCache::complete(AccessToken token) {
  const auto now = clock_.now();
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    token_ = token;
    obtained_ = now;
    refreshing_ = false;
    ++refreshes_;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w(token.token, std::nullopt);
}

void TokenCache::fail(ErrorVerdict error) {
  const auto now = clock_.now();
  std::vector<Waiter> waiters;
  std::optional<Secret> still_usable;
  {
    std::lock_guard lock(mutex_);
    refreshing_ = false;
    if (token_ && token_->expires_at > now) still_usable = token_->token;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) {
    if (still_usable) w(still_usable, std::nullopt);
    else w(std::nullopt, error);
  }
}

void TokenCache::invalidate() {
  std::lock_guard lock(mutex_);
  token_.reset();
}

int TokenCache::refreshes() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

// ---- a deployment's service account and its Credentials --------------------------------------

namespace {

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Only something shaped like a path is quoted back: a key pasted in the wrong place must not be.
bool quotable_path(const std::string& s) {
  return s.size() <= 512 && s.find('\n') == std::string::npos && s.find("PRIVATE KEY") == std::string::npos;
}

std::string read_key_file(const std::string& field, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string why = std::strerror(errno);
    if (!quotable_path(path))
      throw CredentialError(field, "credentials are neither a JSON document nor a readable file path");
    throw CredentialError(field, "cannot read the service-account file '" + path + "' (" + why + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ServiceAccount load_service_account(const CredentialConfig& config, const EnvLookup& env) {
  std::string field = "credentials";
  std::string text = trimmed(config.credentials.reveal());
  if (!text.empty() && !text.starts_with("{")) {
    text = read_key_file(field, text);
  } else if (text.empty()) {
    auto path = env("GOOGLE_APPLICATION_CREDENTIALS");
    if (!path || path->empty()) {
      throw CredentialError(field,
                            "vertex needs service-account credentials: set credentials (LiteLLM vertex_credentials) "
                            "to the key file's path or content, or GOOGLE_APPLICATION_CREDENTIALS");
    }
    field += " (from GOOGLE_APPLICATION_CREDENTIALS)";
    text = read_key_file(field, *path);
  }
  try {
    ServiceAccount sa = parse_service_account(text);
    (void)signed_jwt(sa, kCloudPlatformScope, std::chrono::system_clock::now());  // a bad key fails here, not per call
    return sa;
  } catch (const CredentialError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw CredentialError(field, e.what());  // names the field or the key's problem, never its content
  }
}

std::shared_ptr<Credentials> shared_credentials(ServiceAccount account, const TimeSource& clock, CredentialPool& pool) {
  std::string key = "google-service-account\n" + account.client_email + '\n' + account.private_key_id + '\n' +
                    account.token_uri + '\n' + account.private_key.reveal();
  auto& entry = pool[key];
  if (!entry) entry = std::make_shared<ServiceAccountCredentials>(std::move(account), clock);
  return entry;
}

void ServiceAccountCredentials::fetch(const StartHttp& start_http, const Timeouts& timeouts, Done done) {
  if (auto token = cache_->valid()) return done(std::move(token), std::nullopt);
  if (!cache_->begin_refresh(std::move(done))) return;  // another attempt is fetching; we are queued

  Timeouts limits;
  limits.connect = timeouts.connect;
  limits.first_byte = timeouts.first_byte.count() > 0 ? std::min(timeouts.first_byte, kFetchLimit) : kFetchLimit;
  limits.total = kFetchLimit;
  HttpRequest request;
  try {
    request = token_request(cache_->account(), std::chrono::system_clock::now(), limits);
  } catch (const std::invalid_argument& e) {
    return cache_->fail({ErrorClass::fatal_target, "auth", std::string("access token: ") + e.what()});
  }
  struct Answer {
    int status = 0;
    std::string body;
  };
  auto answer = std::make_shared<Answer>();
  std::shared_ptr<TokenCache> cache = cache_;
  const TimeSource* clock = &clock_;
  auto fail = [cache](const ErrorVerdict& verdict) { cache->fail(verdict); };
  try {
    start_http(std::move(request), [answer, cache, clock, fail](Event&& e) {
      switch (e.kind) {
        case Event::Kind::head: answer->status = e.status; return;
        case Event::Kind::body:
        case Event::Kind::sse: answer->body += e.data; return;
        case Event::Kind::error:
          return fail({errc_class(e.error), std::string(to_string(e.error.code)), "access token: " + e.error.message});
        case Event::Kind::end: {
          std::optional<TokenAnswer> a;
          try {
            a = read_token_answer(answer->status, answer->body, clock->now());
          } catch (const std::exception&) {  // never on the io thread: every waiting attempt would hang
            return fail({ErrorClass::retryable, "bad_response",
                         "access token: the token endpoint's answer does not fit its schema"});
          }
          if (a->token) cache->complete(std::move(*a->token));
          else cache->fail(std::move(*a->error));
          return;
        }
      }
    });
  } catch (const std::exception& e) {  // the exchange could not start: every waiter hears it
    fail({ErrorClass::retryable, "auth", std::string("access token: ") + e.what()});
  }
}

}  // namespace llmfailover::providers::google_auth
