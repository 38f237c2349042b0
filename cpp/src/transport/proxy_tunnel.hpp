// proxy_tunnel.hpp (private) — the CONNECT exchange that turns a TCP connection to an HTTP proxy
// into a tunnel to an https:// target (RFC 9110 section 9.3.6; RFC 9112 section 3.2.3: the
// request target is the authority "host:port").
//
// Bounded by `give_up` (the connect timeout: a proxy that never answers is a connect_timeout,
// never a hang). A refusal (any non-2xx: 407, 403, 502, ...), a close or bytes that are not an
// HTTP response are a connect_failed error naming the proxy (ProxyUrl::display(), never its
// credentials), the target and the status; bytes after a 2xx answer (before our TLS hello)
// are a protocol_error. Proxy-Authorization is sent when the proxy URL had userinfo.
//
// Thread safety: runs on the connection's shard like the rest of the exchange.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/transport/proxy.hpp"
#include "llmfailover/transport/url.hpp"

namespace llmfailover::transport::detail {

boost::asio::awaitable<Error> open_tunnel(boost::beast::tcp_stream& stream, const ProxyUrl& proxy, const Url& target,
                                          Clock::time_point give_up, const ClientOptions& options);

}  // namespace llmfailover::transport::detail
