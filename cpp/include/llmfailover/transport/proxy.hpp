// proxy.hpp — which proxy (if any) carries a request, and what the proxy URL says.
//
// ProxyOptions is the client's setting, as httpx and curl take it from HTTP_PROXY, HTTPS_PROXY
// and NO_PROXY: one proxy URL for http:// targets, one for https:// targets, and a bypass list.
// ProxyRoutes compiles it once (parse errors throw std::invalid_argument naming the setting,
// never its value: a proxy URL may carry a password) and answers per target URL.
//
// How the client uses a proxy (http_client.hpp):
//   http://  target: the request goes to the proxy with its target in absolute form
//                    (RFC 9112 section 3.2.2) and Proxy-Authorization when the URL has userinfo.
//   https:// target: a CONNECT tunnel (RFC 9110 section 9.3.6) within the connect timeout, then
//                    TLS through it with SNI and verification of the TARGET host.
// Proxy schemes:
//   http://    as above, in clear to the proxy.
//   https://   TLS to the proxy first (SNI and verification of the PROXY host: against
//              ProxyOptions::ca_pem when given, as curl's --proxy-cacert and httpx's
//              Proxy(ssl_context=...); else against the same trust store as targets, TlsOptions),
//              then as above inside it; an https:// target is TLS inside TLS.
//   socks5://  SOCKS5 (RFC 1928) CONNECT to the target's address, resolved here; socks5h:// sends
//              the host name for the proxy to resolve. Userinfo is RFC 1929 username/password
//              (each 1..255 bytes). Every target goes through the tunnel; requests keep origin
//              form and TLS to an https:// target runs inside it. Default port 1080.
// Other schemes (socks4, ...) are refused clearly.
//
// NO_PROXY (curl's and httpx's rules): entries split on commas and spaces, case-insensitive;
//   "*"                every host;
//   "example.com"      that host and its subdomains (a leading "." or "*." is the same);
//   "example.com:8443" only that port;
//   "10.0.0.0/8", "::1/128", "127.0.0.1"  an IP literal target inside the network (or equal).
//
// Thread safety: plain values; ProxyRoutes is immutable after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmfailover::transport {

struct Url;

struct ProxyOptions {
  std::string http;      // proxy URL for http:// targets ("" = direct)
  std::string https;     // proxy URL for https:// targets ("" = direct)
  std::string no_proxy;  // bypass list (see above)
  // PEM certificates an https:// proxy's certificate is verified against (always verified, even
  // when targets are not); "" = the targets' trust (TlsOptions). Unreadable: the client's
  // constructor throws std::invalid_argument naming "the proxy CA certificates".
  std::string ca_pem;
  bool operator==(const ProxyOptions&) const = default;
};

enum class ProxyScheme { http, https, socks5, socks5h };

// A parsed proxy URL. `authorization`, `username` and `password` are credentials: never print them.
struct ProxyUrl {
  ProxyScheme scheme = ProxyScheme::http;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 80;
  std::string authorization;  // http(s): "Basic <base64(user:password)>" from the userinfo, or ""
  std::string username;       // socks5: RFC 1929 credentials from the userinfo (empty: none)
  std::string password;
  std::string display() const;  // "scheme://host:port": what messages name (no credentials)
  bool socks() const noexcept { return scheme == ProxyScheme::socks5 || scheme == ProxyScheme::socks5h; }
  bool operator==(const ProxyUrl&) const = default;
};

// "scheme://[user[:password]@]host[:port][/]" with scheme http, https, socks5 or socks5h (a URL
// without a scheme is taken as http://, as curl and httpx do). Default ports: 80, 443, 1080.
// Throws std::invalid_argument starting with `name` and saying what is wrong, never quoting the URL.
ProxyUrl parse_proxy_url(std::string_view url, std::string_view name);

class ProxyRoutes {
 public:
  ProxyRoutes() = default;
  explicit ProxyRoutes(const ProxyOptions& options);  // throws std::invalid_argument (URLs, ca_pem)
  // The proxy for `target`, or nullptr for a direct connection.
  const ProxyUrl* for_target(const Url& target) const;
  bool empty() const noexcept { return !http_ && !https_; }

 private:
  struct Bypass {
    std::string host;  // lower case, no leading dot; "*" = all
    std::optional<std::uint16_t> port;
    std::vector<unsigned char> net;  // CIDR: network address bytes (4 or 16), empty otherwise
    unsigned prefix = 0;
  };
  bool bypassed(const Url& target) const;

  std::optional<ProxyUrl> http_, https_;
  std::vector<Bypass> bypass_;
};

}  // namespace llmfailover::transport
