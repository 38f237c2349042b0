// sigv4.hpp — AWS Signature Version 4 (HMAC-SHA256 via OpenSSL) and AWS credential discovery,
// for Bedrock (drop_in.md 4.4; docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
//
// sign() matches botocore.auth.SigV4Auth byte for byte (tests/cpp/fixtures/providers/bedrock/
// sigv4_vectors.jsonl were computed by botocore):
//   * canonical URI = the request path as sent (already percent-encoded once), dot segments and
//     empty segments removed, then percent-encoded AGAIN ('/' and '~' kept) — the double encoding
//     AWS requires for every service but S3. A model id "...-v1:0" is sent as "...-v1%3A0" and
//     signed as "...-v1%253A0" (the classic SignatureDoesNotMatch, BerriAI/litellm#15788).
//   * canonical query = the URL's query pairs as sent, sorted (not re-encoded).
//   * signed headers = every request header except botocore's blacklist (user-agent, expect,
//     connection, ...), plus host (from the URL, with the port when it is not the scheme's) and
//     x-amz-date; x-amz-security-token is added for session credentials. Values are trimmed and
//     runs of spaces collapsed; repeated names are joined with ','.
//   * payload hash = hex SHA-256 of the body (no x-amz-content-sha256 header, as botocore for Bedrock).
//
// Credentials: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then
// the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
// AWS_PROFILE or "default"); region: AWS_REGION, AWS_DEFAULT_REGION, then the config file
// (AWS_CONFIG_FILE or ~/.aws/config, "[default]" / "[profile NAME]"). Lookups are injected so tests
// never read the real environment.
//
// Thread safety: pure functions of their inputs (the default lookups read the process environment
// and the file system).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmfailover/http.hpp"
#include "llmfailover/secret.hpp"

namespace llmfailover::providers::sigv4 {

struct Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty for long-term keys
  std::string source;    // "environment", "shared credentials file (profile x)" — for messages
  bool operator==(const Credentials&) const = default;
};

// Everything a signature depends on besides the request.
struct Scope {
  std::string region;
  std::string service;  // "bedrock"
  std::chrono::system_clock::time_point time;
};

// The intermediate values, for tests and debugging (never logged: they are safe, the key is not in them).
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
  std::string amz_date;        // YYYYMMDDTHHMMSSZ
};

// Adds X-Amz-Date (and X-Amz-Security-Token) and Authorization to `request`, replacing any
// earlier ones. Throws std::invalid_argument for a URL that is not absolute http(s).
Signature sign(HttpRequest& request, const Credentials& credentials, const Scope& scope);

// Building blocks (exposed for tests).
std::string amz_date(std::chrono::system_clock::time_point t);         // 20240115T083000Z
std::string uri_encode(std::string_view text, std::string_view safe);  // RFC 3986 unreserved + `safe` pass
std::string canonical_uri(std::string_view path);                      // normalised, then encoded again
std::string canonical_query(std::string_view query);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes

// ---- credential discovery -------------------------------------------------------------------------
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
FileReader real_files();

// Keys of one section of an INI file ("default", "profile dev", ...); empty when absent.
std::vector<std::pair<std::string, std::string>> ini_section(std::string_view text, std::string_view section);

// nullopt when neither the environment nor the credentials file holds a key pair.
std::optional<Credentials> load_credentials(const EnvLookup& env, const FileReader& files);
// "" when no region is configured.
std::string load_region(const EnvLookup& env, const FileReader& files);

}  // namespace llmfailover::providers::sigv4
