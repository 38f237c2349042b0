// url.hpp — the parts of an absolute http(s) URL the client needs, and query/path helpers.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmfailover::transport {

struct Url {
  bool tls = false;                 // https
  std::string host;                 // without brackets for IPv6 literals
  std::uint16_t port = 0;           // explicit or the scheme's default
  std::string target;               // path + "?" + query, at least "/"
  std::string origin() const;       // "https://host:port", the connection pool key
  std::string host_header() const;  // "host" or "host:port" when not the default
  bool operator==(const Url&) const = default;
};

// nullopt when `url` is not an absolute http/https URL.
std::optional<Url> parse_url(std::string_view url);

// Percent-encodes a query component (RFC 3986 unreserved characters pass).
std::string url_encode(std::string_view text);

}  // namespace llmfailover::transport
