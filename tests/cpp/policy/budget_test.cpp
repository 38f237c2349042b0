// Finagle RetryBudget token math with a manual clock (resilience.md 4.4, 8.4, 8.12).
#include "llmfailover/policy/budget.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace llmfailover::policy {
namespace {

using std::chrono::seconds;

int withdraw_all(RetryBudget& b, int limit = 100000) {
  int n = 0;
  while (n < limit && b.try_withdraw()) ++n;
  return n;
}

TEST(BudgetTest, ReserveIsMinRetriesPerSecTimesTtl) {
  ManualClock clock;
  RetryBudget b(BudgetPolicyConfig{}, clock);  // 20%, 10/s, 10 s
  EXPECT_DOUBLE_EQ(b.balance(), 100);
  EXPECT_EQ(withdraw_all(b), 100);
  EXPECT_DOUBLE_EQ(b.balance(), 0);
  EXPECT_FALSE(b.try_withdraw());
}

TEST(BudgetTest, EachRequestAddsOneFifthOfARetry) {
  ManualClock clock;
  RetryBudget b({0.2, 0, Millis{10000}}, clock);
  EXPECT_DOUBLE_EQ(b.balance(), 0);
  EXPECT_FALSE(b.try_withdraw());
  for (int i = 0; i < 5; ++i) b.deposit();
  EXPECT_DOUBLE_EQ(b.balance(), 1);
  for (int i = 0; i < 95; ++i) b.deposit();
  EXPECT_DOUBLE_EQ(b.balance(), 20);
  EXPECT_EQ(withdraw_all(b), 20);
}

TEST(BudgetTest, DepositsExpireAfterTtl) {
  ManualClock clock;
  RetryBudget b({0.2, 0, Millis{10000}}, clock);
  for (int i = 0; i < 50; ++i) b.deposit();
  clock.advance(seconds{9});
  EXPECT_DOUBLE_EQ(b.balance(), 10);
  clock.advance(seconds{1});
  EXPECT_DOUBLE_EQ(b.balance(), 0);
}

TEST(BudgetTest, WithdrawalsExpireSoTheReserveIsARate) {
  ManualClock clock;
  RetryBudget b(BudgetPolicyConfig{}, clock);
  EXPECT_EQ(withdraw_all(b), 100);
  clock.advance(seconds{5});
  EXPECT_EQ(withdraw_all(b), 0);
  clock.advance(seconds{5});
  EXPECT_EQ(withdraw_all(b), 100);  // 10 per second over the 10 s ttl
}

TEST(BudgetTest, OutageCannotMultiplyLoad) {
  // 100 requests all fail and each wants 3 retries: at most 20 + the reserve of 100 are allowed.
  ManualClock clock;
  RetryBudget b(BudgetPolicyConfig{}, clock);
  int retries = 0;
  for (int i = 0; i < 100; ++i) {
    b.deposit();
    for (int r = 0; r < 3; ++r) retries += b.try_withdraw() ? 1 : 0;
  }
  EXPECT_EQ(retries, 120);
  // Without the reserve the retries are exactly 20% of the requests.
  RetryBudget ratio_only({0.2, 0, Millis{10000}}, clock);
  retries = 0;
  for (int i = 0; i < 1000; ++i) {
    ratio_only.deposit();
    for (int r = 0; r < 3; ++r) retries += ratio_only.try_withdraw() ? 1 : 0;
  }
  EXPECT_EQ(retries, 200);
}

TEST(BudgetTest, OnlyMinRetriesCostsOneTokenEach) {
  ManualClock clock;
  RetryBudget b({0, 2, Millis{5000}}, clock);  // percent 0: deposits earn nothing
  b.deposit();
  EXPECT_DOUBLE_EQ(b.balance(), 10);
  EXPECT_EQ(withdraw_all(b), 10);
}

TEST(BudgetTest, EmptyBudgetNeverRetries) {
  ManualClock clock;
  RetryBudget b({0, 0, Millis{10000}}, clock);
  b.deposit();
  EXPECT_FALSE(b.try_withdraw());
  EXPECT_DOUBLE_EQ(b.balance(), 0);
}

TEST(BudgetTest, PercentAboveOneAllowsSeveralRetriesPerRequest) {
  ManualClock clock;
  RetryBudget b({2.0, 0, Millis{10000}}, clock);  // withdraw = 500
  b.deposit();
  EXPECT_DOUBLE_EQ(b.balance(), 2);
}

TEST(BudgetTest, RejectsOutOfRangeConfig) {
  ManualClock clock;
  EXPECT_THROW(RetryBudget({0.2, 10, Millis{500}}, clock), std::invalid_argument);
  EXPECT_THROW(RetryBudget({0.2, 10, Millis{61000}}, clock), std::invalid_argument);
  EXPECT_THROW(RetryBudget({-0.1, 10, Millis{10000}}, clock), std::invalid_argument);
  EXPECT_THROW(RetryBudget({0.2, -1, Millis{10000}}, clock), std::invalid_argument);
}

}  // namespace
}  // namespace llmfailover::policy
