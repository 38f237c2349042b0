// google_token_dialect.cpp — Google's OAuth 2.0 token endpoint (POST /token, the service-account
// JWT bearer grant of RFC 7523) for the fake provider, so Vertex AI routes can be tested end to end.
//
// It checks what the real endpoint checks that can be checked without the public key: the grant
// type, a well-formed RS256 JWT whose aud is this endpoint's own URL (http://<Host>/token, as our
// router and Go's oauth2/jwt send it) or Google's documented constant https://oauth2.googleapis.com/token
// (what google-auth always sends, whatever the token_uri), iss and scope present, a lifetime of at most an hour, iat
// within five minutes of now. It cannot verify the signature (tests do, with the public key). The model of a token
// request — the key for fault scripts and the attempt log — is the assertion's iss (the service account's
// client_email). The raw form body, assertion included, is in the attempt record. Answer: {"access_token":
// "fake-token-N", "expires_in": 3600, "token_type": "Bearer"}, N the attempt number; errors are RFC 6749 5.2 ({"error":
// "invalid_grant", "error_description"}).
#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "dialect.hpp"

namespace llmfailover::testing::detail {
namespace {

using nlohmann::json;

constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";

std::string form_value(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && percent_decode(pair.substr(0, eq), true) == name)
      return percent_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return {};
}

// base64url without padding; nullopt when a character is outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view s) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

json jwt_part(std::string_view part) {
  auto text = base64url_decode(part);
  return text ? parse_json(*text) : json();
}

// What is wrong with `assertion` for an endpoint at `audience` ("" = nothing); sets `iss`.
std::string check_assertion(std::string_view assertion, const std::string& audience, std::string& iss) {
  const auto d1 = assertion.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : assertion.find('.', d1 + 1);
  if (d2 == std::string_view::npos || assertion.find('.', d2 + 1) != std::string_view::npos) {
    return "Invalid JWT: a JWT has three dot-separated parts";
  }
  const json header = jwt_part(assertion.substr(0, d1));
  const json claims = jwt_part(assertion.substr(d1 + 1, d2 - d1 - 1));
  const auto signature = base64url_decode(assertion.substr(d2 + 1));
  if (!header.is_object() || !claims.is_object())
    return "Invalid JWT: header and claims must be base64url JSON objects";
  if (claims.contains("iss") && claims["iss"].is_string()) iss = claims["iss"].get<std::string>();
  if (header.value("alg", "") != "RS256" || header.value("typ", "JWT") != "JWT")
    return "Invalid JWT: alg must be RS256";
  if (!signature || signature->size() < 128) return "Invalid JWT Signature.";
  if (iss.empty()) return "Invalid JWT: iss is missing";
  if (!claims.contains("scope") || !claims["scope"].is_string()) return "Invalid JWT: scope is missing";
  const std::string aud = claims.value("aud", "");
  if (aud != audience && aud != "https://oauth2.googleapis.com/token")
    return "Invalid JWT: Failed audience check. The right audience is " + audience;
  const json iat = claims.value("iat", json()), exp = claims.value("exp", json());
  if (!iat.is_number_integer() || !exp.is_number_integer()) return "Invalid JWT: iat and exp must be integers";
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (exp.get<long long>() <= iat.get<long long>() || exp.get<long long>() - iat.get<long long>() > 3600 ||
      std::llabs(iat.get<long long>() - now) > 300) {
    return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat "
           "and exp values in the JWT claim.";
  }
  return {};
}

class GoogleTokenDialect final : public Dialect {
 public:
  ParsedRequest parse(std::string_view method, std::string_view target, std::string body) const override {
    return parse_request(method, target, std::move(body), {});
  }

  ParsedRequest parse_request(std::string_view method, std::string_view, std::string body,
                              const Headers& headers) const override {
    ParsedRequest req;
    req.body = std::move(body);
    req.kind = 1;
    auto fail = [&](std::string_view code, std::string message) {
      req.error_status = 400;
      req.error_param = std::string(code);  // the OAuth error code (error_body renders it)
      req.error_message = std::move(message);
      return req;
    };
    if (method != "POST") return fail("invalid_request", "the token endpoint takes POST");
    const std::string grant = form_value(req.body, "grant_type");
    if (grant != kJwtBearer) return fail("unsupported_grant_type", "Invalid grant_type: " + grant);
    const std::string assertion = form_value(req.body, "assertion");
    if (assertion.empty()) return fail("invalid_request", "Missing required parameter: assertion");
    const std::string* host = find_header(headers, "host");
    const std::string audience = "http://" + (host ? *host : std::string()) + "/token";
    if (std::string why = check_assertion(assertion, audience, req.model); !why.empty())
      return fail("invalid_grant", why);
    return req;
  }

  Reply reply(const ParsedRequest&, const ReplyContext& ctx) const override {
    Reply r;
    r.body = json{{"access_token", "fake-token-" + std::to_string(ctx.attempt)},
                  {"expires_in", 3600},
                  {"token_type", "Bearer"}}
                 .dump();
    return r;
  }

  std::string error_body(int status, std::string_view code, std::string_view message,
                         std::string_view param) const override {
    std::string error(!code.empty() ? code : param);
    std::string description(message);
    if (error.empty()) {
      error = status == 400   ? "invalid_grant"
              : status == 401 ? "invalid_client"
              : status == 403 ? "access_denied"
              : status == 429 ? "rate_limit_exceeded"
                              : "internal_failure";
    }
    if (description.empty()) {
      description = status == 400   ? "Invalid JWT Signature."
                    : status == 401 ? "The OAuth client was not found."
                    : status == 403 ? "The caller does not have permission"
                    : status == 429 ? "Rate limit exceeded."
                                    : "Internal error. Please try again.";
    }
    return json{{"error", error}, {"error_description", description}}.dump();
  }

  std::string error_frame() const override { return {}; }
  std::string malformed_frame() const override { return {}; }
  std::string done_frame() const override { return {}; }
  std::string default_content(std::string_view, unsigned) const override { return {}; }
};

}  // namespace

std::unique_ptr<Dialect> make_google_token_dialect() { return std::make_unique<GoogleTokenDialect>(); }

}  // namespace llmfailover::testing::detail
