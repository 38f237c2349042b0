// budget_cap.cpp — calendar periods in UTC and the spend cap (budget_cap.hpp).
#include "llmfailover/policy/budget_cap.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace llmfailover::policy {

namespace chr = std::chrono;

std::string_view to_string(SpendPeriod p) noexcept {
  switch (p) {
    case SpendPeriod::hour: return "hour";
    case SpendPeriod::day: return "day";
    case SpendPeriod::month: return "month";
  }
  return "day";
}

std::optional<SpendPeriod> parse_spend_period(std::string_view name) noexcept {
  for (auto p : {SpendPeriod::hour, SpendPeriod::day, SpendPeriod::month})
    if (name == to_string(p)) return p;
  return std::nullopt;
}

std::pair<WallTime, WallTime> period_of(WallTime t, SpendPeriod p) {
  switch (p) {
    case SpendPeriod::hour: {
      const auto h = chr::floor<chr::hours>(t);
      return {h, h + chr::hours(1)};
    }
    case SpendPeriod::day: {
      const auto d = chr::floor<chr::days>(t);
      return {d, d + chr::days(1)};
    }
    case SpendPeriod::month: {
      const chr::year_month_day ymd{chr::floor<chr::days>(t)};
      const auto first = ymd.year() / ymd.month() / chr::day(1);
      const auto next = first + chr::months(1);  // December + 1 month is next year's January
      return {WallTime(chr::sys_days(first)), WallTime(chr::sys_days(next))};
    }
  }
  return {t, t};
}

std::string format_utc(WallTime t) {
  const auto d = chr::floor<chr::days>(t);
  const chr::year_month_day ymd{d};
  const chr::hh_mm_ss hms{t - d};
  char out[40];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return out;
}

UtcClock::UtcClock(const TimeSource& clock, chr::system_clock::time_point anchor)
    : clock_(clock), anchor_(anchor), at_(clock.now()) {}

WallTime UtcClock::now() const {
  return chr::floor<chr::seconds>(anchor_ + chr::duration_cast<chr::system_clock::duration>(clock_.now() - at_));
}

Clock::time_point UtcClock::steady_at(WallTime t) const {
  return at_ + chr::duration_cast<Clock::duration>(t - anchor_);
}

SpendCap::SpendCap(double limit_usd, SpendPeriod period, const UtcClock& wall)
    : limit_(limit_usd), period_(period), wall_(wall) {
  if (!(std::isfinite(limit_usd) && limit_usd > 0))
    throw std::invalid_argument("SpendCap: the limit must be a finite number of USD > 0");
}

void SpendCap::roll(WallTime now) const {
  if (now < end_) return;
  end_ = period_of(now, period_).second;
  spent_ = 0;
  unpriced_ = 0;
}

void SpendCap::add(double usd) {
  if (!(std::isfinite(usd) && usd > 0)) return;
  std::lock_guard lock(mutex_);
  roll(wall_.now());
  spent_ += usd;
}

void SpendCap::add_unpriced() {
  std::lock_guard lock(mutex_);
  roll(wall_.now());
  ++unpriced_;
}

bool SpendCap::reached() const {
  std::lock_guard lock(mutex_);
  roll(wall_.now());
  return spent_ >= limit_;
}

SpendState SpendCap::state() const {
  std::lock_guard lock(mutex_);
  const WallTime now = wall_.now();
  roll(now);
  SpendState s;
  s.limit_usd = limit_;
  s.spent_usd = spent_;
  s.unpriced = unpriced_;
  s.period = period_;
  std::tie(s.start, s.end) = period_of(now, period_);
  s.reached = spent_ >= limit_;
  return s;
}

}  // namespace llmfailover::policy
