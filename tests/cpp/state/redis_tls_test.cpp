// rediss:// (state/redis.hpp, redis_tls.cpp): the URL rules, and that a TLS failure is a bounded,
// password-free connection failure (the config keys: state_config_test.cpp; the handshakes with a
// real TLS redis-server: tests/py/test_redis_tls.py).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "llmfailover/state/redis.hpp"

namespace llmfailover {
namespace {

using state::RedisConnection;

// A listening socket that never accepts: the kernel completes the TCP connect, then silence.
struct SilentServer {
  int fd = -1;
  int port = 0;
  SilentServer() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), n), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
};

TEST(RedisTls, RedissUrlsParseAndRedact) {
  std::string why;
  auto u = state::parse_redis_url("rediss://user:secret@cache.local:6380/3", &why);
  ASSERT_TRUE(u) << why;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "cache.local");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->db, 3);
  EXPECT_FALSE(state::parse_redis_url("redis://h", &why)->tls);
  EXPECT_FALSE(state::parse_redis_url("rediss://h:0", &why));
  EXPECT_EQ(state::redacted_url("rediss://user:secret@h:1/0"), "rediss://user:***@h:1/0");
  EXPECT_EQ(state::redacted_url("rediss://:secret@h"), "rediss://:***@h");
}

TEST(RedisTls, ASilentServerFailsTheHandshakeWithinTheTimeout) {
  SilentServer server;
  RedisConnection redis("rediss://:hunter2@127.0.0.1:" + std::to_string(server.port), Millis{100}, "test", "going on");
  testing::internal::CaptureStderr();
  const auto t0 = std::chrono::steady_clock::now();
  RedisConnection::Outcome o{};
  EXPECT_FALSE(redis.command({"PING"}, &o));
  const auto took = std::chrono::steady_clock::now() - t0;
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(o, RedisConnection::Outcome::failed);
  EXPECT_LT(took, std::chrono::milliseconds(1000));  // the 100 ms timeout, not a hang
  EXPECT_NE(err.find("TLS handshake failed"), std::string::npos) << err;
  EXPECT_NE(err.find("rediss://:***@127.0.0.1"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  EXPECT_FALSE(redis.command({"PING"}, &o));
  EXPECT_EQ(o, RedisConnection::Outcome::skipped);
}

TEST(RedisTls, AnUnloadableCaFileIsAFailedConnectionNamingIt) {
  SilentServer server;
  const auto ca =
      std::filesystem::temp_directory_path() / ("llmf-redis-tls-bad-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(ca) << "not a certificate\n";
  RedisConnection redis("rediss://127.0.0.1:" + std::to_string(server.port), Millis{100}, "test", "going on",
                        state::RedisTls{ca.string(), false});
  testing::internal::CaptureStderr();
  RedisConnection::Outcome o{};
  EXPECT_FALSE(redis.command({"PING"}, &o));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(o, RedisConnection::Outcome::failed);
  EXPECT_NE(err.find("cannot load the CA file " + ca.string()), std::string::npos) << err;
  std::filesystem::remove(ca);
}

}  // namespace
}  // namespace llmfailover
