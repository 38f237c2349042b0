// config_state.cpp — the `state` object of the config (docs/config.md "state"): the Redis that
// several processes share quotas and breakers through (state/shared_state.hpp).
#include "config_detail.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover::config_detail {

state::StateConfig parse_state(const Node& node) {
  node.expect_object().check_keys({"redis"});
  state::StateConfig c;
  auto redis = node.get("redis");
  if (!redis) return c;  // `state: {}`: nothing shared
  redis->expect_object().check_keys(
      {"url", "prefix", "timeout", "window", "poll", "slice", "ca_file", "tls_skip_verify"});
  auto url = redis->require("url");
  const std::string text = url.as_nonempty_string();
  std::string why;  // never quotes the URL: it may hold the AUTH password
  if (!state::parse_redis_url(text, &why)) url.fail(why);
  c.url = Secret(text);
  parse_redis_tls(*redis, text, c.tls);
  if (auto n = redis->get("prefix")) {
    c.prefix = n->as_string();
    for (char ch : c.prefix)
      if (static_cast<unsigned char>(ch) <= ' ') n->fail("expected a prefix without spaces or control characters");
  }
  if (auto n = redis->get("timeout")) {
    c.timeout = n->as_duration(Millis{1});
    if (c.timeout > Millis{5000}) n->fail("expected at most 5s: shared state must never hold a request up for long");
  }
  if (auto n = redis->get("window")) {
    c.window = n->as_duration(Millis{100});
    if (c.window > Millis{3600000}) n->fail("expected at most 1h");
  }
  if (auto n = redis->get("poll")) {
    c.poll = n->as_duration(Millis{10});
    if (c.poll > Millis{60000}) n->fail("expected at most 60s");
  }
  if (auto n = redis->get("slice")) c.slice = n->as_number(0.001, 1.0);
  return c;
}

}  // namespace llmfailover::config_detail
