// ewma.hpp — peak-sensitive moving average of a target's latency, and its load-balancer cost
// (Finagle PeakEwma / Linkerd2 tower PeakEwma; resilience.md 4.1, 8.8).
//
// What is measured (the normalisation, LatencyMetric; resilience.md 8.8 "normalise latency to
// TTFT, or per output token, for heterogeneous requests"):
//   ttft              streamed calls: the time to the first content token. Non-streamed calls have
//                     no visible first token and their time includes the whole generation, so it
//                     is normalised for the output length: time / max(1, output tokens) (LiteLLM's
//                     lowest-latency normalisation), or the plain time when no usage was reported.
//                     Default. The candidates of a group see the same mix of streamed and
//                     non-streamed calls, so the two kinds of sample weigh alike on each of them.
//   per_output_token  total time / max(1, output tokens) for both kinds: streams are measured at
//                     their end (output tokens from the reported usage, else characters / 4).
//                     Falls back to the total time when the token count is unknown.
// The router measures one LatencySample per finished attempt (a stream's when it ends) and the
// metric turns it into one number in milliseconds (per_output_token: milliseconds per token).
//
// The average over an uneven time series (Ema.scala, tower PeakEwma):
//   w = exp(-dt / decay)        dt = time since the previous sample, decay = 10 s
//   d = estimate * w            the visible estimate: between samples it decays toward 0
//   sample >= d  ->  estimate = sample                   (peak: jumps up at once)
//   otherwise    ->  estimate = d * w + sample * (1 - w)  (always between sample and d)
// The decay toward 0 (Finagle and tower fold a 0 sample in on every read) means a target that was
// slow and got no traffic since looks cheap again after a while and is tried again: that is how
// traffic comes back after a recovery. Half-life = decay * ln 2 (6.9 s). Unlike Finagle, reads do
// not change the state, so the estimate does not depend on how often it is read.
// A new target starts at `default_rtt` (1 s; Linkerd2 uses 30 ms for RPC) as if that had been
// sampled when it was created; the prior decays like a sample, so an unknown target gets tried
// once the known ones look slower than it, and the first real sample replaces the prior.
// Stale-pending floor (ours; Finagle's Penalty for unknown hosts with requests pending, widened):
// when the last sample (or the prior) is older than `decay` and requests are in flight, the
// estimate is at least `default_rtt`, so a target that decayed to nearly 0 is not flooded with
// every request until its first (possibly slow) answer comes back.
//
// Penalties (Linkerd "Load Biaser"): fast errors must not attract traffic.
//   rate limited (429)   sample = max(actual, rate_limit_penalty = 5 s, min(retry_after, 300 s))
//   failed (5xx, reset)  sample = max(actual, failure_penalty = 5 s)
// A Retry-After above max_retry_after is clamped to it (a larger hint still penalises fully).
// Penalties are in the metric's unit: with per_output_token configure them in ms per token.
//
// Cost (P2C compares it): estimate(now) * (in_flight + 1).
//
// Pure value: no clock of its own (the caller passes `now`), no randomness, no I/O.
// Thread safety: none (a plain value; the Balancer holds it under its lock).
// Cost: O(1), one exp() per call.
#pragma once

#include <optional>
#include <string_view>

#include "llmfailover/http.hpp"

namespace llmfailover::policy {

enum class LatencyMetric { ttft, per_output_token };
std::string_view to_string(LatencyMetric metric) noexcept;
std::optional<LatencyMetric> parse_latency_metric(std::string_view name) noexcept;

struct EwmaConfig {
  Millis decay{10000};              // tau; Finagle Balancers.p2cPeakEwma default
  Millis default_rtt{1000};         // estimate before the first sample
  Millis rate_limit_penalty{5000};  // minimum synthetic latency of a 429
  Millis failure_penalty{5000};     // minimum synthetic latency of a failed attempt
  Millis max_retry_after{300000};   // a longer Retry-After is clamped to this
  LatencyMetric metric = LatencyMetric::ttft;
  bool operator==(const EwmaConfig&) const = default;
};

// What the router measured for one attempt that produced an answer.
struct LatencySample {
  Millis ttft{0};          // to the first content token (or to the headers)
  Millis total{0};         // to the end of the answer; 0 = unknown (use ttft)
  int output_tokens = -1;  // from the reported usage; < 0 = unknown
  bool streamed = false;   // ttft is a real first token (not the response headers)
  bool operator==(const LatencySample&) const = default;
};

// The sample in the metric's unit (ms, or ms per output token).
double normalised_latency(LatencyMetric metric, const LatencySample& sample) noexcept;

class PeakEwma {
 public:
  // `start`: when the prior (default_rtt) counts as sampled, normally the target's creation.
  explicit PeakEwma(const EwmaConfig& cfg = {}, Clock::time_point start = {}) noexcept;

  // One measured value in the metric's unit (see normalised_latency).
  void observe(Clock::time_point now, double value_ms) noexcept;
  void observe(Clock::time_point now, const LatencySample& sample) noexcept;
  // A 429: max(actual, rate_limit_penalty, min(retry_after, max_retry_after)).
  void observe_rate_limited(Clock::time_point now, Millis actual, std::optional<Millis> retry_after) noexcept;
  // Any other failed attempt: max(actual, failure_penalty).
  void observe_failure(Clock::time_point now, Millis actual) noexcept;

  // The estimate decayed to `now` (does not change the state).
  double estimate(Clock::time_point now) const noexcept;
  // estimate(now) with the stale-pending floor, times (in_flight + 1).
  double cost(Clock::time_point now, int in_flight) const noexcept;
  bool has_samples() const noexcept { return sampled_; }

 private:
  double decayed(Clock::time_point now) const noexcept;

  EwmaConfig cfg_;
  double estimate_;
  Clock::time_point stamp_{};
  bool sampled_ = false;
};

}  // namespace llmfailover::policy
