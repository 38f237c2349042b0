// redis_cache.cpp — the Redis backend over the shared short-timeout connection (redis_cache.hpp).
#include "llmfailover/cache/redis_cache.hpp"

#include <mutex>

namespace llmfailover::cache {

using state::RedisConnection;
using state::RedisReply;

struct RedisCache::Impl {
  Impl(const std::string& url, Millis timeout, std::size_t max_bytes, state::RedisTls tls)
      : redis(url, timeout, "cache", "skipping the cache (requests go upstream)", std::move(tls)),
        max_entry_bytes(max_bytes) {}
  RedisConnection redis;
  std::size_t max_entry_bytes;
  mutable std::mutex mutex;  // the stats
  Stats stats;

  std::optional<RedisReply> command(const std::vector<std::string>& argv) {
    RedisConnection::Outcome o{};
    auto r = redis.command(argv, &o);
    std::lock_guard lock(mutex);
    if (o == RedisConnection::Outcome::skipped) ++stats.skipped;
    if (o == RedisConnection::Outcome::failed) ++stats.errors;
    return r;
  }
};

RedisCache::RedisCache(const std::string& url, Millis timeout, std::size_t max_entry_bytes, state::RedisTls tls)
    : impl_(std::make_unique<Impl>(url, timeout, max_entry_bytes, std::move(tls))) {}

RedisCache::~RedisCache() = default;

void RedisCache::put(const std::string& key, std::string value, Millis ttl) {
  if (value.size() > impl_->max_entry_bytes || ttl <= Millis{0}) return;
  impl_->command({"SET", kPrefix + key, value, "PX", std::to_string(ttl.count())});
}

std::optional<std::string> RedisCache::get(const std::string& key) {
  auto r = impl_->command({"GET", kPrefix + key});
  std::optional<std::string> out;
  if (r && r->type == RedisReply::Type::string) out = std::move(r->str);
  std::lock_guard lock(impl_->mutex);
  ++(out ? impl_->stats.hits : impl_->stats.misses);
  return out;
}

void RedisCache::erase(const std::string& key) { impl_->command({"DEL", kPrefix + key}); }

RedisCache::Stats RedisCache::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace llmfailover::cache
