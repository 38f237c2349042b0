// health.hpp — what the router knows about one target (deployment x API key): may it take a call,
// and what share of the traffic should it get.
//
// TargetHealth combines the target's CircuitBreaker (breaker.hpp), its Ramp (ramp.hpp) and the
// rate-limit cooldown, and maps the error classes of resilience.md 8.1 onto them:
//   none          -> success
//   retryable     -> failure (5xx, 529, resets, timeouts before the first token)
//   rate_limited  -> the key cools down for `retry_after` (or, without one, the breaker's next open
//                    wait) via CircuitBreaker::cool_down: OPEN without counting a failure and without
//                    growing attempts; when the wait is over it is CLOSED again as before (a 429 says
//                    the key is busy, not broken). A 429 to a half-open probe returns to HALF_OPEN.
//   fatal_target  -> force the key open: FORCED_OPEN for `fatal_target_open` (401/403 revoked key,
//                    404 missing model), then HALF_OPEN so a probe can find out whether it was fixed.
//                    fatal_target_open = 0 keeps it forced open until reset().
//   fatal_request, ignored, transparent -> not counted (releases a half-open permit).
// In DISABLED and METRICS_ONLY the breaker is not in charge, so 429s and fatal_target results only
// release permits there.
// `duration` is what slow calls are judged by; the router passes the time to first token.
//
// Ramp (resilience.md 8.9): when the breaker goes HALF_OPEN -> CLOSED the target ramps 5% -> 25% ->
// 50% -> 100%. A ramp breach, or the breaker tripping during the ramp, re-opens it with the attempts
// it had before closing + 1 (a longer wait); the next recovery starts the ramp again at 5%.
//
// Active probes (opt-in, probe.hpp; resilience.md 2.6, 8.7): set_probes() gives the target a
// HealthProbe; the router sends a probe at next_probe_at() and reports it with on_probe_result().
// Probe results never enter the breaker's window or the ramp's counts (passive health is primary).
//   probes say unhealthy  -> the target is held out: share 0, available_at nullopt, try_acquire
//                            false, snapshot state "open" (unless the breaker's own state is OPEN or
//                            FORCED_OPEN) and snapshot probe "unhealthy"; a ramp in progress stops.
//   probes say healthy    -> the hold ends. With the breaker CLOSED the target comes back at the
//     again                 first ramp step (5%) and climbs the normal ramp, exactly as after a
//                            HALF_OPEN -> CLOSED recovery (a breach re-opens it with attempts + 1).
//                            Otherwise the breaker's state stands and its own recovery ramps.
//   a pass while passive  -> uneject (Envoy successful_active_health_check_uneject_host) only when
//     health ejected it     the probe exercises the data plane (a 1-token completion, path ""):
//                            OPEN (not a rate-limit cooldown) or HALF_OPEN -> CLOSED and onto the
//                            ramp at 5%. A `path` probe (e.g. GET /models) says nothing about
//                            completions, so it never unejects (resilience.md 8.7, Envoy's warning).
//                            FORCED_OPEN (a revoked key, an operator) is never lifted by a probe.
// A probe-held target's own breaker still moves by its clock; its notes are delivered as usual.
// The listener gets one note per probe status change, its reason starting with "active probe: ",
// e.g. ("closed", "open", "active probe: 3 consecutive failures (status 503)").
//
// Call order, per call: try_acquire(); if true, on_result() exactly once (or release() if the call
// never started). share() / available_at() / snapshot() at any time; they also apply the changes
// that are due by the clock (open wait over, forced-open period over, ramp hold over), so a router
// polling them at available_at() sees recoveries without traffic.
//
// The listener gets (from, to, reason) for every breaker state change, and ("closed", "closed",
// "ramp step 2 (50%)") for ramp steps; it is called after the internal lock is released.
// Thread safety: all members are safe to call concurrently (one internal mutex, taken before the
// breaker's, the ramp's and the probe's).
// Cost: a few mutex acquisitions per call; O(window) for a time-based breaker window.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/error.hpp"
#include "llmfailover/policy/breaker.hpp"
#include "llmfailover/policy/probe.hpp"
#include "llmfailover/policy/ramp.hpp"

namespace llmfailover::policy {

struct TargetSnapshot {
  std::string state = "closed";  // to_string(BreakerState)
  double share = 1.0;
  double failure_rate = -1;  // percent, -1 = unknown (below minimum calls)
  double slow_rate = -1;
  int attempts = 0;
  std::optional<Clock::time_point> available_at;
  int ramp_step = -1;  // -1 = not ramping
  int consecutive_failures = 0;
  std::int64_t not_permitted = 0;
  bool cooling = false;  // OPEN because of a rate-limit cooldown
  std::string probe;     // "" = no active probes; else "unknown", "healthy" or "unhealthy"

