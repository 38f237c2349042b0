#include "proxy_tunnel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "response_reader.hpp"

namespace llmfailover::transport::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// The proxy's reason phrase, as far as it is printable and short (it comes from the peer).
std::string reason_of(std::string_view reason) {
  std::string out;
  for (unsigned char c : reason.substr(0, 64))
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
  return out.empty() ? out : " " + out;
}

template <class Stream>
asio::awaitable<Error> connect_through(Stream& stream, const ProxyUrl& proxy, const Url& target,
                                       Clock::time_point give_up, const ClientOptions& options) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  const std::string host = target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  const std::string authority = host + ":" + std::to_string(target.port);
  const std::string where = "the proxy " + proxy.display();
  const std::string what = " (tunnel to " + authority + ")";

  http::request<http::empty_body> req{http::verb::connect, authority, 11};
  req.set(http::field::host, authority);
  req.set(http::field::user_agent, options.user_agent);
  if (!proxy.authorization.empty()) req.set(http::field::proxy_authorization, proxy.authorization);
  auto& lowest = beast::get_lowest_layer(stream);
  if (give_up == Clock::time_point::max()) lowest.expires_never();
  else lowest.expires_at(give_up);
  auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
  if (wec == beast::error::timeout)
    co_return Error{Errc::connect_timeout, "connect_timeout (sending CONNECT to " + where + what + ")", false};
  if (wec)
    co_return Error{Errc::connect_failed, "cannot send CONNECT to " + where + what + ": " + wec.message(), false};

  // A 2xx answer to CONNECT has no body whatever its headers say (RFC 9110 section 9.3.6):
  // skip() stops the parser from waiting for one.
  ResponseParser<http::empty_body> parser;
  parser.skip(true);
  parser.header_limit(header_limit(options));
  beast::flat_buffer buffer;
  auto [rec, got] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
  if (rec == beast::error::timeout)
    co_return Error{Errc::connect_timeout, "connect_timeout (waiting for " + where + " to answer CONNECT" + what + ")",
                    false};
  if (rec == http::error::end_of_stream || rec == http::error::partial_message || rec == asio::error::eof ||
      rec == asio::error::connection_reset)
    co_return Error{Errc::connect_failed, where + " closed the connection instead of answering CONNECT" + what, false};
  if (rec)
    co_return Error{Errc::connect_failed,
                    where + " answered CONNECT with something that is not HTTP" + what + ": " + rec.message(), false};
  const auto& res = parser.get();
  unsigned status = res.result_int();
  if (status < 200 || status >= 300) {
    std::string hint = status == 407 ? (proxy.authorization.empty() ? " (the proxy wants credentials: give them as "
                                                                      "http://user:password@host:port)"
                                                                    : " (the proxy refused the credentials)")
                                     : "";
    co_return Error{Errc::connect_failed,
                    where + " refused the tunnel to " + authority + ": status " + std::to_string(status) +
                        reason_of(res.reason()) + hint,
                    false};
  }
  if (buffer.size() > 0)
    co_return Error{Errc::protocol_error,
                    where + " sent bytes after its CONNECT answer, before the TLS handshake" + what, false};
  co_return Error{};
}

}  // namespace

asio::awaitable<Error> open_tunnel(beast::tcp_stream& stream, const ProxyUrl& proxy, const Url& target,
                                   Clock::time_point give_up, const ClientOptions& options) {
  co_return co_await connect_through(stream, proxy, target, give_up, options);
}

asio::awaitable<Error> open_tunnel(beast::ssl_stream<beast::tcp_stream>& stream, const ProxyUrl& proxy,
                                   const Url& target, Clock::time_point give_up, const ClientOptions& options) {
  co_return co_await connect_through(stream, proxy, target, give_up, options);
}

}  // namespace llmfailover::transport::detail
