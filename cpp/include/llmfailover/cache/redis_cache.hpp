// redis_cache.hpp — the exact cache's Redis backend (`cache: {type: redis, url: ...}`), so several
// processes share answers. Through hiredis (a well-kept client), each entry a Redis string under
// "llmfailover:cache:<key>" with its TTL (SET ... PX), so Redis expires it; Redis's own maxmemory
// policy bounds the whole, and `max_bytes` bounds one answer.
//
// A slow or down Redis never blocks nor fails a request: connecting and every command are bounded
// by `timeout` (default 50 ms); a failure skips the cache (a miss, nothing stored) for the next
// second, writes one warning line to stderr naming the server (never its password), and counts
// in stats(). The next use after that second reconnects.
// The connection is state::RedisConnection (state/redis.hpp), shared with the fleet-wide state.
// Thread safety: every member is safe from any thread (one connection, one command at a time).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "llmfailover/cache/exact_cache.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover::cache {

// The URL helpers live with the shared connection (state/redis.hpp).
using state::parse_redis_url;
using state::redacted_url;
using state::RedisUrl;

class RedisCache final : public Store {
 public:
  // `url` must parse (parse_redis_url; the config reader checked it); `tls` is for a rediss:// url.
  // Does not connect yet.
  RedisCache(const std::string& url, Millis timeout, std::size_t max_entry_bytes, state::RedisTls tls = {});
  ~RedisCache() override;

  void put(const std::string& key, std::string value, Millis ttl) override;
  std::optional<std::string> get(const std::string& key) override;
  void erase(const std::string& key) override;

  struct Stats {
    std::size_t hits = 0, misses = 0, errors = 0, skipped = 0;
  };
  Stats stats() const;

  static constexpr const char* kPrefix = "llmfailover:cache:";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::cache