  bool operator==(const TargetSnapshot&) const = default;
};
// e.g. "closed share=0.25 failure_rate=-1 slow_rate=-1 attempts=0 ramp_step=1 consecutive=0 not_permitted=0"
// (+ " probe=healthy" when probed)
std::string to_string(const TargetSnapshot& snapshot);

class TargetHealth {
 public:
  using Snapshot = TargetSnapshot;
  // State names as to_string(BreakerState) gives them, e.g. ("half_open", "closed", "half_open: ...").
  using Listener = std::function<void(std::string_view from, std::string_view to, std::string_view reason)>;

  // Throws std::invalid_argument for an invalid config. `clock` and `random` must outlive it.
  TargetHealth(const BreakerPolicyConfig& breaker, const RampPolicyConfig& ramp, const TimeSource& clock,
               Random& random);
  TargetHealth(const TargetHealth&) = delete;
  TargetHealth& operator=(const TargetHealth&) = delete;

  // May this target take a call now? Takes a half-open permit when HALF_OPEN.
  bool try_acquire();
  // Gives back a permit for a call that was never made.
  void release();
  void on_result(ErrorClass cls, Millis duration, std::optional<Millis> retry_after = {});

  // The multiplier for the target's load-balancer weight: 0 when unavailable (OPEN, FORCED_OPEN,
  // cooling, HALF_OPEN without permits left), the ramp factor while ramping, otherwise 1.0.
  double share();
  // When an unavailable target may be tried again; now() when it is available; nullopt when that
  // is unknown (HALF_OPEN waiting for its probes, FORCED_OPEN by an operator).
  std::optional<Clock::time_point> available_at();
  // The breaker's own state (a probe hold shows in snapshot().state and share(), not here).
  BreakerState state();
  Snapshot snapshot();
  // Operator action: CLOSED at full share, attempts 0, no ramp, no forced period.
  void reset();

  void set_listener(Listener listener);

  // Shared state (state/shared_state.hpp): another process has this target open for `wait`. A
  // CLOSED breaker cools down for it (OPEN without a failure counted, CLOSED again after the wait,
  // the reason starting "shared: "); true when it did. Any other state is left to the local breaker.
  bool adopt_shared_open(Millis wait);
  // The process that opened it has closed it: a shared cool-down ends now (CLOSED).
  void end_shared_open();

  // Active probes judged by `cfg` from now on (a fresh HealthProbe: status unknown, the first probe
  // at U(0, jitter)); cfg.enabled false removes them and any hold. Call before the first probe.
  void set_probes(const HealthCheckConfig& cfg);
  // When the next probe is due; nullopt without probes.
  std::optional<Clock::time_point> next_probe_at();
  // One probe's result (see the header comment); `detail` goes into the reasons. Without probes
  // it does nothing and returns a default report.
  ProbeReport on_probe_result(ErrorClass cls, std::string_view detail = {});

 private:
  class Scope;
  struct Note {
    BreakerState from, to;
    std::string reason;
  };

  void sync_locked(Clock::time_point now);
  std::vector<BreakerEvent> absorb_locked();
  void record_locked(bool failure, Millis duration);
  void cool_down_locked(std::optional<Millis> retry_after);
  void force_open_locked(Clock::time_point now);
  void handle_verdict_locked(Ramp::Verdict verdict);
  double share_locked(BreakerState state);
  std::optional<Clock::time_point> available_at_locked(BreakerState state, Clock::time_point now);
  BreakerState effective_locked(BreakerState state) const;
  void start_ramp_locked(int attempts);
  void probe_pass_locked(const ProbeReport& report, BreakerState before);

  const BreakerPolicyConfig cfg_;
  const TimeSource& clock_;
  Random& random_;
  CircuitBreaker breaker_;
  Ramp ramp_;

  std::mutex mutex_;
  std::optional<Clock::time_point> forced_until_;  // FORCED_OPEN by a fatal_target result
  int ramp_attempts_ = 0;                          // the breaker's attempts when the ramp began
  std::unique_ptr<HealthProbe> probe_;             // set_probes(); null = no active probes
  bool held_ = false;                              // out because the probes say unhealthy
  bool shared_open_ = false;                       // OPEN by adopt_shared_open()
  std::vector<Note> notes_;                        // for the listener, delivered after unlocking
  Listener listener_;

  std::mutex events_mutex_;  // leaf lock: the breaker's listener appends here
  std::vector<BreakerEvent> breaker_events_;
};

}  // namespace llmfailover::policy
