// proxy_tunnel.hpp (private) — the exchanges that turn a connection to a proxy into a tunnel to
// the target:
//   open_tunnel: HTTP CONNECT (RFC 9110 section 9.3.6; RFC 9112 section 3.2.3: the request
//     target is the authority "host:port"), over TCP (http:// proxy) or TLS (https:// proxy).
//   open_socks:  SOCKS5 CONNECT (RFC 1928), with username/password (RFC 1929) when the proxy URL
//     had userinfo. `address` is what the proxy is asked to reach: an IP literal (socks5://, the
//     exchange resolved the target) or a host name (socks5h://).
//
// Bounded by `give_up` (the connect timeout: a proxy that never answers is a connect_timeout,
// never a hang). A refusal (a non-2xx CONNECT answer: 407, 403, 502, ...; a SOCKS reply other
// than "succeeded", no acceptable method, rejected credentials), a close or bytes that are not
// the protocol are a connect_failed error naming the proxy (ProxyUrl::display(), never its
// credentials), the target and the reason; bytes after a 2xx answer (before our TLS hello) are
// a protocol_error.
//
// Thread safety: runs on the connection's shard like the rest of the exchange.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/transport/proxy.hpp"
#include "llmfailover/transport/url.hpp"

namespace llmfailover::transport::detail {

boost::asio::awaitable<Error> open_tunnel(boost::beast::tcp_stream& stream, const ProxyUrl& proxy, const Url& target,
                                          Clock::time_point give_up, const ClientOptions& options);
boost::asio::awaitable<Error> open_tunnel(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                                          const ProxyUrl& proxy, const Url& target, Clock::time_point give_up,
                                          const ClientOptions& options);

boost::asio::awaitable<Error> open_socks(boost::beast::tcp_stream& stream, const ProxyUrl& proxy,
                                         const std::string& address, const Url& target, Clock::time_point give_up);

}  // namespace llmfailover::transport::detail
