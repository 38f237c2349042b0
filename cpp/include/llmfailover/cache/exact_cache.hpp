// exact_cache.hpp — the exact answer cache: a request that changes nothing in the answer gets the
// stored answer back without an upstream attempt (issue 15 point 4; docs/config.md "cache").
//
// ExactCache is a pure store: key -> bytes, each entry with its own expiry on the injected clock,
// least-recently-used eviction once the entries' bytes (key + value) pass max_bytes, and
// thread-safe. What goes in (the key, the encoded answer) is decided by cache_key() and
// encode_answer() below; a value that does not decode is dropped by the caller (erase), never served.
//
// The key (cache_key) is SHA-256 over the namespace, the group, the path, the response form
// (stream or whole) and the canonical JSON of the body: keys sorted, and minus the fields that do
// not change the answer (stream, stream_options, user, metadata, the llmfailover extras). The
// namespace (by default the caller's API key digest and the body's `user`) keeps one tenant from
// ever seeing another's answer. Like LiteLLM's and Portkey's caches, temperature > 0 is cached
// too: a hit returns the first sampled answer again (README "Caching").
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/http.hpp"

namespace llmfailover::cache {

// Where answers are kept: in process (ExactCache) or in Redis (redis_cache.hpp, shared by
// processes). get() never throws and never blocks past the backend's own limit.
class Store {
 public:
  virtual ~Store() = default;
  virtual void put(const std::string& key, std::string value, Millis ttl) = 0;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void erase(const std::string& key) = 0;
};

class ExactCache final : public Store {
 public:
  // `max_bytes` bounds the sum of the entries' key and value sizes; an entry larger than it is
  // not stored.
  ExactCache(std::size_t max_bytes, const TimeSource& time) : max_bytes_(max_bytes), time_(time) {}

  // Stores (or replaces) `key`, expiring `ttl` from now; evicts least recently used entries to fit.
  void put(const std::string& key, std::string value, Millis ttl) override;
  // The value when present and not expired (an expired one is removed); marks it recently used.
  std::optional<std::string> get(const std::string& key) override;
  void erase(const std::string& key) override;

  struct Stats {
    std::size_t entries = 0, bytes = 0;
    std::size_t hits = 0, misses = 0, evictions = 0, expired = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string key, value;
    Clock::time_point expires;
  };
  void drop(std::list<Entry>::iterator it);  // under mutex_

  std::size_t max_bytes_;
  const TimeSource& time_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  Stats stats_;
};

// The request fields that never change the answer and so are not part of the key.
inline constexpr const char* kIgnoredFields[] = {"stream", "stream_options", "user", "metadata", "llmfailover"};

// The key of a request, or nullopt when it is not cacheable: only POST /chat/completions and
// /embeddings with a JSON object body are. `stream` is the response form (its answers are stored
// as chunks, so they are kept apart from whole answers).
std::optional<std::string> cache_key(const std::string& ns, const std::string& group, const std::string& method,
                                     const std::string& path, bool stream, const std::string& body);

// The namespace of a request: the caller's namespace (its API key digest, or one it chose) and
// the body's `user` field, if any.
std::string request_namespace(const std::string& caller_ns, const std::string& body);

// A whole answer as the caller got it: the head (2xx) and its body or sse events, without the
// terminal `end`. encode -> decode is the identity; decode of anything else is nullopt.
struct Answer {
  int status = 200;
  Headers headers;
  std::vector<Event> events;  // body or sse
};
std::string encode_answer(const Answer& a);
std::optional<Answer> decode_answer(const std::string& bytes);

}  // namespace llmfailover::cache
