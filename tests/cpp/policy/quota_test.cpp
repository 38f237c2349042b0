// Quotas before sending: rpm/tpm windows, usage correction, provider headers, concurrency caps.
#include "llmfailover/policy/quota.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "llmfailover/policy/backoff.hpp"

namespace llmfailover::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(QuotaTest, EstimateIsCharsOverFourPlusMaxTokens) {
  EXPECT_EQ(estimate_tokens(400, 100), (TokenEstimate{100, 100}));
  EXPECT_EQ(estimate_tokens(401, std::nullopt), (TokenEstimate{101, kDefaultOutputTokens}));
  EXPECT_EQ(estimate_tokens(0, std::nullopt, 64).total(), 64);
  EXPECT_EQ(estimate_tokens(8, 0, 10), (TokenEstimate{2, 10}));  // max_tokens 0 = unset
}

TEST(QuotaTest, RpmIsASlidingSixtySecondWindow) {
  ManualClock clock;
  RateWindow w({3, 0}, clock);
  EXPECT_TRUE(w.try_acquire(0));
  clock.advance(seconds{20});
  EXPECT_TRUE(w.try_acquire(0));
  EXPECT_TRUE(w.try_acquire(0));
  EXPECT_FALSE(w.try_acquire(0));
  EXPECT_EQ(w.admissible_at(0), clock.now() + seconds{40});  // when the first leaves
  clock.advance(seconds{40} - milliseconds{1});
  EXPECT_FALSE(w.try_acquire(0));
  clock.advance(milliseconds{1});
  EXPECT_TRUE(w.try_acquire(0));  // exactly 60 s after the first
  EXPECT_FALSE(w.try_acquire(0));
  EXPECT_EQ(w.usage().requests, 3);
}

TEST(QuotaTest, TpmCountsEstimatedTokens) {
  ManualClock clock;
  RateWindow w({0, 1000}, clock);
  EXPECT_TRUE(w.try_acquire(600));
  EXPECT_FALSE(w.try_acquire(500));
  EXPECT_TRUE(w.try_acquire(400));
  EXPECT_FALSE(w.try_acquire(1));
  EXPECT_EQ(w.usage().tokens, 1000);
}

TEST(QuotaTest, EmptyWindowAdmitsARequestAboveTheWholeTpm) {
  ManualClock clock;
  RateWindow w({0, 1000}, clock);
  EXPECT_TRUE(w.try_acquire(5000));
  EXPECT_FALSE(w.try_acquire(1));
  clock.advance(seconds{60});
  EXPECT_TRUE(w.try_acquire(1));
}

TEST(QuotaTest, CorrectionFromReportedUsageFreesOrChargesTokens) {
  ManualClock clock;
  RateWindow w({0, 1000}, clock);
  auto t = w.try_acquire(900);  // estimate: input + max_tokens
  ASSERT_TRUE(t);
  EXPECT_FALSE(w.try_acquire(200));
  w.correct(*t, 300);  // the answer used far fewer
  EXPECT_EQ(w.usage().tokens, 300);
  auto t2 = w.try_acquire(200);
  ASSERT_TRUE(t2);
  w.correct(*t2, 700);  // or more than estimated
  EXPECT_EQ(w.usage().tokens, 1000);
  EXPECT_FALSE(w.try_acquire(1));
  clock.advance(seconds{61});
  w.correct(*t, 5);  // already out of the window: nothing to correct
  EXPECT_EQ(w.usage().tokens, 0);
}

TEST(QuotaTest, CancelGivesBackRequestAndTokens) {
  ManualClock clock;
  RateWindow w({1, 100}, clock);
  auto t = w.try_acquire(100);
  ASSERT_TRUE(t);
  EXPECT_FALSE(w.try_acquire(0));
  w.cancel(*t);
  EXPECT_EQ(w.usage(), (RateWindow::Usage{0, 0, {1, 100}}));
  EXPECT_TRUE(w.try_acquire(50));
}

TEST(QuotaTest, AdmissibleAtWaitsForEnoughTokensToExpire) {
  ManualClock clock;
  RateWindow w({0, 1000}, clock);
  w.try_acquire(400);
  clock.advance(seconds{10});
  w.try_acquire(400);
  clock.advance(seconds{10});
  w.try_acquire(200);
  auto t0 = clock.now() - seconds{20};
  EXPECT_EQ(w.admissible_at(300), t0 + seconds{60});
  EXPECT_EQ(w.admissible_at(700), t0 + seconds{70});
  EXPECT_EQ(w.admissible_at(0), clock.now());  // tokens + 0 <= tpm
}

