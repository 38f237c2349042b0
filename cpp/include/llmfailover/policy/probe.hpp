// probe.hpp — the active health probe of one target (deployment x API key): when to probe next,
// and what the probe results say about the target (resilience.md 2.6, 8.7).
//
// Active probes are opt-in (HealthCheckConfig::enabled): each one is a request to the provider,
// by default a real, billed 1-token completion. Passive health (the breaker, health.hpp) stays
// primary; HealthProbe only judges the probes, TargetHealth decides what that means for routing.
//
// Schedule (Envoy HealthCheck): the first probe is due at U(0, J) after construction (Envoy's
// initial_jitter, so that targets started together do not probe together), every later one at
// interval + U(0, J) after the previous result, where J = interval * interval_jitter_percent / 100
// (Envoy's interval_jitter_percent). The next interval starts when a result arrives (the probe's
// own time, up to `timeout`, is not part of it), as in Envoy.
//
// Status: unknown (no result yet; the target is presumed healthy) -> healthy | unhealthy.
//   pass          resets the failure count; `healthy_threshold` passes in a row make an unhealthy
//                 target healthy. While the status is unknown one pass is enough (Envoy: "during
//                 startup a single success marks a host healthy").
//   fail          resets the pass count; `unhealthy_threshold` failures in a row make the target
//                 unhealthy (from unknown or healthy).
//   fail at once  a result that means the target itself is broken (ErrorClass::fatal_target: 401,
//                 403, 404 — a revoked key, a missing model) makes it unhealthy at once, ignoring
//                 the threshold (Envoy: a status outside expected_statuses).
//   inconclusive  changes no count and no status.
// Results by ErrorClass (outcome_of): none -> pass; fatal_request -> pass (the upstream answered
// and judged our probe: it is serving; an o-series model refusing max_tokens must not be taken
// out); retryable and transparent (5xx, resets, refused connections, any timeout) -> fail;
// fatal_target -> fail at once; rate_limited and ignored -> inconclusive (a 429 says the key is
// busy, not broken: the cooldown is passive health's business).
//
// Call order: construct -> next_at() -> (probe the target) -> on_result() -> next_at() -> ...
// Thread safety: all members are safe to call concurrently (one internal mutex).
// Cost: O(1); one Random draw per result.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "llmfailover/clock.hpp"
#include "llmfailover/error.hpp"

namespace llmfailover {

// Opt-in active health probes of each target (deployment x key) of a group (docs/balancing.md;
// policy/probe.hpp). Semantics follow Envoy's HealthCheck (resilience.md 2.6, 8.7).
struct HealthCheckConfig {
  bool enabled = false;
  Millis interval{30000};
  double interval_jitter_percent = 10;  // each wait is interval + U(0, interval * pct / 100)
  Millis timeout{5000};
  int unhealthy_threshold = 3;  // consecutive failed probes -> taken out
  int healthy_threshold = 2;    // consecutive passing probes -> back through the ramp
  std::string path;             // "" = a real 1-token completion; else a GET of this path
                                // relative to the deployment's base_url (e.g. "/models")
  std::string prompt = "ping";  // the 1-token completion's user message
  bool operator==(const HealthCheckConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

enum class ProbeStatus { unknown, healthy, unhealthy };
// "unknown", "healthy", "unhealthy".
std::string_view to_string(ProbeStatus status) noexcept;

enum class ProbeOutcome { pass, fail, fail_at_once, inconclusive };
std::string_view to_string(ProbeOutcome outcome) noexcept;
// What one probe's ErrorClass counts as (see the header comment).
ProbeOutcome probe_outcome_of(ErrorClass cls) noexcept;

// What one result did.
struct ProbeReport {
  ProbeOutcome outcome = ProbeOutcome::pass;
  ProbeStatus from = ProbeStatus::unknown;  // the status before the result
  ProbeStatus to = ProbeStatus::unknown;    // and after it
  // Why the status changed (empty when it did not), e.g. "3 consecutive failures (status 503)",
  // "2 consecutive passes", "fatal_target (status 401): unhealthy at once", "first pass".
  std::string reason;
  bool changed() const noexcept { return from != to; }
  bool operator==(const ProbeReport&) const = default;
};

class HealthProbe {
 public:
  // Throws std::invalid_argument unless interval > 0, timeout > 0, both thresholds >= 1 and the
  // jitter percent is in [0, 100]. `clock` and `random` must outlive it. Draws the first probe's
  // jitter (one Random draw).
  HealthProbe(const HealthCheckConfig& cfg, const TimeSource& clock, Random& random);
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // When the next probe is due.
  Clock::time_point next_at() const;
  // One probe's result; `detail` (e.g. "status 503", "connect_refused") goes into the reason.
  // Schedules the next probe from now.
  ProbeReport on_result(ErrorClass cls, std::string_view detail = {});
  ProbeReport on_result(ProbeOutcome outcome, std::string_view detail = {});

  ProbeStatus status() const;
  int consecutive_passes() const;
  int consecutive_failures() const;
  // Back to unknown with no counts (an operator reset of the target); keeps the schedule.
  void reset();

  const HealthCheckConfig& config() const noexcept { return cfg_; }
  // A probe of the data plane (a real completion, not a GET of `path`): its passes may bring back
  // a target that passive health ejected (resilience.md 8.7).
  bool data_plane() const noexcept { return cfg_.path.empty(); }

 private:
  Millis jitter_locked();

  const HealthCheckConfig cfg_;
  const TimeSource& clock_;
  Random& random_;

  mutable std::mutex mutex_;
  ProbeStatus status_ = ProbeStatus::unknown;
  int passes_ = 0;
  int failures_ = 0;
  Clock::time_point next_{};
};

}  // namespace llmfailover::policy
