#include "llmfailover/transport/proxy.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "llmfailover/transport/url.hpp"
#include "tls.hpp"

namespace llmfailover::transport {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
  throw std::invalid_argument(std::string(name) + ": " + why);
}

// RFC 3986 section 2.1; a malformed escape is refused (the value is a credential: not quoted).
std::string percent_decode(std::string_view s, std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size()) refuse(name, "a malformed %-escape in the proxy's userinfo");
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc{} || end != s.data() + i + 3) refuse(name, "a malformed %-escape in the proxy's userinfo");
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

std::vector<unsigned char> address_bytes(const boost::asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = a.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

bool in_network(const std::vector<unsigned char>& addr, const std::vector<unsigned char>& net, unsigned prefix) {
  if (addr.size() != net.size()) return false;
  for (unsigned bit = 0; bit < prefix; ++bit) {
    unsigned mask = 0x80u >> (bit % 8);
    if ((addr[bit / 8] & mask) != (net[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string ProxyUrl::display() const {
  static constexpr const char* kNames[] = {"http", "https", "socks5", "socks5h"};
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(kNames[static_cast<int>(scheme)]) + "://" + h + ":" + std::to_string(port);
}

ProxyUrl parse_proxy_url(std::string_view text, std::string_view name) {
  const std::string_view expected =
      " (expected scheme://[user:password@]host[:port], scheme http, https, socks5 or socks5h)";
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.empty()) refuse(name, "an empty proxy URL" + std::string(expected));
  for (unsigned char c : text)
    if (c < 0x21 || c == 0x7f) refuse(name, "the proxy URL contains a space or a control character");
  ProxyUrl p;
  if (auto scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
    std::string scheme = lower(text.substr(0, scheme_end));
    if (scheme == "https") {
      p.scheme = ProxyScheme::https;
      p.port = 443;
    } else if (scheme == "socks5" || scheme == "socks5h") {
      p.scheme = scheme == "socks5" ? ProxyScheme::socks5 : ProxyScheme::socks5h;
      p.port = 1080;
    } else if (scheme != "http") {
      refuse(name, "unsupported proxy scheme '" + scheme.substr(0, 16) + "'" + std::string(expected));
    }
    text.remove_prefix(scheme_end + 3);
  }
  std::string_view authority = text.substr(0, text.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    auto colon = userinfo.find(':');
    std::string user = percent_decode(userinfo.substr(0, colon), name);
    std::string password = colon == std::string_view::npos ? "" : percent_decode(userinfo.substr(colon + 1), name);
    // RFC 7617 section 2: user-id ":" password; a user-id with a colon cannot be expressed.
    if (user.find(':') != std::string::npos) refuse(name, "the proxy's user name contains ':'");
    for (unsigned char c : user + password)
      if (c < 0x20 || c == 0x7f) refuse(name, "the proxy's userinfo contains a control character");
    if (p.socks()) {  // RFC 1929 section 2: ULEN and PLEN are one byte, UNAME at least one
      if (user.empty() || user.size() > 255 || password.size() > 255)
        refuse(name, "a SOCKS5 user name must be 1..255 bytes and its password at most 255");
      p.username = std::move(user);
      p.password = std::move(password);
    } else {
      p.authorization = "Basic " + base64(user + ":" + password);
    }
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) refuse(name, "an unclosed '[' in the proxy's host" + std::string(expected));
    p.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') refuse(name, "junk after the proxy's IPv6 address" + std::string(expected));
    if (!after.empty()) port_text = after.substr(1);
  } else {
    auto colon = authority.find(':');
    p.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (p.host.empty()) refuse(name, "the proxy URL has no host" + std::string(expected));
  if (!port_text.empty()) {
    auto port = parse_port(port_text);
    if (!port) refuse(name, "the proxy's port is not a number in 1..65535");
    p.port = *port;
  }
  return p;
}

ProxyRoutes::ProxyRoutes(const ProxyOptions& o) {
  if (!o.ca_pem.empty()) {  // checked here, so a bad bundle fails where the options are given
    boost::asio::ssl::context check(boost::asio::ssl::context::tls_client);
    detail::configure_proxy_tls_context(check, o.ca_pem);
  }
  if (!o.http.empty()) http_ = parse_proxy_url(o.http, "the http proxy");
  if (!o.https.empty()) https_ = parse_proxy_url(o.https, "the https proxy");
  std::string list = o.no_proxy;
  std::replace_if(
      list.begin(), list.end(), [](char c) { return c == ' ' || c == '\t'; }, ',');
  std::string_view rest = list;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string entry = lower(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;
    Bypass b;
    boost::system::error_code ec;
    if (auto slash = entry.find('/'); slash != std::string::npos) {  // CIDR
      std::string address = entry.substr(0, slash);
      if (address.size() > 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
      auto net = boost::asio::ip::make_address(address, ec);
      unsigned prefix = 0;
      std::string_view bits = std::string_view(entry).substr(slash + 1);
      auto [end, pec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (ec || pec != std::errc{} || end != bits.data() + bits.size() || prefix > (net.is_v4() ? 32u : 128u))
        refuse("NO_PROXY", "'" + entry.substr(0, 64) + "' is not a network (address/prefix)");
      b.net = address_bytes(net);
      b.prefix = prefix;
      bypass_.push_back(std::move(b));
      continue;
    }
    if (entry.starts_with("*.")) entry.erase(0, 2);
    else if (entry.starts_with(".")) entry.erase(0, 1);
    std::string_view host = entry;
    if (!host.empty() && host[0] == '[') {  // [v6] or [v6]:port
      auto close = host.find(']');
      if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':')
        b.port = parse_port(host.substr(close + 2));
      host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(':') == colon) {
      b.port = parse_port(host.substr(colon + 1));  // host:port (one colon: not a bare IPv6 literal)
      if (!b.port) refuse("NO_PROXY", "'" + entry.substr(0, 64) + "' has a port that is not a number in 1..65535");
      host = host.substr(0, colon);
    }
    b.host = host;
    if (auto addr = boost::asio::ip::make_address(b.host, ec); !ec) {  // an IP literal: exact match
      b.net = address_bytes(addr);
      b.prefix = static_cast<unsigned>(b.net.size() * 8);
    }
    bypass_.push_back(std::move(b));
  }
}

bool ProxyRoutes::bypassed(const Url& target) const {
  if (bypass_.empty()) return false;
  std::string host = lower(target.host);
  while (!host.empty() && host.back() == '.') host.pop_back();  // "example.com." is example.com
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  std::vector<unsigned char> bytes = ec ? std::vector<unsigned char>{} : address_bytes(addr);
  for (const auto& b : bypass_) {
    if (b.port && *b.port != target.port) continue;
    if (b.host == "*") return true;
    if (!b.net.empty()) {
      if (!bytes.empty() && in_network(bytes, b.net, b.prefix)) return true;
      continue;
    }
    if (host == b.host) return true;
    if (host.size() > b.host.size() && host.ends_with(b.host) && host[host.size() - b.host.size() - 1] == '.')
      return true;
  }
  return false;
}

const ProxyUrl* ProxyRoutes::for_target(const Url& target) const {
  const auto& proxy = target.tls ? https_ : http_;
  if (!proxy || bypassed(target)) return nullptr;
  return &*proxy;
}

}  // namespace llmfailover::transport
