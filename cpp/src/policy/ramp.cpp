#include "llmfailover/policy/ramp.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace llmfailover::policy {

namespace {

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0f%%" : "%.1f%%", v);
  return buf;
}

void validate(const RampPolicyConfig& c) {
  double prev = 0;
  for (double s : c.steps) {
    if (!(s > 0 && s <= 1 && s >= prev))
      throw std::invalid_argument("ramp: steps must be in (0, 1] and non-decreasing");
    prev = s;
  }
  if (!(c.failure_rate_threshold > 0 && c.failure_rate_threshold <= 100) ||
      !(c.slow_call_rate_threshold > 0 && c.slow_call_rate_threshold <= 100))
    throw std::invalid_argument("ramp: thresholds must be in (0, 100]");
  if (c.step_min_requests < 0) throw std::invalid_argument("ramp: step_min_requests must be >= 0");
}

}  // namespace

std::string_view to_string(Ramp::Verdict verdict) noexcept {
  switch (verdict) {
    case Ramp::Verdict::hold: return "hold";
    case Ramp::Verdict::advanced: return "advanced";
    case Ramp::Verdict::finished: return "finished";
    case Ramp::Verdict::breach: return "breach";
  }
  return "unknown";
}

Ramp::Ramp(const RampPolicyConfig& cfg, const TimeSource& clock) : cfg_(cfg), clock_(clock) { validate(cfg_); }

std::string Ramp::step_name_locked(int step) const {
  return "step " + std::to_string(step) + " (" + pct(cfg_.steps[static_cast<std::size_t>(step)] * 100) + ")";
}

void Ramp::start() {
  std::lock_guard lock(mutex_);
  ramping_ = !cfg_.steps.empty() && cfg_.steps.front() < 1.0;
  step_ = ramping_ ? 0 : -1;
  step_since_ = clock_.now();
  requests_ = failed_ = slow_ = 0;
  reason_ = ramping_ ? "ramp " + step_name_locked(0) : "";
}

void Ramp::stop() {
  std::lock_guard lock(mutex_);
  ramping_ = false;
  step_ = -1;
}

bool Ramp::ramping() const {
  std::lock_guard lock(mutex_);
  return ramping_;
}

double Ramp::factor() const {
  std::lock_guard lock(mutex_);
  return ramping_ ? cfg_.steps[static_cast<std::size_t>(step_)] : 1.0;
}

int Ramp::step() const {
  std::lock_guard lock(mutex_);
  return step_;
}

std::string Ramp::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

Ramp::Verdict Ramp::on_result(bool failure, Millis duration, Millis slow_threshold) {
  std::lock_guard lock(mutex_);
  if (!ramping_) return Verdict::hold;
  ++requests_;
  failed_ += failure ? 1 : 0;
  slow_ += duration > slow_threshold ? 1 : 0;
  return evaluate_locked(clock_.now());
}

Ramp::Verdict Ramp::tick() {
  std::lock_guard lock(mutex_);
  if (!ramping_) return Verdict::hold;
  return evaluate_locked(clock_.now());
}

// Breach as soon as the step has enough results to judge; advance only after the hold as well.
Ramp::Verdict Ramp::evaluate_locked(Clock::time_point now) {
  if (requests_ < cfg_.step_min_requests) return Verdict::hold;
  if (requests_ > 0 && breached_locked()) return Verdict::breach;
  if (now - step_since_ < cfg_.step_hold) return Verdict::hold;
  return advance_locked(now);
}

bool Ramp::breached_locked() {
  double failure_rate = 100.0 * failed_ / requests_;
  double slow_rate = 100.0 * slow_ / requests_;
  bool failure_over = failure_rate >= cfg_.failure_rate_threshold;
  bool slow_over = slow_rate >= cfg_.slow_call_rate_threshold;
  if (failure_over || slow_over) {
    reason_ = "ramp breach at " + step_name_locked(step_) + ": " +
              (failure_over ? "failure_rate " + pct(failure_rate) + " >= " + pct(cfg_.failure_rate_threshold)
                            : "slow_call_rate " + pct(slow_rate) + " >= " + pct(cfg_.slow_call_rate_threshold));
    ramping_ = false;
    step_ = -1;
    return true;
  }
  return false;
}

Ramp::Verdict Ramp::advance_locked(Clock::time_point now) {
  auto next = static_cast<std::size_t>(step_) + 1;
  if (next >= cfg_.steps.size() || cfg_.steps[next] >= 1.0) {
    reason_ = "ramp finished (100%)";
    ramping_ = false;
    step_ = -1;
    return Verdict::finished;
  }
  step_ = static_cast<int>(next);
  step_since_ = now;
  requests_ = failed_ = slow_ = 0;
  reason_ = "ramp " + step_name_locked(step_);
  return Verdict::advanced;
}

}  // namespace llmfailover::policy
