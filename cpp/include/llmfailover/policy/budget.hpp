// budget.hpp — a retry budget: retries and hedges may add at most a fixed share of load.
//
// Finagle's RetryBudget verbatim (resilience.md 4.4, 8.4). A leaky token bucket whose entries
// expire after `ttl`:
//   deposit  = 1000 tokens per new logical request        (0 when percent_can_retry = 0)
//   withdraw = 1000 / percent_can_retry tokens per retry   (1 when percent_can_retry = 0)
//   reserve  = min_retries_per_sec * ttl_seconds * withdraw, always present and never expiring
//   try_withdraw() succeeds iff the bucket (deposits - withdrawals in the last ttl + reserve) holds
//   at least `withdraw`; balance() = tokens / withdraw, i.e. how many retries are allowed now.
// With the defaults (20%, 10/s, 10 s) each request adds 0.2 retries on top of a floor of 100
// retries per 10 s, so an outage cannot multiply the load on an upstream: N failed requests cause
// at most 0.2*N + 100 retries per ttl. percent_can_retry = 0 and min_retries_per_sec = 0 together
// give an empty budget (no retries at all).
//
// Call order: deposit() once for every new logical request (never for its retries); then
// try_withdraw() before every retry AND every hedge; a denied withdrawal means "return the last
// error now". Withdrawals expire like deposits, which is what makes the reserve a per-second rate.
// What counts as a retry is the caller's rule; the router's (router.hpp): an attempt on a target
// the call already tried. Moving on to an untried target is not a retry and never withdraws.
//
// Like Finagle's WindowedAdder the ttl is cut into 10 slices: an entry leaves the window between
// 0.9 * ttl and ttl after it was made (when its slice falls out).
//
// Time comes only from the injected TimeSource (resilience.md 8.0).
// Thread safety: all members are safe to call concurrently (one internal mutex).
// Cost: O(1) per call (10 slices).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "llmfailover/clock.hpp"

namespace llmfailover {

// The settings of this policy as a config gives them (config.hpp composes them into GroupPolicy).
struct BudgetPolicyConfig {
  double percent_can_retry = 0.2;  // Finagle RetryBudget
  double min_retries_per_sec = 10;
  Millis ttl{10000};
  bool operator==(const BudgetPolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

class RetryBudget {
 public:
  // Throws std::invalid_argument unless 1 s <= ttl <= 60 s, 0 <= percent_can_retry <= 1000 and
  // min_retries_per_sec >= 0 (Finagle's limits).
  RetryBudget(const BudgetPolicyConfig& cfg, const TimeSource& clock);
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  void deposit();
  bool try_withdraw();
  // Retries allowed right now (fractional: tokens / withdraw cost).
  double balance() const;

 private:
  static constexpr int kSlices = 10;
  struct Slice {
    std::int64_t tokens = 0;
    std::int64_t index = -1;  // which slice period of the clock this slice holds
  };

  std::int64_t slice_index() const;
  std::int64_t sum_locked(std::int64_t now_index) const;
  void add_locked(std::int64_t tokens);

  const TimeSource& clock_;
  bool empty_ = false;
  std::int64_t deposit_ = 0;
  std::int64_t withdraw_ = 1;
  std::int64_t reserve_ = 0;
  Clock::duration slice_len_;
  mutable std::mutex mutex_;
  std::array<Slice, kSlices> slices_{};
};

}  // namespace llmfailover::policy
