// router_cache.hpp — the exact cache in front of a Router (exact_cache.hpp): a hit is
// replayed without an upstream attempt, a cacheable miss is routed as usual and its answer stored
// when it ends complete (a 2xx head, then `end`: never an error, a cut stream or a degraded answer).
//
// Streams: the chunks are stored as the caller got them and replayed as the same sse events;
// a stream and a whole answer are stored under different keys (cache_key's `stream`).
// Thread safety: every member is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "llmfailover/cache/cache_config.hpp"
#include "llmfailover/cache/exact_cache.hpp"
#include "llmfailover/metrics.hpp"
#include "llmfailover/router.hpp"

namespace llmfailover::cache {

class RouterCache {
 public:
  using Start = std::function<std::shared_ptr<RoutedCall>(RouteRequest)>;

  // nullptr when no group has a cache configured (parse_cache_config's result).
  static std::unique_ptr<RouterCache> make(const std::map<std::string, CacheConfig>& groups, const TimeSource& time);

  // The stored answer when there is one, else start(request), recorded when it is cacheable.
  // `use` false (the per-request opt-out): neither read nor stored. `caller_ns`: the caller's
  // namespace (a digest of its API key), joined by the request's `user` (request_namespace).
  std::shared_ptr<RoutedCall> route(RouteRequest request, bool use, const std::string& caller_ns, const Start& start);

  // Lookups per group so far (metrics.hpp): a hit is replayed, a miss routed; a request that
  // opted out or cannot be cached is neither. Group order.
  std::vector<metrics::CacheSnapshot> stats() const;

 private:
  struct Lookups {
    std::atomic<std::uint64_t> hits{0}, misses{0};
  };
  struct GroupStore {
    CacheConfig config;
    std::shared_ptr<Store> cache;
    std::shared_ptr<Lookups> lookups = std::make_shared<Lookups>();
  };
  std::map<std::string, GroupStore> stores_;  // by group, for groups with a cache
};

}  // namespace llmfailover::cache
