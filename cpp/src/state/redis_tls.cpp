// redis_tls.cpp — the TLS half of a rediss:// connection (redis_tls.hpp), OpenSSL under hiredis_ssl.
#include "redis_tls.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <hiredis/hiredis_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace llmfailover::state::detail {

namespace {

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string openssl_error(const char* fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return fallback;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

struct RedisTlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  bool verify = true;
  ~Impl() { SSL_CTX_free(ctx); }
};

std::unique_ptr<RedisTlsContext> RedisTlsContext::make(const RedisTls& tls, std::string* why) {
  std::unique_ptr<RedisTlsContext> out(new RedisTlsContext);
  out->impl_ = std::make_unique<Impl>();
  Impl& im = *out->impl_;
  im.verify = !tls.skip_verify;
  ERR_clear_error();
  im.ctx = SSL_CTX_new(TLS_client_method());
  if (!im.ctx) return *why = "cannot create a TLS context: " + openssl_error("out of memory"), nullptr;
  SSL_CTX_set_min_proto_version(im.ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(im.ctx, im.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(im.ctx, tls.ca_file.c_str(), nullptr) != 1)
      return *why = "cannot load the CA file " + tls.ca_file + ": " + openssl_error("not PEM certificates"), nullptr;
  } else if (SSL_CTX_set_default_verify_paths(im.ctx) != 1) {
    return *why = "cannot load the system trust store: " + openssl_error("unknown error"), nullptr;
  }
  return out;
}

RedisTlsContext::~RedisTlsContext() = default;

std::string RedisTlsContext::start(redisContext* ctx, const std::string& host) const {
  ERR_clear_error();
  SSL* ssl = SSL_new(impl_->ctx);
  if (!ssl) return "cannot start TLS: " + openssl_error("out of memory");
  // SNI for a name (RFC 6066 section 3: never for an IP address), and the name check (RFC 6125)
  // that hiredis leaves to its caller.
  const bool ip = is_ip(host);
  bool ok = ip || SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  if (ok && impl_->verify)
    ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1
            : SSL_set1_host(ssl, host.c_str()) == 1;
  if (!ok) {
    SSL_free(ssl);
    return "cannot start TLS for host " + host + ": " + openssl_error("bad host name");
  }
  if (redisInitiateSSL(ctx, ssl) == REDIS_OK) return "";  // hiredis owns ssl now
  std::string why = "TLS handshake failed";
  if (long v = SSL_get_verify_result(ssl); impl_->verify && v != X509_V_OK)
    why += ": the server's certificate is not trusted (" + std::string(X509_verify_cert_error_string(v)) + ")";
  else if (ctx->errstr[0]) why += std::string(": ") + ctx->errstr;
  SSL_free(ssl);  // not taken by hiredis on failure
  ERR_clear_error();
  return why;
}

}  // namespace llmfailover::state::detail
