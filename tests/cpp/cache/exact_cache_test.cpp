// Table tests of the exact cache's store, key and answer encoding (cache/exact_cache.hpp).
#include "llmfailover/cache/exact_cache.hpp"

#include <gtest/gtest.h>

#include "llmfailover/cache/cache_config.hpp"
#include "llmfailover/cache/redis_cache.hpp"

namespace llmfailover::cache {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(ExactCacheStore, TtlExpiresOnTheInjectedClock) {
  ManualClock clock;
  ExactCache c(1 << 20, clock);
  c.put("k", "v", Millis{10'000});
  clock.advance(seconds(9));
  EXPECT_EQ(c.get("k"), "v");
  clock.advance(seconds(1));  // expiry is exclusive: at 10 s it is gone
  EXPECT_EQ(c.get("k"), std::nullopt);
  auto s = c.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
}

TEST(ExactCacheStore, EvictsLeastRecentlyUsedByBytes) {
  ManualClock clock;
  ExactCache c(30, clock);  // each entry below is 1 + 9 = 10 bytes
  c.put("a", std::string(9, 'a'), minutes(1));
  c.put("b", std::string(9, 'b'), minutes(1));
  c.put("c", std::string(9, 'c'), minutes(1));
  EXPECT_EQ(c.stats().bytes, 30u);
  ASSERT_TRUE(c.get("a"));  // a is now the most recent: b is the least
  c.put("d", std::string(9, 'd'), minutes(1));
  EXPECT_EQ(c.get("b"), std::nullopt);
  EXPECT_TRUE(c.get("a"));
  EXPECT_TRUE(c.get("c"));
  EXPECT_TRUE(c.get("d"));
  EXPECT_EQ(c.stats().evictions, 1u);
  EXPECT_LE(c.stats().bytes, 30u);
  c.put("big", std::string(21, 'x'), minutes(1));  // needs 24 of 30: a, c and d go, least recent first
  EXPECT_EQ(c.stats().entries, 1u);
  EXPECT_EQ(c.stats().bytes, 24u);
  c.put("huge", std::string(100, 'x'), minutes(1));  // larger than the cap: not stored, nothing evicted
  EXPECT_EQ(c.get("huge"), std::nullopt);
  EXPECT_TRUE(c.get("big"));
}

TEST(ExactCacheStore, ReplacingAnEntryKeepsTheByteCountRight) {
  ManualClock clock;
  ExactCache c(100, clock);
  c.put("k", std::string(50, 'x'), minutes(1));
  c.put("k", std::string(10, 'y'), minutes(1));
  EXPECT_EQ(c.stats().bytes, 11u);
  EXPECT_EQ(c.get("k"), std::string(10, 'y'));
  c.erase("k");
  EXPECT_EQ(c.stats().bytes, 0u);
}

constexpr const char* kBody = R"({"model":"smart","messages":[{"role":"user","content":"hi"}],"temperature":0})";

TEST(ExactCacheKey, CanonicalAndBlindToFieldsThatDoNotChangeTheAnswer) {
  auto k = [](const std::string& ns, const std::string& group, const std::string& body, bool stream = false,
              const std::string& path = "/chat/completions",
              const std::string& method = "POST") { return cache_key(ns, group, method, path, stream, body); };
  auto base = k("ns", "smart", kBody);
  ASSERT_TRUE(base);
  EXPECT_EQ(base->size(), 64u);  // SHA-256, hex
  struct Row {
    const char* what;
    std::optional<std::string> key;
    bool same;
  } rows[] = {
      {"keys in another order",
       k("ns", "smart", R"({"temperature":0,"messages":[{"content":"hi","role":"user"}],"model":"smart"})"), true},
      {"stream_options, user, metadata, llmfailover",
       k("ns", "smart",
         R"({"model":"smart","messages":[{"role":"user","content":"hi"}],"temperature":0,"user":"u",
             "metadata":{"a":1},"stream_options":{"include_usage":true},"llmfailover":{"cache":true}})"),
       true},
      {"another namespace", k("other", "smart", kBody), false},
      {"another group", k("ns", "fast", kBody), false},
      {"another prompt", k("ns", "smart", R"({"messages":[{"role":"user","content":"ho"}],"temperature":0})"), false},
      {"another temperature", k("ns", "smart", R"({"messages":[{"role":"user","content":"hi"}],"temperature":1})"),
       false},
      {"a stream", k("ns", "smart", kBody, true), false},
      {"embeddings", k("ns", "smart", kBody, false, "/embeddings"), false},
  };
  for (const auto& r : rows) {
    ASSERT_TRUE(r.key) << r.what;
    EXPECT_EQ(*r.key == *base, r.same) << r.what;
  }
  // Namespace parts cannot run into each other ("a|" + "b" vs "a" + "|b").
  EXPECT_NE(k("a|", "b", kBody), k("a", "|b", kBody));
  EXPECT_EQ(k("ns", "smart", kBody, false, "/completions"), std::nullopt);
  EXPECT_EQ(k("ns", "smart", kBody, false, "/chat/completions", "GET"), std::nullopt);
  EXPECT_EQ(k("ns", "smart", "not json"), std::nullopt);
  EXPECT_EQ(k("ns", "smart", "[1,2]"), std::nullopt);
}

TEST(ExactCacheKey, NamespaceIsolatesCallersAndUsers) {
  const std::string with_user = R"({"messages":[],"user":"alice"})";
  const std::string other_user = R"({"messages":[],"user":"bob"})";
  EXPECT_NE(request_namespace("key1", with_user), request_namespace("key2", with_user));
  EXPECT_NE(request_namespace("key1", with_user), request_namespace("key1", other_user));
  EXPECT_EQ(request_namespace("key1", with_user), request_namespace("key1", with_user));
  EXPECT_NE(cache_key(request_namespace("key1", with_user), "g", "POST", "/embeddings", false, with_user),
            cache_key(request_namespace("key1", other_user), "g", "POST", "/embeddings", false, other_user));
}

TEST(ExactCacheAnswer, RoundTripsAndDropsMalformedEntries) {
  Answer a;
  a.status = 200;
  a.headers = {{"content-type", "text/event-stream"}};
  a.events = {Event::sse("", R"({"choices":[]})"), Event::sse("", "[DONE]", "7")};
  auto back = decode_answer(encode_answer(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200);
  EXPECT_EQ(back->headers, a.headers);
  ASSERT_EQ(back->events.size(), 2u);
  EXPECT_EQ(back->events[1].data, "[DONE]");
  EXPECT_EQ(back->events[1].id, "7");
  for (const char* bad :
       {"", "{", "[]", R"({"v":2,"status":200,"headers":[],"events":[]})",
        R"({"v":1,"status":500,"headers":[],"events":[]})", R"({"v":1,"status":"200","headers":[],"events":[]})",
        R"({"v":1,"status":200,"headers":[["a"]],"events":[]})",
        R"({"v":1,"status":200,"headers":[],"events":[["body",3]]})",
        R"({"v":1,"status":200,"headers":[],"events":[["end"]]})"})
    EXPECT_EQ(decode_answer(bad), std::nullopt) << bad;
}

TEST(ExactCacheConfig, ParsedAtTheTopAndPerGroup) {
  auto c = parse_cache_config(R"({"cache":{"ttl":"2m","max_bytes":"1MiB"},
    "groups":{"a":{"deployments":[{"model":"m","api_key":"k"}]},
              "b":{"deployments":[{"model":"m","api_key":"k"}],"policy":{"cache":{"enabled":false}}},
              "c":{"deployments":[{"model":"m","api_key":"k"}],"policy":{"cache":{"max_bytes":5000}}},
              "r":{"deployments":[{"model":"m","api_key":"k"}],
                   "policy":{"cache":{"type":"redis","url":"redis://:pw@localhost:6380/2","timeout":"20ms"}}}}})");
  ASSERT_EQ(c.count("a"), 1u);
  EXPECT_EQ(c["a"].ttl, minutes(2));
  EXPECT_EQ(c["a"].max_bytes, 1u << 20);
  EXPECT_EQ(c.count("b"), 0u);  // turned off
  EXPECT_EQ(c["c"].max_bytes, 5000u);
  EXPECT_EQ(c["c"].ttl, minutes(2));
  EXPECT_EQ(c["r"].type, "redis");
  EXPECT_EQ(c["r"].timeout, Millis{20});
  EXPECT_TRUE(parse_cache_config(R"({"groups":{"a":{"deployments":[{"model":"m"}]}}})").empty());
  EXPECT_EQ(
      parse_cache_config(R"({"defaults":{"cache":{}},"groups":{"a":{"deployments":[{"model":"m"}]}}})").count("a"), 1u);
  for (const char* bad : {R"({"type":"disk"})", R"({"max_bytes":"64 parsecs"})", R"({"max_bytes":0})",
                          R"({"ttl":"soon"})", R"({"type":"redis"})", R"({"type":"redis","url":"http://x"})",
                          R"({"url":"redis://h:99999"})", R"({"timeout":"1m"})", R"("yes")"}) {
    std::string cfg = std::string(R"({"cache":)") + bad + R"(,"groups":{"a":{"deployments":[{"model":"m"}]}}})";
    EXPECT_THROW(parse_cache_config(cfg), ConfigError) << bad;
  }
}

TEST(ExactCacheConfig, RedisUrls) {
  std::string why;
  auto u = parse_redis_url("redis://user:secret@cache.local:6380/3", &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->host, "cache.local");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->username, "user");
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->db, 3);
  EXPECT_EQ(parse_redis_url("redis://", &why)->host, "127.0.0.1");
  EXPECT_EQ(parse_redis_url("unix:///tmp/r.sock", &why)->socket, "/tmp/r.sock");
  for (const char* bad : {"http://h", "redis://h:0", "redis://h:x", "redis://h/x", "unix://rel.sock", "redis://h h"})
    EXPECT_FALSE(parse_redis_url(bad, &why)) << bad;
  EXPECT_EQ(redacted_url("redis://user:secret@h:1/0"), "redis://user:***@h:1/0");
  EXPECT_EQ(redacted_url("redis://:secret@h"), "redis://:***@h");
  EXPECT_EQ(redacted_url("redis://h:1"), "redis://h:1");
}

}  // namespace
}  // namespace llmfailover::cache
