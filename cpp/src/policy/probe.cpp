#include "llmfailover/policy/probe.hpp"

#include <stdexcept>

namespace llmfailover::policy {

namespace {

std::string with_detail(std::string text, std::string_view detail) {
  if (!detail.empty()) text += " (" + std::string(detail) + ")";
  return text;
}

std::string plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " consecutive " + (n == 1 ? one : many);
}

}  // namespace

std::string_view to_string(ProbeStatus status) noexcept {
  switch (status) {
    case ProbeStatus::unknown: return "unknown";
    case ProbeStatus::healthy: return "healthy";
    case ProbeStatus::unhealthy: return "unhealthy";
  }
  return "unknown";
}

std::string_view to_string(ProbeOutcome outcome) noexcept {
  switch (outcome) {
    case ProbeOutcome::pass: return "pass";
    case ProbeOutcome::fail: return "fail";
    case ProbeOutcome::fail_at_once: return "fail_at_once";
    case ProbeOutcome::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

ProbeOutcome probe_outcome_of(ErrorClass cls) noexcept {
  switch (cls) {
    case ErrorClass::none:
    case ErrorClass::fatal_request: return ProbeOutcome::pass;
    case ErrorClass::retryable:
    case ErrorClass::transparent: return ProbeOutcome::fail;
    case ErrorClass::fatal_target: return ProbeOutcome::fail_at_once;
    case ErrorClass::rate_limited:
    case ErrorClass::ignored: return ProbeOutcome::inconclusive;
  }
  return ProbeOutcome::inconclusive;
}

HealthProbe::HealthProbe(const HealthCheckConfig& cfg, const TimeSource& clock, Random& random)
    : cfg_(cfg), clock_(clock), random_(random) {
  if (cfg.interval <= Millis{0}) throw std::invalid_argument("health check: interval must be > 0");
  if (cfg.timeout <= Millis{0}) throw std::invalid_argument("health check: timeout must be > 0");
  if (cfg.unhealthy_threshold < 1 || cfg.healthy_threshold < 1)
    throw std::invalid_argument("health check: thresholds must be >= 1");
  if (!(cfg.interval_jitter_percent >= 0 && cfg.interval_jitter_percent <= 100))
    throw std::invalid_argument("health check: interval_jitter_percent must be in [0, 100]");
  std::lock_guard lock(mutex_);
  next_ = clock_.now() + jitter_locked();  // Envoy initial_jitter
}

// U(0, interval * pct / 100), whole milliseconds.
Millis HealthProbe::jitter_locked() {
  double max_ms = static_cast<double>(cfg_.interval.count()) * cfg_.interval_jitter_percent / 100.0;
  if (max_ms <= 0) return Millis{0};
  return Millis{static_cast<Millis::rep>(random_.uniform() * max_ms)};
}

Clock::time_point HealthProbe::next_at() const {
  std::lock_guard lock(mutex_);
  return next_;
}

ProbeReport HealthProbe::on_result(ErrorClass cls, std::string_view detail) {
  return on_result(probe_outcome_of(cls), detail);
}

ProbeReport HealthProbe::on_result(ProbeOutcome outcome, std::string_view detail) {
  std::lock_guard lock(mutex_);
  ProbeReport r;
  r.outcome = outcome;
  r.from = status_;
  switch (outcome) {
    case ProbeOutcome::pass:
      failures_ = 0;
      ++passes_;
      if (status_ == ProbeStatus::unknown) {
        status_ = ProbeStatus::healthy;  // one success suffices at startup
        r.reason = "first pass";
      } else if (status_ == ProbeStatus::unhealthy && passes_ >= cfg_.healthy_threshold) {
        status_ = ProbeStatus::healthy;
        r.reason = with_detail(plural(passes_, "pass", "passes"), detail);
      }
      break;
    case ProbeOutcome::fail:
      passes_ = 0;
      ++failures_;
      if (status_ != ProbeStatus::unhealthy && failures_ >= cfg_.unhealthy_threshold) {
        status_ = ProbeStatus::unhealthy;
        r.reason = with_detail(plural(failures_, "failure", "failures"), detail);
      }
      break;
    case ProbeOutcome::fail_at_once:
      passes_ = 0;
      ++failures_;
      if (status_ != ProbeStatus::unhealthy) {
        status_ = ProbeStatus::unhealthy;
        r.reason = with_detail("fatal_target", detail) + ": unhealthy at once";
      }
      break;
    case ProbeOutcome::inconclusive: break;
  }
  r.to = status_;
  next_ = clock_.now() + cfg_.interval + jitter_locked();
  return r;
}

ProbeStatus HealthProbe::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

int HealthProbe::consecutive_passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

int HealthProbe::consecutive_failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void HealthProbe::reset() {
  std::lock_guard lock(mutex_);
  status_ = ProbeStatus::unknown;
  passes_ = failures_ = 0;
}

}  // namespace llmfailover::policy
