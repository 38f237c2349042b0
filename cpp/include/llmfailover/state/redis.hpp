// redis.hpp — one short-timeout Redis connection, shared by everything that talks to Redis: the
// exact cache's backend (cache/redis_cache.hpp) and the fleet-wide state (state/shared_state.hpp).
//
// Through hiredis (a well-kept client). Connecting and every command are bounded by `timeout`; a
// failure ends the connection, skips Redis for the next second (so a down or slow server costs at
// most one timeout per second, not one per request), writes one warning line to stderr naming the
// server (never its password), and the next command after that second reconnects ("... is back").
// AUTH comes from the URL's password, SELECT from its database number.
//
// TLS (rediss://): hiredis 1.2's hiredis_ssl (vendored, third_party/hiredis) over OpenSSL, TLS 1.2
// or later. The server's certificate is verified against the system trust store (or `ca_file`)
// and its name against the URL's host (RFC 6125; an IP address against its iPAddress SAN), which
// hiredis itself does not check (it only sends SNI), so the SSL object is ours (redisInitiateSSL).
// The handshake is bounded by the same `timeout`; a refused certificate is a failed connection
// like any other (one warning naming why, then the caller's local fallback).
// Thread safety: RedisConnection is safe from any thread (one command at a time, under a mutex).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmfailover/clock.hpp"

namespace llmfailover::state {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username, password;
  int db = 0;
  std::string socket;  // a Unix socket path instead of host and port
  bool tls = false;    // rediss://
};

// The TLS options of a rediss:// connection (config keys `ca_file`, `tls_skip_verify`).
struct RedisTls {
  std::string ca_file;       // PEM CA certificates to trust instead of the system store ("": the system's)
  bool skip_verify = false;  // no certificate or host name check at all (a test server; never in production)
  bool operator==(const RedisTls&) const = default;
};

// "redis[s]://[[user]:password@]host[:port][/db]" or "unix:///path/to/redis.sock". nullopt with
// `why` for anything else.
std::optional<RedisUrl> parse_redis_url(const std::string& url, std::string* why);
// The URL with its password replaced by "***" (for messages and dumps).
std::string redacted_url(const std::string& url);

// A reply as a value (hiredis's types without its memory management).
struct RedisReply {
  enum class Type { nil, string, integer, array, status, error };
  Type type = Type::nil;
  std::string str;  // string, status, error
  long long integer = 0;
  std::vector<RedisReply> elements;
};

class RedisConnection {
 public:
  // `url` must parse (parse_redis_url). The warning reads "llmfailover: <who>: Redis <url>: <what
  // failed>; <then>", e.g. who "cache", then "skipping the cache". Does not connect yet. `tls`
  // applies to a rediss:// URL only.
  RedisConnection(const std::string& url, Millis timeout, std::string who, std::string then, RedisTls tls = {});
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  enum class Outcome { ok, skipped, failed };
  // The reply, or nullopt when Redis was skipped (within a second of a failure) or failed now;
  // `outcome` (if given) says which. An error reply (-ERR ...) is a reply, not a failure.
  std::optional<RedisReply> command(const std::vector<std::string>& argv, Outcome* outcome = nullptr);
  // Several commands in one round trip (pipelined); all replies or nullopt.
  std::optional<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands,
                                                  Outcome* outcome = nullptr);
  const std::string& shown() const noexcept;  // the redacted URL

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::state
