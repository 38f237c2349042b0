// cache_config.hpp — the `cache` objects of a config (docs/config.md "Cache"): at the top level
// (every group), in `defaults` and in a group's `policy`, each layered on the one before.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "llmfailover/config.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover::cache {

struct CacheConfig {
  bool enabled = false;
  std::string type = "memory";  // or "redis", or "semantic" (python/llmfailover/_semantic.py)
  Millis ttl{600'000};
  std::size_t max_bytes = std::size_t{64} << 20;  // memory: the whole cache; redis: one answer
  std::string url;                                // redis: redis://[[user]:password@]host[:port][/db] or unix:///path
  Millis timeout{50};                             // redis: connect and per-command limit
  state::RedisTls tls;                            // redis with a rediss:// url: ca_file, tls_skip_verify
  // type: semantic. The prompt is embedded by the group `embeddings` (routed like any call) and a
  // stored answer is served when its prompt's cosine similarity is >= `threshold`. The native
  // RouterCache leaves these groups alone: the lookup is in Python (README "Caching").
  std::string embeddings;
  double threshold = 0.95;          // (0, 1]
  std::size_t max_entries = 10000;  // answers kept per group; least recently used evicted past it
  bool allow_tools = false;         // requests with tools/functions are never cached unless true
  bool operator==(const CacheConfig&) const = default;
};

// The cache of each group that has one, from the config text parse_config accepted (llmfailover's
// schema; a LiteLLM config has none). Throws ConfigError naming the path, as parse_config does.
std::map<std::string, CacheConfig> parse_cache_config(const std::string& json_text,
                                                      const EnvLookup& env = process_env());

}  // namespace llmfailover::cache
