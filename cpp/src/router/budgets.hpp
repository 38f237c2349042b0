// budgets.hpp (private) — the router's spend caps (policy/budget_cap.hpp): which caps cover a
// target (its group's, its key's) or a tag, what a call spent, and the refusal of a call no
// target may serve for budget (docs/config.md "Budgets").
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "llmfailover/metrics.hpp"
#include "llmfailover/policy/budget_cap.hpp"

namespace llmfailover {

struct Target;

struct Budget {
  Budget(SpendBudgetConfig c, const policy::UtcClock& wall)
      : config(std::move(c)), cap(config.usd, *policy::parse_spend_period(config.period), wall) {}
  SpendBudgetConfig config;
  policy::SpendCap cap;
  // "group 'gpt' spent $5.0100 of $5.00 this day (2026-12-05T00:00:00Z to 2026-12-06T00:00:00Z)"
  std::string describe() const;
};

class Budgets {
 public:
  // `budgets` are valid (parse_config checked them); the wall clock is anchored at `anchor`.
  Budgets(const std::vector<SpendBudgetConfig>& budgets, const TimeSource& time,
          std::chrono::system_clock::time_point anchor = std::chrono::system_clock::now());
  Budgets(const Budgets&) = delete;
  Budgets& operator=(const Budgets&) = delete;

  bool empty() const noexcept { return all_.empty(); }
  // The first reached cap covering `t` (its group's, then its key's); nullptr when none. O(caps of t).
  const Budget* reached(const Target& t) const;
  const Budget* reached_tag(const std::string& tag) const;
  // The injected clock's time at which `b`'s period ends.
  Clock::time_point period_end(const Budget& b) const;
  // A call's spend: `usd` (its priced cost plus waste) to the caps of `t` and of `tag`; `priced`
  // false: its answer's price was unknown (counted apart). True when a cap of `t` became reached.
  bool charge(const Target* t, const std::string& tag, double usd, bool priced);
  std::vector<metrics::BudgetSnapshot> snapshot() const;

 private:
  std::vector<Budget*> of(const Target& t) const;

  policy::UtcClock wall_;
  std::deque<Budget> all_;  // config order; stable addresses
  std::map<std::string, std::vector<Budget*>> group_, key_, tag_;
};

}  // namespace llmfailover
