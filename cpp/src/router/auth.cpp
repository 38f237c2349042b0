// auth.cpp — service-account credentials for vertex targets and the single-flight token fetch
// (auth.hpp). Where credentials come from follows google-auth's google.auth.default(): the
// explicit key, else the file named by GOOGLE_APPLICATION_CREDENTIALS.
#include "auth.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "llmfailover/transport/http_client.hpp"

namespace llmfailover {
namespace {

namespace ga = providers::google_auth;

constexpr Millis kFetchLimit{30000};

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Only something shaped like a path is quoted back: a key pasted in the wrong place must not be.
bool quotable_path(const std::string& s) {
  return s.size() <= 512 && s.find('\n') == std::string::npos && s.find("PRIVATE KEY") == std::string::npos;
}

std::string read_key_file(const std::string& where, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string why = std::strerror(errno);
    if (!quotable_path(path))
      throw ConfigError(where, "credentials are neither a JSON document nor a readable file path");
    throw ConfigError(where, "cannot read the service-account file '" + path + "' (" + why + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The key file's text, and where it came from (for messages).
std::string credentials_text(const DeploymentConfig& d, const std::string& where, const EnvLookup& env) {
  std::string given = trimmed(d.credentials.reveal());  // not const: returned by move
  if (given.starts_with("{")) return given;
  if (!given.empty()) return read_key_file(where, given);
  auto path = env("GOOGLE_APPLICATION_CREDENTIALS");
  if (!path || path->empty()) {
    throw ConfigError(where,
                      "vertex needs service-account credentials: set credentials (LiteLLM vertex_credentials) "
                      "to the key file's path or content, or GOOGLE_APPLICATION_CREDENTIALS");
  }
  return read_key_file(where + " (from GOOGLE_APPLICATION_CREDENTIALS)", *path);
}

void check_project(const DeploymentConfig& d, const providers::Endpoint& endpoint) {
  if (endpoint.project.empty() && !d.model.starts_with("projects/")) {
    throw ConfigError("deployments." + d.id + ".project",
                      "vertex needs a project: set project (LiteLLM vertex_project) or use a key file with project_id");
  }
}

void deliver_failure(const std::shared_ptr<ga::TokenCache>& cache, const Error& e) {
  cache->fail({errc_class(e), std::string(to_string(e.code)), "access token: " + e.message});
}

}  // namespace

std::shared_ptr<ga::TokenCache> prepare_auth(const DeploymentConfig& d, providers::Endpoint& endpoint,
                                             const TimeSource& clock, TokenCaches& caches, const EnvLookup& env) {
  const auto* info = providers::find_provider_info(d.provider);
  if (!info || info->credential != providers::CredentialSource::service_account) return nullptr;
  if (d.credentials.empty() && !d.api_keys.empty()) {  // a ready access token (gcloud auth print-access-token)
    check_project(d, endpoint);
    return nullptr;
  }
  const std::string where = "deployments." + d.id + ".credentials";
  ga::ServiceAccount sa;
  try {
    sa = ga::parse_service_account(credentials_text(d, where, env));
    (void)ga::signed_jwt(sa, ga::kCloudPlatformScope,
                         std::chrono::system_clock::now());  // a bad key fails here, not per call
  } catch (const ConfigError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw ConfigError(where, e.what());  // names the field or the key's problem, never its content
  }
  if (endpoint.project.empty()) endpoint.project = sa.project_id;
  check_project(d, endpoint);
  std::string key = sa.client_email + '\n' + sa.private_key_id + '\n' + sa.token_uri + '\n' + sa.private_key.reveal();
  auto& cache = caches[key];
  if (!cache) cache = std::make_shared<ga::TokenCache>(std::move(sa), clock);
  return cache;
}

void ensure_token(Router::Impl& r, Target& t, const Timeouts& timeouts, ga::TokenCache::Waiter done) {
  std::shared_ptr<ga::TokenCache> cache = t.tokens;
  if (auto token = cache->valid()) return done(std::move(token), std::nullopt);
  if (!cache->begin_refresh(std::move(done))) return;  // another call is fetching; we are queued

  Timeouts limits;
  limits.connect = timeouts.connect;
  limits.first_byte = timeouts.first_byte.count() > 0 ? std::min(timeouts.first_byte, kFetchLimit) : kFetchLimit;
  limits.total = kFetchLimit;
  HttpRequest request;
  try {
    request = ga::token_request(cache->account(), std::chrono::system_clock::now(), limits);
    if (t.deployment->proxy) request.proxy = t.deployment->proxy->reveal();  // the token host too
  } catch (const std::invalid_argument& e) {
    return cache->fail({ErrorClass::fatal_target, "auth", std::string("access token: ") + e.what()});
  }
  struct Answer {
    int status = 0;
    std::string body;
  };
  auto answer = std::make_shared<Answer>();
  std::shared_ptr<TimeSource> time = r.time;
  r.http->start(std::move(request), [answer, cache, time](Event&& e) {
    switch (e.kind) {
      case Event::Kind::head: answer->status = e.status; return;
      case Event::Kind::body:
      case Event::Kind::sse: answer->body += e.data; return;
      case Event::Kind::error: return deliver_failure(cache, e.error);
      case Event::Kind::end: {
        std::optional<ga::TokenAnswer> a;
        try {
          a = ga::read_token_answer(answer->status, answer->body, time->now());
        } catch (const std::exception&) {  // never on the io thread: every waiting call would hang
          return cache->fail({ErrorClass::retryable, "bad_response",
                              "access token: the token endpoint's answer does not fit its schema"});
        }
        if (a->token) cache->complete(std::move(*a->token));
        else cache->fail(std::move(*a->error));
        return;
      }
    }
  });
}

}  // namespace llmfailover
