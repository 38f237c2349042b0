// redis_tls.hpp — the TLS half of a rediss:// connection (state/redis.hpp): an OpenSSL client
// context and the handshake on a connected hiredis socket. Private to state/.
#pragma once

#include <memory>
#include <string>

#include "llmfailover/state/redis.hpp"

struct redisContext;  // hiredis

namespace llmfailover::state::detail {

class RedisTlsContext {
 public:
  // The SSL_CTX for `tls` (the system trust store unless tls.ca_file); nullptr and `why` if the
  // CA file cannot be loaded.
  static std::unique_ptr<RedisTlsContext> make(const RedisTls& tls, std::string* why);
  ~RedisTlsContext();
  RedisTlsContext(const RedisTlsContext&) = delete;
  RedisTlsContext& operator=(const RedisTlsContext&) = delete;

  // The TLS handshake on `ctx`'s connected socket, bounded by its socket timeouts (redisSetTimeout
  // first); the certificate must name `host`. "" when done, else why not (never a secret).
  std::string start(redisContext* ctx, const std::string& host) const;

 private:
  RedisTlsContext() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::state::detail