TEST(QuotaTest, AcquireAllIsAllOrNothing) {
  ManualClock clock;
  RateWindow deployment({10, 0}, clock), key({1, 0}, clock);
  RateWindow* both[] = {&deployment, &key};
  ASSERT_TRUE(try_acquire_all(both, 10));
  EXPECT_FALSE(try_acquire_all(both, 10));
  EXPECT_EQ(deployment.usage().requests, 1);  // rolled back
  EXPECT_EQ(key.usage().requests, 1);
}

TEST(QuotaTest, ManyEntriesExpireInOrder) {
  ManualClock clock;
  RateWindow w({1000, 0}, clock);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(w.try_acquire(1));
    clock.advance(milliseconds{60});
  }
  EXPECT_EQ(w.usage().requests, 999);  // the first is exactly 60 s old: it has left
  EXPECT_TRUE(w.try_acquire(1));
  EXPECT_FALSE(w.try_acquire(1));
}

Headers openai_headers(const std::string& remaining_requests, const std::string& remaining_tokens) {
  return {{"x-ratelimit-limit-requests", "100"},
          {"x-ratelimit-remaining-requests", remaining_requests},
          {"x-ratelimit-reset-requests", "12s"},
          {"x-ratelimit-limit-tokens", "10000"},
          {"x-ratelimit-remaining-tokens", remaining_tokens},
          {"x-ratelimit-reset-tokens", "6m0s"}};
}

TEST(QuotaTest, ParsesOpenAiHeaders) {
  auto r = parse_rate_limit_headers(openai_headers("99", "9000"), WallClock::now());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (RateLimitReading{RateLimitReading::Kind::requests, 100, 99, Millis{12000}}));
  EXPECT_EQ(r[1], (RateLimitReading{RateLimitReading::Kind::tokens, 10000, 9000, Millis{360000}}));
}

TEST(QuotaTest, ParsesAnthropicHeaders) {
  auto wall = *parse_rfc3339("2025-01-01T12:00:00Z");
  Headers h{{"anthropic-ratelimit-requests-limit", "50"},
            {"anthropic-ratelimit-requests-remaining", "0"},
            {"anthropic-ratelimit-requests-reset", "2025-01-01T12:00:30Z"},
            {"anthropic-ratelimit-input-tokens-limit", "40000"},
            {"anthropic-ratelimit-input-tokens-remaining", "39000"},
            {"anthropic-ratelimit-input-tokens-reset", "2025-01-01T11:59:59Z"}};  // in the past: 0
  auto r = parse_rate_limit_headers(h, wall);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (RateLimitReading{RateLimitReading::Kind::requests, 50, 0, Millis{30000}}));
  EXPECT_EQ(r[1], (RateLimitReading{RateLimitReading::Kind::input_tokens, 40000, 39000, Millis{0}}));
}

TEST(QuotaTest, ParsesGenericHeadersOnlyWithoutProviderOnes) {
  auto wall = WallClock::time_point{} + seconds{2'000'000'000};
  Headers h{{"x-ratelimit-limit", "10"}, {"x-ratelimit-remaining", "3"}, {"x-ratelimit-reset", "2000000005"}};
  auto r = parse_rate_limit_headers(h, wall);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (RateLimitReading{RateLimitReading::Kind::requests, 10, 3, Millis{5000}}));
  h[2].value = "2.5";  // a delta
  EXPECT_EQ(parse_rate_limit_headers(h, wall)[0].reset, Millis{2500});
  EXPECT_TRUE(parse_rate_limit_headers({{"x-ratelimit-remaining", "x"}}, wall).empty());
}

