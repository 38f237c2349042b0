// breaker.hpp — the per-target circuit breaker.
//
// resilience4j's CircuitBreakerStateMachine verbatim (resilience.md 5.1, 5.2, 8.5) plus Finagle's
// hybrid trip (resilience.md 4.5):
//  - States CLOSED, OPEN, HALF_OPEN and the special DISABLED, FORCED_OPEN, METRICS_ONLY.
//  - CLOSED records results in a count-based (last N calls) or time-based (last N epoch seconds)
//    window and opens when failure_rate >= threshold or slow_call_rate >= threshold, once at least
//    minimum_calls are buffered (count-based clamps minimum_calls to the window size). A call is
//    slow when its duration > slow_call_duration. Finagle's rule is added: `consecutive_failures`
//    failures in a row also open it (LLM endpoints fail hard and traffic per target is low).
//  - OPEN rejects calls for the open wait, then becomes HALF_OPEN. The wait grows with `attempts`
//    (+1 on every entry to OPEN or FORCED_OPEN; CLOSED resets it to 0, HALF_OPEN keeps it):
//      wait = min(open_cap, open_base * open_multiplier^(attempts-1) * (1 + open_jitter*(2u-1)))
//    with u drawn from the injected Random (only when open_jitter > 0). open_cap is a hard maximum.
//  - HALF_OPEN hands out `half_open_permits` permits and records into a fresh count window of that
//    size; it decides after min(minimum_calls, permits) calls: over a threshold -> OPEN, else
//    CLOSED. After max_wait_in_half_open (if > 0) without a decision it goes back to OPEN.
//  - Transitions are evaluated lazily from the clock (no timers, no threads): OPEN -> HALF_OPEN
//    and HALF_OPEN -> OPEN (max wait) happen in the first call at or after next_transition_at().
//    An owner that needs the change without traffic (the ramp, resilience.md 8.9) polls state()
//    at next_transition_at(), which plays the role of resilience4j's scheduled timer.
//  - Allowed transitions: any state to itself (re-entered silently, no event), any state to
//    DISABLED, METRICS_ONLY or FORCED_OPEN, and the rest of resilience4j's table; CLOSED->HALF_OPEN,
//    METRICS_ONLY->OPEN and METRICS_ONLY->HALF_OPEN throw std::logic_error and change nothing.
//
// Classification is the caller's (resilience.md 8.1): a result that should not count is reported
// with on_ignored() (releases a half-open permit), a non-error with on_success(). Results arriving
// while OPEN (calls in flight when it opened) are recorded but never move the state.
//
// Call order, per call: try_acquire(); if true, exactly one of on_success / on_failure /
// on_ignored (or release() if the call never started).
//
// Events go to one listener, called after the internal lock is released (never under it), in the
// order produced by one call; calls racing on several threads may deliver their events in either
// order. A listener that throws is ignored.
// Thread safety: all members are safe to call concurrently (one internal mutex).
// Cost: O(1) per call for count windows, O(window_size) for time windows (60 buckets by default).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/clock.hpp"

