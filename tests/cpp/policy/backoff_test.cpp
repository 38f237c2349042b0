// Golden tests for the backoff formulas and server hints (resilience.md 6.1, 8.3, 8.12).
#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/policy/retry.hpp"

#include <gtest/gtest.h>

namespace llmfailover::policy {
namespace {

using std::chrono::seconds;

// 2024-05-01T12:00:00Z
const WallClock::time_point kNow = WallClock::time_point{seconds{1714564800}};

TEST(BackoffFullJitter, GoldenSequenceWithDefaults) {
  RetryPolicyConfig cfg;                                // base 500 ms, cap 20 s
  EXPECT_EQ(full_jitter(cfg, 1, 0.5), Millis{250});     // U(0, 500)
  EXPECT_EQ(full_jitter(cfg, 2, 0.5), Millis{500});     // U(0, 1000)
  EXPECT_EQ(full_jitter(cfg, 3, 0.999), Millis{1998});  // U(0, 2000), rounded down
  EXPECT_EQ(full_jitter(cfg, 6, 0.5), Millis{8000});    // U(0, 16000)
  EXPECT_EQ(full_jitter(cfg, 7, 0.5), Millis{10000});   // 32000 capped at 20000
  EXPECT_EQ(full_jitter(cfg, 1000, 0.25), Millis{5000});
  EXPECT_EQ(full_jitter(cfg, 4, 0.0), Millis{0});
}

TEST(BackoffFullJitter, RetryBelowOneCountsAsFirst) {
  RetryPolicyConfig cfg;
  EXPECT_EQ(full_jitter(cfg, 0, 0.5), full_jitter(cfg, 1, 0.5));
  EXPECT_EQ(full_jitter(cfg, -3, 0.5), Millis{250});
}

TEST(BackoffFullJitter, CustomBaseAndCap) {
  RetryPolicyConfig cfg;
  cfg.backoff_base = Millis{100};
  cfg.backoff_cap = Millis{300};
  EXPECT_EQ(full_jitter(cfg, 1, 0.5), Millis{50});
  EXPECT_EQ(full_jitter(cfg, 2, 0.5), Millis{100});
  EXPECT_EQ(full_jitter(cfg, 3, 0.5), Millis{150});  // 400 capped at 300
}

TEST(BackoffPushback, JittersBetweenHintAndOneAndAHalfHints) {
  EXPECT_EQ(pushback_wait(Millis{1000}, 0.0), Millis{1000});
  EXPECT_EQ(pushback_wait(Millis{1000}, 0.5), Millis{1250});
  EXPECT_EQ(pushback_wait(Millis{1000}, 0.999), Millis{1499});
  EXPECT_EQ(pushback_wait(Millis{0}, 0.7), Millis{0});
}

TEST(BackoffHint, RetryAfterMsThenRetryAfter) {
  EXPECT_EQ(retry_hint({{"Retry-After-Ms", "1500"}, {"retry-after", "9"}}, kNow), Millis{1500});
  EXPECT_EQ(retry_hint({{"retry-after", "2"}}, kNow), Millis{2000});
  EXPECT_EQ(retry_hint({{"retry-after", "Wed, 01 May 2024 12:00:07 GMT"}}, kNow), Millis{7000});
  EXPECT_EQ(retry_hint({}, kNow), std::nullopt);
  EXPECT_EQ(retry_hint({{"retry-after", "soon"}}, kNow), std::nullopt);
}

// Hostile hints saturate instead of converting out of range (undefined behaviour; UBSan aborted on
// "retry-after: 1e308" in the plain client's openai rules before).
TEST(BackoffHint, HugeHintsSaturate) {
  const Millis far{1'000'000'000'000};
  EXPECT_EQ(parse_retry_after({{"retry-after", "inf"}}, kNow), std::nullopt);  // not a number of seconds
  for (const char* v : {"1e308", "1e30"}) {
    EXPECT_EQ(parse_retry_after({{"retry-after", v}}, kNow), far) << v;
    EXPECT_EQ(parse_retry_after({{"retry-after-ms", v}}, kNow), far) << v;
  }
  EXPECT_EQ(parse_retry_after({{"retry-after", "-1e308"}}, kNow), -far);
  EXPECT_EQ(parse_go_duration("99999999999999999999h"), far);
  // The plain client does not wait a hint over 60 s: its own backoff instead.
  const Headers huge{{"retry-after", "1e308"}};
  EXPECT_LE(openai_retry_delay(0, &huge, 0.0, kNow), Millis{8000});
}

TEST(BackoffHint, RetryAfterBeatsProviderHeaders) {
  Headers h{{"x-ratelimit-reset-requests", "20s"}, {"retry-after", "3"}, {"x-ratelimit-reset", "1714564830"}};
  EXPECT_EQ(retry_hint(h, kNow), Millis{3000});
}

TEST(BackoffHint, OpenAIGoDurationsEarliestWhenUnknownWhichLimit) {
  Headers h{{"x-ratelimit-reset-requests", "1s"}, {"x-ratelimit-reset-tokens", "6m0s"}};
  EXPECT_EQ(retry_hint(h, kNow), Millis{1000});
}

TEST(BackoffHint, OpenAIExhaustedLimitWins) {
  Headers h{{"x-ratelimit-reset-requests", "20ms"},
            {"x-ratelimit-remaining-requests", "12"},
            {"x-ratelimit-reset-tokens", "1.5s"},
            {"x-ratelimit-remaining-tokens", "0"}};
  EXPECT_EQ(retry_hint(h, kNow), Millis{1500});
}

TEST(BackoffHint, AnthropicRfc3339Resets) {
  Headers h{{"anthropic-ratelimit-requests-reset", "2024-05-01T12:00:30Z"},
            {"anthropic-ratelimit-tokens-reset", "2024-05-01T14:00:10+02:00"}};
  EXPECT_EQ(retry_hint(h, kNow), Millis{10000});
  h.push_back({"anthropic-ratelimit-requests-remaining", "0"});
  EXPECT_EQ(retry_hint(h, kNow), Millis{30000});
  EXPECT_EQ(retry_hint({{"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:01.250Z"}}, kNow), Millis{1250});
}

TEST(BackoffHint, UnixTimestampReset) {
  EXPECT_EQ(retry_hint({{"x-ratelimit-reset", "1714564830"}}, kNow), Millis{30000});
  EXPECT_EQ(retry_hint({{"x-ratelimit-reset", "12"}}, kNow), Millis{12000});  // a delta, not a date
}

TEST(BackoffHint, PastResetMeansNow) {
  EXPECT_EQ(retry_hint({{"retry-after", "Wed, 01 May 2024 11:59:00 GMT"}}, kNow), Millis{0});
  EXPECT_EQ(retry_hint({{"x-ratelimit-reset", "1714564700"}}, kNow), Millis{0});
}

TEST(BackoffHint, HintAboveMaxRetryAfterIsDiscarded) {
  EXPECT_EQ(retry_hint({{"retry-after", "301"}}, kNow), std::nullopt);  // default max 300 s
  EXPECT_EQ(retry_hint({{"retry-after", "300"}}, kNow), Millis{300000});
  EXPECT_EQ(retry_hint({{"x-ratelimit-reset-tokens", "6m0s"}}, kNow), std::nullopt);
  EXPECT_EQ(retry_hint({{"retry-after", "5"}}, kNow, Millis{4000}), std::nullopt);
  EXPECT_EQ(retry_hint({{"retry-after", "5"}}, kNow, Millis{5000}), Millis{5000});
}

TEST(BackoffGoDuration, Formats) {
  EXPECT_EQ(parse_go_duration("1s"), Millis{1000});
  EXPECT_EQ(parse_go_duration("6m0s"), Millis{360000});
  EXPECT_EQ(parse_go_duration("20ms"), Millis{20});
  EXPECT_EQ(parse_go_duration("1h2m3.5s"), Millis{3723500});
  EXPECT_EQ(parse_go_duration("1.5h"), Millis{5400000});
  EXPECT_EQ(parse_go_duration("0"), Millis{0});
  EXPECT_EQ(parse_go_duration("0s"), Millis{0});
  EXPECT_EQ(parse_go_duration("0.001s"), Millis{1});
  EXPECT_EQ(parse_go_duration("500us"), Millis{1});  // rounded up: never early
  EXPECT_EQ(parse_go_duration("2000000ns"), Millis{2});
  EXPECT_EQ(parse_go_duration(".5s"), Millis{500});
}

TEST(BackoffGoDuration, Malformed) {
  for (const char* bad : {"", "5", "s", "-1s", "1x", "1s2", "1..5s", ".s", "1 s"})
    EXPECT_EQ(parse_go_duration(bad), std::nullopt) << bad;
}

TEST(BackoffRfc3339, Formats) {
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00Z"), kNow);
  EXPECT_EQ(parse_rfc3339("2024-05-01t12:00:00z"), kNow);
  EXPECT_EQ(parse_rfc3339("2024-05-01T13:30:00+01:30"), kNow);
  EXPECT_EQ(parse_rfc3339("2024-05-01T11:00:00-01:00"), kNow);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.5Z"), kNow + Millis{500});
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00:00", "2024-13-01T12:00:00Z", "2024-02-30T12:00:00Z",
                          "2024-05-01T12:00:00+0100", "2024-05-01T12:00:00.Z", "2024-05-01T25:00:00Z"})
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace llmfailover::policy
