// ramp.hpp — gradual return of a recovered target (resilience.md 8.9).
//
// A target whose breaker closes again gets only a fraction of its normal load-balancer share, in
// discrete steps (default 5% -> 25% -> 50% -> 100%): Envoy slow start in steps, gated like a
// Flagger canary. Each step is held until BOTH `step_hold` has passed AND `step_min_requests`
// results were seen in it (gating on counts too avoids abrupt jumps at low traffic), and advances
// only if the step's failure rate < failure_rate_threshold and slow rate < slow_call_rate_threshold.
// Once a step has `step_min_requests` results, a rate at or over a threshold is a breach, at once
// (no need to wait out the hold). Reaching a step whose fraction is >= 1.0 (or leaving the last
// step) finishes the ramp.
//
// On `breach` the owner re-opens the breaker with attempts + 1 (a longer wait); the next recovery
// calls start() again, which begins at the first step. Ramp itself never touches the breaker.
//
// Call order: start() when the breaker goes HALF_OPEN -> CLOSED; then on_result() for every
// result of the target while ramping and tick() now and then (advancing needs time, not only
// results); factor() multiplies the target's weight. stop() abandons a ramp.
// Thread safety: all members are safe to call concurrently (one internal mutex).
// Cost: O(1).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/clock.hpp"

namespace llmfailover {

// The settings of this policy as a config gives them (config.hpp composes them into GroupPolicy).
struct RampPolicyConfig {
  std::vector<double> steps{0.05, 0.25, 0.50, 1.00};
  Millis step_hold{30000};
  int step_min_requests = 20;
  double failure_rate_threshold = 50;
  double slow_call_rate_threshold = 100;
  bool operator==(const RampPolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

class Ramp {
 public:
  enum class Verdict { hold, advanced, finished, breach };

  // Throws std::invalid_argument unless the steps are in (0, 1] and non-decreasing, the
  // thresholds in (0, 100] and step_min_requests >= 0.
  Ramp(const RampPolicyConfig& cfg, const TimeSource& clock);
  Ramp(const Ramp&) = delete;
  Ramp& operator=(const Ramp&) = delete;

  // Enters step 0 (restarts a ramp in progress). With no step below 1.0 there is nothing to ramp.
  void start();
  void stop();
  bool ramping() const;
  // The weight multiplier: the current step's fraction while ramping, else 1.0.
  double factor() const;
  // The current step (0-based); -1 when not ramping.
  int step() const;

  // One result of the target. `duration` > `slow_threshold` makes it slow (the router passes time
  // to first token and the breaker's slow_call_duration). Returns hold when not ramping.
  Verdict on_result(bool failure, Millis duration, Millis slow_threshold);
  // Advances on time alone when the step already has its results.
  Verdict tick();

  // Why the last non-hold verdict happened, e.g. "ramp step 2 (50%)" or
  // "ramp breach at step 1 (25%): failure_rate 60% >= 50%".
  std::string reason() const;

 private:
  Verdict evaluate_locked(Clock::time_point now);
  Verdict advance_locked(Clock::time_point now);
  bool breached_locked();
  std::string step_name_locked(int step) const;

  const RampPolicyConfig cfg_;
  const TimeSource& clock_;
  mutable std::mutex mutex_;
  bool ramping_ = false;
  int step_ = -1;
  Clock::time_point step_since_{};
  int requests_ = 0;
  int failed_ = 0;
  int slow_ = 0;
  std::string reason_;
};

std::string_view to_string(Ramp::Verdict verdict) noexcept;

}  // namespace llmfailover::policy
