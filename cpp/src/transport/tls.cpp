#include "tls.hpp"

#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace llmfailover::transport::detail {

namespace ssl = boost::asio::ssl;

void configure_tls_context(ssl::context& ctx, const TlsOptions& options) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (!options.verify) {
    ctx.set_verify_mode(ssl::verify_none);
    return;
  }
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) ctx.set_default_verify_paths(ec);
  else ctx.load_verify_file(options.ca_file, ec);
  if (ec) throw std::invalid_argument("cannot load the CA bundle '" + options.ca_file + "': " + ec.message());
}

void configure_proxy_tls_context(ssl::context& ctx, const std::string& ca_pem) {
  configure_tls_context(ctx, TlsOptions{.verify = false});  // protocol options; no default store
  ctx.set_verify_mode(ssl::verify_peer);
  if (ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw std::invalid_argument("the proxy CA certificates: expected PEM certificates (-----BEGIN CERTIFICATE-----)");
  boost::system::error_code ec;
  ctx.add_certificate_authority(boost::asio::buffer(ca_pem), ec);
  if (ec) throw std::invalid_argument("the proxy CA certificates cannot be loaded: " + ec.message());
}

void prepare_tls_connection(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI
    SSL_set1_host(ssl, host.c_str());             // hostname verification
  }
}

}  // namespace llmfailover::transport::detail
