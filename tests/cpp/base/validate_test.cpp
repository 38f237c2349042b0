// validate.hpp: one check per kind of argument, each naming the field and never echoing a header
// value. Table tests: what is accepted, what is refused, and the message.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "llmfailover/validate.hpp"

namespace llmfailover {
namespace {

using std::chrono::milliseconds;

// The message of the InvalidArgument `f` throws ("" when it does not throw).
std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Validate, Durations) {
  EXPECT_EQ(checked_seconds(1.5, "timeout"), milliseconds(1500));
  EXPECT_EQ(checked_seconds(0.0001, "timeout"), milliseconds(1));  // never rounded to "no limit"
  EXPECT_EQ(checked_seconds(0, "t", true), milliseconds(0));
  EXPECT_EQ(checked_seconds(std::numeric_limits<double>::infinity(), "timeout"), std::nullopt);
  EXPECT_EQ(checked_seconds(1e300, "timeout"), std::nullopt);  // no UB cast to an integer
  EXPECT_EQ(checked_seconds_or_no_limit(1e17, "timeout"), kNoLimit);
  for (double bad : {-1.0, 0.0, std::nan(""), -std::numeric_limits<double>::infinity()}) {
    auto message = refusal([&] { checked_seconds(bad, "first_token_timeout"); });
    EXPECT_EQ(message.rfind("first_token_timeout must be > 0 seconds", 0), 0u) << bad << ": " << message;
  }
  EXPECT_EQ(refusal([] { checked_seconds(-2, "idle", true); }),
            "idle must be >= 0 seconds (or None for no limit), got -2");
}

TEST(Validate, Counts) {
  EXPECT_EQ(checked_io_threads(1), 1u);
  EXPECT_EQ(checked_io_threads(64), 64u);
  EXPECT_EQ(refusal([] { checked_io_threads(0); }), "io_threads must be between 1 and 64, got 0");
  EXPECT_EQ(refusal([] { checked_io_threads(1LL << 40); }), "io_threads must be between 1 and 64, got 1099511627776");
  EXPECT_EQ(checked_max_connections(1), 1u);
  EXPECT_NE(refusal([] { checked_max_connections(0); }), "");
  EXPECT_EQ(checked_max_retries(0), 0);
  EXPECT_EQ(checked_max_retries(kMaxRetries), kMaxRetries);
  EXPECT_EQ(refusal([] { checked_max_retries(-1); }), "max_retries must be between 0 and 1000000, got -1");
  EXPECT_NE(refusal([] { checked_max_retries(kMaxRetries + 1); }), "");
  EXPECT_EQ(checked_max_attempts(5), 5);
  EXPECT_EQ(refusal([] { checked_max_attempts(6); }), "max_attempts must be between 1 and 5, got 6");
  EXPECT_NE(refusal([] { checked_max_attempts(0); }), "");
}

TEST(Validate, BaseUrl) {
  EXPECT_EQ(refusal([] { check_base_url("base_url", "https://api.example.com/v1"); }), "");
  EXPECT_EQ(refusal([] { check_base_url("base_url", "http://127.0.0.1:8080"); }), "");
  EXPECT_EQ(refusal([] { check_base_url("base_url", "ftp://user:hunter2@example.com/"); }),
            "base_url must start with http:// or https://, got 'ftp://example.com/'");  // no password
  EXPECT_EQ(refusal([] { check_base_url("base_url", "https://example.com/\r\nX-Evil: 1"); }),
            "Invalid non-printable ASCII character in base_url, '\\r' at position 20.");
  EXPECT_EQ(refusal([] { check_base_url("api_base", std::string("https://a\0b", 11)); }),
            "Invalid non-printable ASCII character in api_base, '\\x00' at position 9.");
}

TEST(Validate, Headers) {
  EXPECT_EQ(header_problem("X-Custom_1.a~", "any value, even \"quoted\""), std::nullopt);
  EXPECT_EQ(header_problem("", "v"), "a header name is not an HTTP token (RFC 9110 §5.6.2)");
  for (const char* name : {"Bad Name", "a:b", "x\r\ny", "é"}) EXPECT_TRUE(header_problem(name, "v")) << name;
  for (std::string value : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3)}) {
    auto problem = header_problem("Authorization", value);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "the value of header 'Authorization' contains CR, LF or NUL (RFC 9110 §5.5)");
  }
  auto message = refusal([] { check_header("extra_headers", "X-Key", "sk-secret\r\nX-Evil: 1"); });
  EXPECT_EQ(message, "extra_headers: the value of header 'X-Key' contains CR, LF or NUL (RFC 9110 §5.5)");
  EXPECT_EQ(message.find("sk-secret"), std::string::npos);
}

}  // namespace
}  // namespace llmfailover
