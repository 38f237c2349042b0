// budget_cap.hpp — spend caps: USD a group, an API key or a user tag may spend per calendar
// period (issue 15 point 3). Not the RETRY budget (budget.hpp), which caps retries, not money.
//
// A SpendCap adds up what calls spent (the serving attempt's priced cost plus its waste: attempts
// the provider billed whose answer was not used) in the current period and says when it is
// reached: spent >= limit. The router takes a target whose group's or key's cap is reached out of
// its balancer until the period ends, and refuses a call whose tag is over its cap, or whose every
// target is, before any upstream attempt (docs/config.md "Budgets").
//
// Periods are calendar periods in UTC, as billing dashboards count them (OpenAI's and Anthropic's
// usage limits reset monthly on the first at 00:00 UTC): hour [hh:00, hh+1:00), day [00:00,
// next 00:00), month [the 1st 00:00, the next month's 1st 00:00). A new period starts at 0.
// Time comes only from the injected TimeSource, mapped to UTC by a UtcClock anchored once
// (wall = anchor + (clock.now() - clock's time at the anchor)), so rollovers are unit-tested on a
// ManualClock and a steady clock's monotonicity carries over to the periods.
//
// The cap is soft by the calls in flight: spend is known when a call ends, so calls admitted while
// under the cap may take it past by their own cost. Answers whose price is unknown add nothing
// (never 0 presented as a price): they are counted apart (`unpriced`) so a snapshot shows it.
// Thread safety: all members are safe to call concurrently (one internal mutex). Cost: O(1).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "llmfailover/clock.hpp"

namespace llmfailover {

// One entry of the config's `budgets:` list (docs/config.md "Budgets").
struct SpendBudgetConfig {
  std::string scope;   // group | key | tag
  std::string name;    // the group, the target ("<deployment>" or "<deployment>#key<N>"), the tag
  double usd = 0;      // the cap, > 0
  std::string period;  // hour | day | month
  bool operator==(const SpendBudgetConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

enum class SpendPeriod { hour, day, month };
std::string_view to_string(SpendPeriod p) noexcept;
std::optional<SpendPeriod> parse_spend_period(std::string_view name) noexcept;

using WallTime = std::chrono::sys_seconds;

// The calendar period (UTC) holding `t`: [first, second).
std::pair<WallTime, WallTime> period_of(WallTime t, SpendPeriod p);
// "2026-12-05T00:00:00Z"
std::string format_utc(WallTime t);

// The injected clock read as UTC: anchor + (clock.now() - clock.now() when made).
class UtcClock {
 public:
  UtcClock(const TimeSource& clock, std::chrono::system_clock::time_point anchor);
  WallTime now() const;
  // The injected clock's time at a wall time (for blocks that end with a period).
  Clock::time_point steady_at(WallTime t) const;

 private:
  const TimeSource& clock_;
  std::chrono::system_clock::time_point anchor_;
  Clock::time_point at_;
};

struct SpendState {
  double limit_usd = 0, spent_usd = 0;
  std::uint64_t unpriced = 0;  // calls in this period whose price was unknown (not counted)
  SpendPeriod period = SpendPeriod::day;
  WallTime start{}, end{};  // the current period
  bool reached = false;     // spent >= limit
};

class SpendCap {
 public:
  // `wall` must outlive the cap. `limit_usd` > 0.
  SpendCap(double limit_usd, SpendPeriod period, const UtcClock& wall);

  void add(double usd);  // negative, NaN or infinite amounts are ignored
  void add_unpriced();
  bool reached() const;
  SpendState state() const;

 private:
  void roll(WallTime now) const;  // under mutex_: a new period starts at 0

  const double limit_;
  const SpendPeriod period_;
  const UtcClock& wall_;
  mutable std::mutex mutex_;
  mutable WallTime end_{};
  mutable double spent_ = 0;
  mutable std::uint64_t unpriced_ = 0;
};

}  // namespace llmfailover::policy
