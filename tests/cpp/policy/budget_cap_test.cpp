// Spend caps on calendar periods in UTC, on a manual clock (policy/budget_cap.hpp).
#include "llmfailover/policy/budget_cap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace llmfailover::policy {
namespace {

namespace chr = std::chrono;

WallTime utc(int y, unsigned m, unsigned d, int h = 0, int min = 0, int s = 0) {
  return WallTime(chr::sys_days(chr::year(y) / chr::month(m) / chr::day(d))) + chr::hours(h) + chr::minutes(min) +
         chr::seconds(s);
}

TEST(BudgetCapTest, CalendarPeriodsInUtc) {
  struct Row {
    WallTime at;
    SpendPeriod period;
    WallTime start, end;
  };
  const Row rows[] = {
      {utc(2026, 12, 5, 1, 20, 5), SpendPeriod::hour, utc(2026, 12, 5, 1), utc(2026, 12, 5, 2)},
      {utc(2026, 12, 5, 23, 59, 59), SpendPeriod::hour, utc(2026, 12, 5, 23), utc(2026, 12, 6, 0)},
      {utc(2026, 12, 5, 0, 0, 0), SpendPeriod::day, utc(2026, 12, 5), utc(2026, 12, 6)},
      {utc(2026, 12, 31, 23, 59, 59), SpendPeriod::day, utc(2026, 12, 31), utc(2027, 1, 1)},
      {utc(2026, 12, 31, 12), SpendPeriod::month, utc(2026, 12, 1), utc(2027, 1, 1)},  // year rollover
      {utc(2028, 2, 29, 12), SpendPeriod::month, utc(2028, 2, 1), utc(2028, 3, 1)},    // leap February
      {utc(2027, 2, 1, 0), SpendPeriod::month, utc(2027, 2, 1), utc(2027, 3, 1)},      // its first second
      {utc(2027, 1, 31, 23, 59, 59), SpendPeriod::month, utc(2027, 1, 1), utc(2027, 2, 1)},
  };
  for (const auto& r : rows) {
    const auto [start, end] = period_of(r.at, r.period);
    EXPECT_EQ(start, r.start) << format_utc(r.at) << " " << to_string(r.period);
    EXPECT_EQ(end, r.end) << format_utc(r.at) << " " << to_string(r.period);
  }
  EXPECT_EQ(format_utc(utc(2027, 1, 1)), "2027-01-01T00:00:00Z");
}

TEST(BudgetCapTest, ParsesPeriodNames) {
  EXPECT_EQ(parse_spend_period("hour"), SpendPeriod::hour);
  EXPECT_EQ(parse_spend_period("day"), SpendPeriod::day);
  EXPECT_EQ(parse_spend_period("month"), SpendPeriod::month);
  EXPECT_EQ(parse_spend_period("week"), std::nullopt);
  EXPECT_EQ(parse_spend_period("Day"), std::nullopt);
}

TEST(BudgetCapTest, UtcClockFollowsTheInjectedClock) {
  ManualClock clock;
  UtcClock wall(clock, utc(2026, 12, 5, 23, 59, 30));
  EXPECT_EQ(wall.now(), utc(2026, 12, 5, 23, 59, 30));
  clock.advance(chr::seconds(45));
  EXPECT_EQ(wall.now(), utc(2026, 12, 6, 0, 0, 15));
  EXPECT_EQ(wall.steady_at(utc(2026, 12, 6)), clock.now() - chr::seconds(15));
}

TEST(BudgetCapTest, ReachedAtTheLimitAndResetAtThePeriodEnd) {
  ManualClock clock;
  UtcClock wall(clock, utc(2026, 12, 5, 22));
  SpendCap cap(1.0, SpendPeriod::day, wall);
  cap.add(0.6);
  EXPECT_FALSE(cap.reached());
  cap.add(0.4);
  EXPECT_TRUE(cap.reached());  // spent >= limit
  auto s = cap.state();
  EXPECT_DOUBLE_EQ(s.spent_usd, 1.0);
  EXPECT_EQ(s.start, utc(2026, 12, 5));
  EXPECT_EQ(s.end, utc(2026, 12, 6));
  clock.advance(chr::hours(2) - chr::seconds(1));  // 23:59:59: still today
  EXPECT_TRUE(cap.reached());
  clock.advance(chr::seconds(1));  // midnight UTC: a new day starts at 0
  EXPECT_FALSE(cap.reached());
  s = cap.state();
  EXPECT_DOUBLE_EQ(s.spent_usd, 0.0);
  EXPECT_EQ(s.start, utc(2026, 12, 6));
  EXPECT_EQ(s.end, utc(2026, 12, 7));
}

TEST(BudgetCapTest, MonthRollsOverOnTheFirst) {
  ManualClock clock;
  UtcClock wall(clock, utc(2027, 1, 31, 23));
  SpendCap cap(5.0, SpendPeriod::month, wall);
  cap.add(7.5);
  cap.add_unpriced();
  EXPECT_TRUE(cap.reached());
  EXPECT_EQ(cap.state().unpriced, 1u);
  clock.advance(chr::minutes(59));
  EXPECT_TRUE(cap.reached());
  clock.advance(chr::minutes(1));  // February 1st
  EXPECT_FALSE(cap.reached());
  EXPECT_EQ(cap.state().unpriced, 0u);
  EXPECT_EQ(cap.state().end, utc(2027, 3, 1));
}

TEST(BudgetCapTest, IgnoresAmountsThatAreNotSpend) {
  ManualClock clock;
  UtcClock wall(clock, utc(2026, 1, 1));
  SpendCap cap(1.0, SpendPeriod::hour, wall);
  cap.add(-5);
  cap.add(std::nan(""));
  cap.add(std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(cap.state().spent_usd, 0.0);
  EXPECT_THROW(SpendCap(0, SpendPeriod::hour, wall), std::invalid_argument);
  EXPECT_THROW(SpendCap(std::nan(""), SpendPeriod::hour, wall), std::invalid_argument);
}

}  // namespace
}  // namespace llmfailover::policy