TEST(QuotaTest, NamesAreCaseInsensitiveAndAnswersWithoutThemReadNothing) {
  auto wall = WallClock::time_point{} + seconds{2'000'000'000};
  Headers upper{{"Content-Type", "application/json"},
                {"X-RateLimit-Remaining-Requests", "7"},
                {"X-RATELIMIT-LIMIT-REQUESTS", "9"},
                {"Anthropic-RateLimit-Tokens-Remaining", "5"}};
  auto r = parse_rate_limit_headers(upper, wall);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (RateLimitReading{RateLimitReading::Kind::requests, 9, 7, std::nullopt}));
  EXPECT_EQ(r[1], (RateLimitReading{RateLimitReading::Kind::tokens, std::nullopt, 5, std::nullopt}));
  // Look-alike names that are none of them: nothing read, nothing thrown.
  EXPECT_TRUE(parse_rate_limit_headers({{"content-type", "application/json"},
                                        {"x-ratelimit", "3"},
                                        {"x-ratelimit-", "3"},
                                        {"anthropic-ratelimit-", "3"},
                                        {"x-ratelimi-remaining", "3"},
                                        {"", ""}},
                                       wall)
                  .empty());
  EXPECT_TRUE(parse_rate_limit_headers({}, wall).empty());
}

TEST(QuotaTest, HeadersSteerShareDownOverTheLastTenPercent) {
  ManualClock clock;
  RateLimitState s(clock);
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
  s.update(parse_rate_limit_headers(openai_headers("50", "9000"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
  s.update(parse_rate_limit_headers(openai_headers("5", "9000"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 0.5);  // 5% left of requests
  s.update(parse_rate_limit_headers(openai_headers("50", "250"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 0.25);  // the tightest limit wins
  EXPECT_FALSE(s.blocked_until());
}

TEST(QuotaTest, ExhaustedKeyIsBlockedUntilItsReset) {
  ManualClock clock;
  RateLimitState s(clock);
  s.update(parse_rate_limit_headers(openai_headers("0", "9000"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 0.0);
  EXPECT_EQ(s.blocked_until(), clock.now() + seconds{12});
  clock.advance(seconds{12});
  EXPECT_FALSE(s.blocked_until());
  EXPECT_DOUBLE_EQ(s.share(), 1.0);  // the reset passed: full again
}

TEST(QuotaTest, ExhaustedWithoutResetWaitsMissingReset) {
  ManualClock clock;
  RateLimitState s(clock);
  s.update({{RateLimitReading::Kind::requests, std::nullopt, 0, std::nullopt}});
  EXPECT_EQ(s.blocked_until(), clock.now() + seconds{1});
  clock.advance(seconds{1});
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
}

TEST(QuotaTest, LimitsWithoutResetAreForgottenAfterMaxAge) {
  ManualClock clock;
  RateLimitState s(clock);
  s.update({{RateLimitReading::Kind::requests, 100, 2, std::nullopt}});  // Azure sends no reset
  EXPECT_DOUBLE_EQ(s.share(), 0.2);
  clock.advance(seconds{60});
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
  EXPECT_TRUE(s.limits().empty());
}

TEST(QuotaTest, OnSendCountsDownUntilTheNextHeaders) {
  ManualClock clock;
  RateLimitState s(clock);
  s.update(parse_rate_limit_headers(openai_headers("2", "9000"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 0.2);
  s.on_send({100, 100});
  EXPECT_DOUBLE_EQ(s.share(), 0.1);
  s.on_send({100, 100});
  EXPECT_DOUBLE_EQ(s.share(), 0.0);  // the last request is out: stop before the 429
  EXPECT_EQ(s.blocked_until(), clock.now() + seconds{12});
  s.update(parse_rate_limit_headers(openai_headers("80", "9000"), WallClock::now()));
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
}

TEST(QuotaTest, ConcurrencyCapRejectsAtOnce) {
  ConcurrencyLimiter c(2);
  EXPECT_TRUE(c.try_enter());
  EXPECT_TRUE(c.try_enter());
  EXPECT_FALSE(c.try_enter());
  EXPECT_EQ(c.rejected(), 1);
  c.leave();
  EXPECT_TRUE(c.try_enter());
  c.leave();
  c.leave();
  c.leave();  // never below 0
  EXPECT_EQ(c.in_flight(), 0);
  ConcurrencyLimiter unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.try_enter());
}

TEST(QuotaTest, ConcurrencyCapHoldsUnderThreads) {
  ConcurrencyLimiter c(3);
  std::atomic<int> max_seen{0}, inside{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!c.try_enter()) continue;
        int n = ++inside;
        int m = max_seen.load();
        while (n > m && !max_seen.compare_exchange_weak(m, n)) {}
        --inside;
        c.leave();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_EQ(c.in_flight(), 0);
}

}  // namespace
}  // namespace llmfailover::policy