namespace llmfailover {

// The settings of this policy as a config gives them (config.hpp composes them into GroupPolicy).
struct BreakerPolicyConfig {
  enum class Window { count_based, time_based };
  Window window = Window::time_based;
  int window_size = 60;  // calls, or seconds
  int minimum_calls = 10;
  double failure_rate_threshold = 50;     // percent, >=
  double slow_call_rate_threshold = 100;  // percent, >=
  Millis slow_call_duration{30000};
  int consecutive_failures = 5;  // 0 = off
  Millis open_base{5000};        // open wait = base * multiplier^(attempts-1), capped, jittered
  double open_multiplier = 2.0;
  Millis open_cap{10000};     // small: a recovered target is back within ~15 s under light traffic
  double open_jitter = 0.1;   // +- fraction
  int half_open_permits = 1;  // a half-open trial is one attempt
  Millis max_wait_in_half_open{60000};
  Millis fatal_target_open{600000};      // 401/403: forced open this long
  std::string initial_state = "closed";  // closed | disabled | metrics_only | forced_open
  bool operator==(const BreakerPolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

enum class BreakerState { closed, open, half_open, disabled, forced_open, metrics_only };
// "closed", "open", "half_open", "disabled", "forced_open", "metrics_only".
std::string_view to_string(BreakerState state) noexcept;
// The inverse; nullopt for an unknown name.
std::optional<BreakerState> breaker_state_from_string(std::string_view name) noexcept;

struct BreakerEvent {
  enum class Kind { state_transition, failure_rate_exceeded, slow_call_rate_exceeded, reset };
  Kind kind = Kind::state_transition;
  BreakerState from = BreakerState::closed;  // state_transition only
  BreakerState to = BreakerState::closed;    // state_transition only
  double rate = -1;                          // the rate for the *_exceeded events, in percent
  std::string reason;                        // e.g. "failure_rate 60% >= 50%"
  bool operator==(const BreakerEvent&) const = default;
};
std::string_view to_string(BreakerEvent::Kind kind) noexcept;
std::string to_string(const BreakerEvent& event);

struct BreakerMetrics {
  double failure_rate = -1;  // percent; -1 = unknown (fewer than the minimum calls buffered)
  double slow_rate = -1;     // percent; -1 likewise
  int buffered = 0;          // calls in the window
  int failed = 0;
  int slow = 0;  // slow successes and slow failures
  int successes = 0;
  std::int64_t not_permitted = 0;  // rejected acquisitions in the current state's metrics
  bool operator==(const BreakerMetrics&) const = default;
};

namespace detail {

// The sliding window of one state: the last `size` calls, or the calls of the last `size` epoch
// seconds of the clock (resilience4j SlidingTimeWindowMetrics: one partial bucket per second).
class CallWindow {
 public:
  CallWindow(bool time_based, int size, int minimum_calls);
  void record(bool failure, bool slow, Clock::time_point now);
  BreakerMetrics metrics(Clock::time_point now);  // not_permitted left 0
  int minimum_calls() const noexcept { return minimum_calls_; }

 private:
  struct Bucket {
    int calls = 0, failed = 0, slow = 0;
    std::int64_t second = 0;
  };
  void evict(std::int64_t second);
  void add(Bucket& b, int sign);

  bool time_based_;
  int minimum_calls_;
  std::vector<Bucket> buckets_;
  std::size_t next_ = 0;  // count-based: the slot the next call overwrites
  Bucket total_;
};

}  // namespace detail

class CircuitBreaker {
 public:
  using Metrics = BreakerMetrics;
  using Listener = std::function<void(const BreakerEvent&)>;

  // Starts in cfg.initial_state ("closed", "disabled", "metrics_only" or "forced_open") without an
  // event. Throws std::invalid_argument for an invalid config. `clock` and `random` must outlive it.
  CircuitBreaker(const BreakerPolicyConfig& cfg, const TimeSource& clock, Random& random);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // May a call go now? Takes a permit in HALF_OPEN; a refusal counts in not_permitted.
  bool try_acquire();
  // Would try_acquire() succeed now? Takes nothing, counts nothing.
  bool can_acquire();
  // Gives back a half-open permit taken by try_acquire() for a call that was not made.
  void release();
  void on_success(Millis duration);
  void on_failure(Millis duration);
  // A result that must not count (resilience4j "ignored"): releases the half-open permit.
  void on_ignored();

  BreakerState state();
  Metrics metrics();
  int attempts();
  int consecutive_failures();
  // OPEN entered by cool_down() (not a trip).
  bool cooling();
  // When the state will change by itself: the end of the open wait, or the end of
  // max_wait_in_half_open; nullopt otherwise (FORCED_OPEN, CLOSED, ...). Cleared by force_open etc.
  std::optional<Clock::time_point> next_transition_at();
  // The open wait for a given attempt count (draws the jitter from Random).
  Millis open_wait(int attempts);

  // resilience4j transitionToOpenStateFor / ...Until: OPEN with an explicit wait; attempts + 1.
  void open_for(Millis wait, std::string reason = "open_for");
  void open_until(Clock::time_point until, std::string reason = "open_until");
  // OPEN with `attempts` set explicitly and the wait computed from it. For owners that remember
  // trips across CLOSED, e.g. a breach during the ramp (resilience.md 8.9: "OPEN with attempts+1").
  void trip(int attempts, std::string reason);
  // A rate-limit cooldown (resilience.md 8.1 "key-level cooldown via open_for(reset)"): OPEN for
  // `wait` without counting a failure and without growing attempts. Entered from CLOSED it returns
  // straight to CLOSED with its window intact (a 429 says nothing about health); from HALF_OPEN it
  // returns to HALF_OPEN; while OPEN it only extends the wait. Does nothing (returns false) in
  // FORCED_OPEN, DISABLED and METRICS_ONLY, where the breaker is not in charge, or for wait <= 0.
  bool cool_down(Millis wait, std::string reason);
  void force_open(std::string reason = "force_open");
  void disable();
  void metrics_only();
  // CLOSED with fresh metrics and attempts 0; a transition event (if not CLOSED) and one reset event.
  void reset();
  // Any legal transition (see the table above); throws std::logic_error for an illegal one.
  void transition_to(BreakerState to, std::string reason = "transition_to");

  void set_listener(Listener listener);

 private:
  class Scope;  // holds the lock; delivers the events after unlocking
  struct Outcome;

  void advance_locked(Clock::time_point now);
  void enter_locked(BreakerState to, int attempts, std::string reason);
  void enter_open_locked(int attempts, Clock::time_point until, std::string reason);
  void record_locked(bool failure, Millis duration);
  Outcome evaluate_locked();
  void check_closed_locked();
  void check_half_open_locked();
  void check_metrics_only_locked();
  void emit_exceeded_locked(const Outcome& o);
  bool transition_allowed(BreakerState from, BreakerState to) const noexcept;
  bool permitted_locked() const noexcept;
  detail::CallWindow fresh_window() const;

  const BreakerPolicyConfig cfg_;
  const TimeSource& clock_;
  Random& random_;

  std::mutex mutex_;
  BreakerState state_ = BreakerState::closed;
  detail::CallWindow window_;
  std::int64_t not_permitted_ = 0;
  int attempts_ = 0;
  int consecutive_ = 0;
  int permits_ = 0;                                // HALF_OPEN: permits left
  Clock::time_point open_until_{};                 // OPEN
  BreakerState resume_ = BreakerState::half_open;  // OPEN: the state after the wait
  bool cooling_ = false;                           // OPEN: entered by cool_down()
  Clock::time_point half_open_since_{};            // HALF_OPEN
  bool failure_exceeded_ = false;                  // METRICS_ONLY: event already published
  bool slow_exceeded_ = false;
  std::vector<BreakerEvent> pending_;  // produced under the lock, delivered after it
  Listener listener_;
};

}  // namespace llmfailover::policy
