// secrets_test.cpp — where SecretSet masks a credential: a short one only as a whole token, a long
// one everywhere (the same cases as tests/py/test_errors.py, which checks the Python copy).
#include "llmfailover/secret_set.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmfailover {
namespace {

std::string scrub(std::string_view key, std::string text) {
  SecretSet s;
  s.add(key);
  return s.scrub(std::move(text));
}

constexpr std::string_view kLong = "sk-live-0123456789";

TEST(SecretSet, AShortKeyIsMaskedOnlyAsAWholeToken) {
  // A key "k" used to be skipped (shorter than 8) and so printed in "Bearer k"; masked everywhere
  // it would read "TLS handsha***e".
  EXPECT_EQ(scrub("k", "TLS handshake with k.example.com failed"), "TLS handshake with k.example.com failed");
  EXPECT_EQ(scrub("k", "kk k_1 k-2 a.k"), "kk k_1 k-2 a.k");
  EXPECT_EQ(scrub("k", "Authorization: Bearer k"), "Authorization: Bearer ***");
  EXPECT_EQ(scrub("k", "bad key 'k'. Try k"), "bad key '***'. Try ***");
  EXPECT_EQ(scrub("k", "GET /v1?key=k&alt=sse"), "GET /v1?key=***&alt=sse");
  EXPECT_EQ(scrub("k", "k"), "***");
  // A short key spelled like a JSON value: the document is scrubbed instead, so it stays JSON.
  EXPECT_EQ(scrub("null", R"({"code": null, "message": "null key", "null": [0, "nullable"]})"),
            R"({"code":"***","message":"*** key","***":[0,"nullable"]})");
  EXPECT_EQ(scrub("0", R"({"code": 0, "n": 10})"), R"({"code":"***","n":10})");
  EXPECT_EQ(scrub("EMPTY", R"({"message": "EMPTY is down", "code": null})"),
            R"({"message": "*** is down", "code": null})");
}

TEST(SecretSet, ALongKeyIsMaskedEverywhere) {
  const std::string key(kLong);
  EXPECT_EQ(scrub(kLong, "GET /v1?key=" + key + "&alt=sse"), "GET /v1?key=***&alt=sse");
  EXPECT_EQ(scrub(kLong, "x-api-key: " + key), "x-api-key: ***");
  EXPECT_EQ(scrub(kLong, "prefix_" + key + "_suffix"), "prefix_***_suffix");  // inside a longer token
  EXPECT_EQ(scrub(kLong, key + key), "******");
}

TEST(SecretSet, ARequestsShortCredentialsAreMaskedAsTokens) {
  HttpRequest req;
  req.url = "https://api.example.com/v1/models?key=k&alt=sse";
  req.headers = {{"Authorization", "Bearer t"}};
  SecretSet s;
  s.add_from_request(req);
  EXPECT_EQ(s.scrub("echo: Bearer t, key=k, token t; the network is okay"),
            "echo: ***, key=***, token ***; the network is okay");
}

}  // namespace
}  // namespace llmfailover
