#include "llmfailover/policy/budget.hpp"

#include <stdexcept>

namespace llmfailover::policy {

namespace {

// Finagle scales token amounts by 1000 so that a 20% budget costs whole tokens (resilience.md 4.4).
constexpr double kScale = 1000.0;

void validate(const BudgetPolicyConfig& cfg) {
  if (cfg.ttl < std::chrono::seconds{1} || cfg.ttl > std::chrono::seconds{60})
    throw std::invalid_argument("retry budget: ttl must be within [1s, 60s]");
  if (!(cfg.percent_can_retry >= 0 && cfg.percent_can_retry <= 1000))
    throw std::invalid_argument("retry budget: percent_can_retry must be within [0, 1000]");
  if (!(cfg.min_retries_per_sec >= 0)) throw std::invalid_argument("retry budget: min_retries_per_sec must be >= 0");
}

}  // namespace

RetryBudget::RetryBudget(const BudgetPolicyConfig& cfg, const TimeSource& clock)
    : clock_(clock), slice_len_(std::chrono::duration_cast<Clock::duration>(cfg.ttl) / kSlices) {
  validate(cfg);
  empty_ = cfg.percent_can_retry == 0 && cfg.min_retries_per_sec == 0;
  if (cfg.percent_can_retry > 0) {
    deposit_ = static_cast<std::int64_t>(kScale);
    withdraw_ = static_cast<std::int64_t>(kScale / cfg.percent_can_retry);
  }
  double ttl_seconds = std::chrono::duration<double>(cfg.ttl).count();
  reserve_ = static_cast<std::int64_t>(cfg.min_retries_per_sec * ttl_seconds * static_cast<double>(withdraw_));
}

std::int64_t RetryBudget::slice_index() const { return clock_.now().time_since_epoch() / slice_len_; }

// Only slices of the last kSlices periods (the current one included) are in the window.
std::int64_t RetryBudget::sum_locked(std::int64_t now_index) const {
  std::int64_t sum = 0;
  for (const auto& s : slices_)
    if (s.index > now_index - kSlices && s.index <= now_index) sum += s.tokens;
  return sum;
}

void RetryBudget::add_locked(std::int64_t tokens) {
  auto index = slice_index();
  auto& s = slices_[static_cast<std::size_t>(index % kSlices)];
  if (s.index != index) s = Slice{0, index};  // the slot held an expired slice
  s.tokens += tokens;
}

void RetryBudget::deposit() {
  if (empty_ || deposit_ == 0) return;
  std::lock_guard lock(mutex_);
  add_locked(deposit_);
}

bool RetryBudget::try_withdraw() {
  if (empty_) return false;
  std::lock_guard lock(mutex_);
  if (sum_locked(slice_index()) + reserve_ < withdraw_) return false;
  add_locked(-withdraw_);
  return true;
}

double RetryBudget::balance() const {
  if (empty_) return 0;
  std::lock_guard lock(mutex_);
  return static_cast<double>(sum_locked(slice_index()) + reserve_) / static_cast<double>(withdraw_);
}

}  // namespace llmfailover::policy
