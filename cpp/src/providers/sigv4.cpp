// sigv4.cpp — AWS Signature Version 4, mirroring botocore/auth.py SigV4Auth (canonical_request,
// _normalize_url_path, headers_to_sign, string_to_sign, signature), and credential discovery as
// botocore's EnvProvider / SharedCredentialProvider do it.
#include "llmfailover/providers/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "llmfailover/transport/url.hpp"

namespace llmfailover::providers::sigv4 {
namespace {

// botocore.auth.SIGNED_HEADERS_BLACKLIST (hop-by-hop and tracing headers a proxy may change).
constexpr std::string_view kUnsigned[] = {
    "baggage",    "connection",      "expect",       "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te",         "traceparent",     "tracestate",   "trailer",    "transfer-encoding",  "upgrade",
    "user-agent", "x-amzn-trace-id", "authorization"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// Python's str.split() then ' '.join(): trim, and collapse runs of whitespace to one space.
std::string trim_all(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
  }
  return out;
}

// botocore.utils.remove_dot_segments: RFC 3986 5.2.4, and empty segments dropped.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(start, slash - start);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    start = slash + 1;
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i) result.push_back('/');
    result.append(out[i]);
  }
  if (path.back() == '/' && !out.empty()) result += "/";
  return result;
}

std::string home_file(const EnvLookup& env, const char* override_var, const char* relative) {
  if (auto v = env(override_var); v && !v->empty()) {
    if (v->starts_with("~/")) {
      if (auto home = env("HOME")) return *home + v->substr(1);
    }
    return *v;
  }
  auto home = env("HOME");
  return home ? *home + "/" + relative : std::string();
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& kv, std::string_view key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return {};
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view text, std::string_view safe) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        safe.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path) { return uri_encode(remove_dot_segments(path), "/~"); }

std::string canonical_query(std::string_view query) {
  if (query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(start, amp - start);
    const auto eq = pair.find('=');
    pairs.emplace_back(std::string(pair.substr(0, eq)),
                       eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
    start = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out.append(k).append("=").append(v);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

Signature sign(HttpRequest& request, const Credentials& creds, const Scope& scope) {
  const auto url = transport::parse_url(request.url);
  if (!url) throw std::invalid_argument("sigv4: not an absolute http(s) URL: " + request.url);
  Signature s;
  s.amz_date = amz_date(scope.time);
  const std::string date = s.amz_date.substr(0, 8);

  // Replace what an earlier signature (a retry) left behind.
  std::erase_if(request.headers, [](const Header& h) {
    return iequals(h.name, "authorization") || iequals(h.name, "x-amz-date") || iequals(h.name, "x-amz-security-token");
  });
  request.headers.push_back({"X-Amz-Date", s.amz_date});
  if (!creds.session_token.empty()) request.headers.push_back({"X-Amz-Security-Token", creds.session_token.reveal()});

  std::map<std::string, std::string> signed_headers;  // sorted by lower-case name
  for (const auto& h : request.headers) {
    const std::string name = lower(h.name);
    if (std::find(std::begin(kUnsigned), std::end(kUnsigned), name) != std::end(kUnsigned)) continue;
    auto [it, fresh] = signed_headers.try_emplace(name, trim_all(h.value));
    if (!fresh) {
      it->second.push_back(',');
      it->second.append(trim_all(h.value));
    }
  }
  if (!signed_headers.count("host")) signed_headers["host"] = lower(url->host_header());

  const std::string_view target = url->target;
  const auto q = target.find('?');
  std::string canonical_headers;
  for (const auto& [name, value] : signed_headers) {
    canonical_headers.append(name).append(":").append(value).append("\n");
    if (!s.signed_headers.empty()) s.signed_headers += ';';
    s.signed_headers += name;
  }
  s.canonical_request = request.method + "\n" + canonical_uri(target.substr(0, q)) + "\n" +
                        canonical_query(q == std::string_view::npos ? "" : target.substr(q + 1)) + "\n" +
                        canonical_headers + "\n" + s.signed_headers + "\n" + sha256_hex(request.body);

  const std::string credential_scope = date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  s.string_to_sign =
      "AWS4-HMAC-SHA256\n" + s.amz_date + "\n" + credential_scope + "\n" + sha256_hex(s.canonical_request);

  std::string key = hmac_sha256("AWS4" + creds.secret_access_key.reveal(), date);
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  s.signature = hex(hmac_sha256(key, s.string_to_sign));
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + credential_scope +
                    ", SignedHeaders=" + s.signed_headers + ", Signature=" + s.signature;
  request.headers.push_back({"Authorization", s.authorization});
  return s;
}

// ---- credential discovery -------------------------------------------------------------------------

FileReader real_files() {
  return [](const std::string& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
}

std::vector<std::pair<std::string, std::string>> ini_section(std::string_view text, std::string_view section) {
  std::vector<std::pair<std::string, std::string>> out;
  bool inside = false;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const std::string t = trim_all(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      inside = trim_all(t.substr(1, t.size() - 2)) == section;
      continue;
    }
    const auto eq = t.find('=');
    if (!inside || eq == std::string::npos) continue;
    out.emplace_back(lower(trim_all(t.substr(0, eq))), trim_all(t.substr(eq + 1)));
  }
  return out;
}

std::optional<Credentials> load_credentials(const EnvLookup& env, const FileReader& files) {
  auto id = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && secret && !id->empty() && !secret->empty()) {
    auto token = env("AWS_SESSION_TOKEN");
    return Credentials{*id, Secret(*secret), Secret(token.value_or("")), "environment"};
  }
  std::string profile = env("AWS_PROFILE").value_or("");
  if (profile.empty()) profile = env("AWS_DEFAULT_PROFILE").value_or("default");
  const auto text = files(home_file(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"));
  if (!text) return std::nullopt;
  const auto kv = ini_section(*text, profile);
  const std::string file_id = value_of(kv, "aws_access_key_id"), file_secret = value_of(kv, "aws_secret_access_key");
  if (file_id.empty() || file_secret.empty()) return std::nullopt;
  return Credentials{file_id, Secret(file_secret), Secret(value_of(kv, "aws_session_token")),
                     "shared credentials file (profile " + profile + ")"};
}

std::string load_region(const EnvLookup& env, const FileReader& files) {
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = env(var); v && !v->empty()) return *v;
  }
  std::string profile = env("AWS_PROFILE").value_or("");
  if (profile.empty()) profile = env("AWS_DEFAULT_PROFILE").value_or("default");
  const auto text = files(home_file(env, "AWS_CONFIG_FILE", ".aws/config"));
  if (!text) return {};
  return value_of(ini_section(*text, profile == "default" ? "default" : "profile " + profile), "region");
}

}  // namespace llmfailover::providers::sigv4
