// The `state` object of the config (config_state.cpp; rediss:// keys included) and the Redis URL
// rules (state/redis.hpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "llmfailover/config.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover {
namespace {

std::string with_state(const std::string& state) {
  return R"({"groups": {"g": {"deployments": [{"model": "m", "rpm": 100}]}}, "state": )" + state + "}";
}

std::string error_of(const std::string& json) {
  try {
    parse_config(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(StateConfig, ReadsRedisAndDefaults) {
  auto c = parse_config(with_state(R"({"redis": {"url": "redis://:pw@127.0.0.1:6390/2", "prefix": "app1:",
                                               "timeout": "20ms", "window": "2s", "poll": "100ms", "slice": 0.1}})"));
  EXPECT_TRUE(c.state.enabled());
  EXPECT_EQ(c.state.url.reveal(), "redis://:pw@127.0.0.1:6390/2");
  EXPECT_EQ(c.state.prefix, "app1:");
  EXPECT_EQ(c.state.timeout, Millis{20});
  EXPECT_EQ(c.state.window, Millis{2000});
  EXPECT_EQ(c.state.poll, Millis{100});
  EXPECT_DOUBLE_EQ(c.state.slice, 0.1);
  auto d = parse_config(with_state(R"({"redis": {"url": "redis://h"}})"));
  EXPECT_EQ(d.state.prefix, "llmf:");
  EXPECT_EQ(d.state.timeout, Millis{50});
  EXPECT_EQ(d.state.window, Millis{60000});
  EXPECT_FALSE(parse_config(with_state("{}")).state.enabled());
}

TEST(StateConfig, ErrorsNameThePathAndNeverThePassword) {
  std::string e = error_of(with_state(R"({"redis": {"url": "http://:hunter2@h"}})"));
  EXPECT_EQ(e.rfind("state.redis.url: not a redis://, rediss:// or unix:// URL", 0), 0u) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = error_of(with_state(R"({"redis": {"url": "redis://h", "timeout": "10s"}})"));
  EXPECT_EQ(e.rfind("state.redis.timeout: expected at most 5s", 0), 0u) << e;
  e = error_of(with_state(R"({"redis": {"url": "redis://h", "prefix": "a b"}})"));
  EXPECT_EQ(e.rfind("state.redis.prefix:", 0), 0u) << e;
  e = error_of(with_state(R"({"redis": {"prefix": "a"}})"));
  EXPECT_EQ(e.rfind("state.redis.url:", 0), 0u) << e;
}

TEST(StateConfig, DumpRedactsThePassword) {
  auto c = parse_config(with_state(R"({"redis": {"url": "redis://user:hunter2@h:1/0"}})"));
  std::string dump = dump_config(c);
  EXPECT_EQ(dump.find("hunter2"), std::string::npos) << dump;
  EXPECT_NE(dump.find("redis://user:***@h:1/0"), std::string::npos) << dump;
  EXPECT_EQ(parse_config(dump).state.prefix, "llmf:");
}

TEST(StateConfig, ReadsTheTlsKeysOnlyForRediss) {
  const auto ca = std::filesystem::temp_directory_path() / ("llmf-redis-tls-ca-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(ca) << "not a certificate\n";
  auto c = parse_config(with_state(R"({"redis": {"url": "rediss://:hunter2@h:6380", "ca_file": ")" + ca.string() +
                                   R"(", "tls_skip_verify": true}})"));
  EXPECT_EQ(c.state.tls.ca_file, ca.string());
  EXPECT_TRUE(c.state.tls.skip_verify);
  const std::string dump = dump_config(c);
  EXPECT_EQ(dump.find("hunter2"), std::string::npos) << dump;
  EXPECT_NE(dump.find("rediss://:***@h:6380"), std::string::npos) << dump;
  EXPECT_EQ(parse_config(dump).state.tls, c.state.tls);  // the dump reads back
  EXPECT_FALSE(parse_config(with_state(R"({"redis": {"url": "rediss://h"}})")).state.tls.skip_verify);

  std::string e = error_of(with_state(R"({"redis": {"url": "redis://:hunter2@h", "tls_skip_verify": true}})"));
  EXPECT_EQ(e.rfind("state.redis.tls_skip_verify: only with a rediss:// (TLS) url", 0), 0u) << e;
  e = error_of(with_state(R"({"redis": {"url": "rediss://:hunter2@h", "ca_file": "/nonexistent/ca.pem"}})"));
  EXPECT_EQ(e.rfind("state.redis.ca_file: cannot read the CA file '/nonexistent/ca.pem'", 0), 0u) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = error_of(with_state(R"({"redis": {"url": "rediss://h", "tls_skip_verify": "no"}})"));
  EXPECT_EQ(e.rfind("state.redis.tls_skip_verify:", 0), 0u) << e;
  std::filesystem::remove(ca);
}

TEST(StateRedis, AnUnreachableServerFailsWithinTheTimeoutAndIsSkippedAfter) {
  // Port 1 on localhost refuses at once; the point is that a failure is a nullopt, then a skip.
  state::RedisConnection redis("redis://127.0.0.1:1", Millis{50}, "test", "going on");
  state::RedisConnection::Outcome o{};
  EXPECT_FALSE(redis.command({"PING"}, &o));
  EXPECT_EQ(o, state::RedisConnection::Outcome::failed);
  EXPECT_FALSE(redis.command({"PING"}, &o));
  EXPECT_EQ(o, state::RedisConnection::Outcome::skipped);
}

}  // namespace
}  // namespace llmfailover
