// proxy_socks.cpp — the client side of a SOCKS5 CONNECT (RFC 1928) with username/password
// authentication (RFC 1929). See proxy_tunnel.hpp for the contract.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "proxy_tunnel.hpp"

namespace llmfailover::transport::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr unsigned char kVersion = 0x05;
constexpr unsigned char kNoAuth = 0x00, kUserPassword = 0x02, kNoAcceptable = 0xFF;
constexpr unsigned char kConnect = 0x01;
constexpr unsigned char kIpv4 = 0x01, kDomain = 0x03, kIpv6 = 0x04;

// RFC 1928 section 6, the REP field.
std::string reply_text(unsigned char rep) {
  switch (rep) {
    case 0x01: return "general SOCKS server failure";
    case 0x02: return "connection not allowed by ruleset";
    case 0x03: return "network unreachable";
    case 0x04: return "host unreachable";
    case 0x05: return "connection refused";
    case 0x06: return "TTL expired";
    case 0x07: return "command not supported";
    case 0x08: return "address type not supported";
    default: return "reply code " + std::to_string(rep);
  }
}

// One request/answer step of the handshake; the outcome names the step for the error message.
class Socks {
 public:
  Socks(beast::tcp_stream& stream, const ProxyUrl& proxy, const std::string& authority)
      : stream_(stream), where_("the proxy " + proxy.display()), what_(" (tunnel to " + authority + ")") {}

  asio::awaitable<Error> send(const std::vector<unsigned char>& bytes, const char* step) {
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    co_return fail(ec, std::string("sending ") + step);
  }

  asio::awaitable<Error> receive(std::size_t n, const char* step) {
    got_.resize(n);
    auto [ec, read] = co_await asio::async_read(stream_, asio::buffer(got_), asio::as_tuple(asio::use_awaitable));
    co_return fail(ec, std::string("waiting for ") + step);
  }

  const std::vector<unsigned char>& got() const { return got_; }

  Error refused(const std::string& why) const {
    return {Errc::connect_failed, where_ + " refused the tunnel" + what_ + ": " + why, false};
  }
  Error garbage(const std::string& step) const {
    return {Errc::connect_failed, where_ + " answered " + step + " with something that is not SOCKS5" + what_, false};
  }

 private:
  Error fail(beast::error_code ec, const std::string& step) const {
    if (!ec) return {};
    if (ec == beast::error::timeout)
      return {Errc::connect_timeout, "connect_timeout (" + step + " " + where_ + what_ + ")", false};
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      return {Errc::connect_failed, where_ + " closed the connection (" + step + ")" + what_, false};
    return {Errc::connect_failed, where_ + ": " + step + " failed" + what_ + ": " + ec.message(), false};
  }

  beast::tcp_stream& stream_;
  std::string where_, what_;
  std::vector<unsigned char> got_;
};

}  // namespace

asio::awaitable<Error> open_socks(beast::tcp_stream& stream, const ProxyUrl& proxy, const std::string& address,
                                  const Url& target, Clock::time_point give_up) {
  const std::string host = target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  Socks socks(stream, proxy, host + ":" + std::to_string(target.port));
  if (give_up == Clock::time_point::max()) stream.expires_never();
  else stream.expires_at(give_up);

  // Method selection (RFC 1928 section 3): offer username/password only when we have some.
  const bool credentials = !proxy.username.empty();
  std::vector<unsigned char> hello{kVersion, 1, kNoAuth};
  if (credentials) hello = {kVersion, 2, kNoAuth, kUserPassword};
  if (Error e = co_await socks.send(hello, "the SOCKS5 greeting to")) co_return e;
  if (Error e = co_await socks.receive(2, "the SOCKS5 method choice of")) co_return e;
  if (socks.got()[0] != kVersion) co_return socks.garbage("the SOCKS5 greeting");
  const unsigned char method = socks.got()[1];
  if (method == kNoAcceptable)
    co_return socks.refused(credentials ? "it accepts none of the offered authentication methods"
                                        : "it wants credentials (give them as socks5://user:password@host:port)");
  if (method == kUserPassword && !credentials) co_return socks.garbage("the SOCKS5 greeting");
  if (method != kNoAuth && method != kUserPassword) co_return socks.garbage("the SOCKS5 greeting");

  if (method == kUserPassword) {  // RFC 1929 section 2
    std::vector<unsigned char> auth{0x01, static_cast<unsigned char>(proxy.username.size())};
    auth.insert(auth.end(), proxy.username.begin(), proxy.username.end());
    auth.push_back(static_cast<unsigned char>(proxy.password.size()));
    auth.insert(auth.end(), proxy.password.begin(), proxy.password.end());
    if (Error e = co_await socks.send(auth, "the SOCKS5 credentials to")) co_return e;
    if (Error e = co_await socks.receive(2, "the SOCKS5 authentication answer of")) co_return e;
    if (socks.got()[0] != 0x01) co_return socks.garbage("the SOCKS5 credentials");
    if (socks.got()[1] != 0x00) co_return socks.refused("it refused the credentials");
  }

  // CONNECT (RFC 1928 sections 4 and 5): an IP literal as such, a name as a domain (<= 255 bytes).
  std::vector<unsigned char> request{kVersion, kConnect, 0x00};
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (!ec && ip.is_v4()) {
    request.push_back(kIpv4);
    auto b = ip.to_v4().to_bytes();
    request.insert(request.end(), b.begin(), b.end());
  } else if (!ec) {
    request.push_back(kIpv6);
    auto b = ip.to_v6().to_bytes();
    request.insert(request.end(), b.begin(), b.end());
  } else {
    if (address.size() > 255) co_return socks.refused("the host name is longer than SOCKS5 allows (255 bytes)");
    request.push_back(kDomain);
    request.push_back(static_cast<unsigned char>(address.size()));
    request.insert(request.end(), address.begin(), address.end());
  }
  request.push_back(static_cast<unsigned char>(target.port >> 8));
  request.push_back(static_cast<unsigned char>(target.port & 0xFF));
  if (Error e = co_await socks.send(request, "the SOCKS5 CONNECT to")) co_return e;
  if (Error e = co_await socks.receive(4, "the SOCKS5 CONNECT reply of")) co_return e;
  const auto head = socks.got();
  if (head[0] != kVersion || head[2] != 0x00) co_return socks.garbage("CONNECT");
  if (head[1] != 0x00) co_return socks.refused(reply_text(head[1]));
  std::size_t rest = 0;  // BND.ADDR and BND.PORT: read and dropped (a CONNECT needs neither)
  if (head[3] == kIpv4) rest = 4 + 2;
  else if (head[3] == kIpv6) rest = 16 + 2;
  else if (head[3] == kDomain) {
    if (Error e = co_await socks.receive(1, "the SOCKS5 CONNECT reply of")) co_return e;
    rest = socks.got()[0] + 2u;
  } else {
    co_return socks.garbage("CONNECT");
  }
  if (Error e = co_await socks.receive(rest, "the SOCKS5 CONNECT reply of")) co_return e;
  co_return Error{};
}

}  // namespace llmfailover::transport::detail
