// tls.hpp (private) — the client's TLS settings: one context per client (TLS 1.2+, peer
// verification against the system store or TlsOptions::ca_file) and per-connection SNI plus
// hostname or IP-address verification.
//
// Thread safety: configure before any connection uses the context; prepare per connection.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <string>

#include "llmfailover/transport/http_client.hpp"

namespace llmfailover::transport::detail {

// Throws std::invalid_argument naming the file when the CA bundle cannot be loaded.
void configure_tls_context(boost::asio::ssl::context& ctx, const TlsOptions& options);
// A context that verifies https:// proxies against `ca_pem` only (ProxyOptions::ca_pem); throws
// std::invalid_argument naming "the proxy CA certificates" when it holds no usable certificate.
void configure_proxy_tls_context(boost::asio::ssl::context& ctx, const std::string& ca_pem);
// SNI and hostname verification for a name; IP-address verification (no SNI) for a literal.
void prepare_tls_connection(SSL* ssl, const std::string& host);

}  // namespace llmfailover::transport::detail
