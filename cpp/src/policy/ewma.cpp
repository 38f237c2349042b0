#include "llmfailover/policy/ewma.hpp"

#include <algorithm>
#include <cmath>

namespace llmfailover::policy {

namespace {

double ms(Clock::duration d) noexcept { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

std::string_view to_string(LatencyMetric metric) noexcept {
  return metric == LatencyMetric::ttft ? "ttft" : "per_output_token";
}

std::optional<LatencyMetric> parse_latency_metric(std::string_view name) noexcept {
  if (name == "ttft") return LatencyMetric::ttft;
  if (name == "per_output_token" || name == "tpot") return LatencyMetric::per_output_token;
  return std::nullopt;
}

double normalised_latency(LatencyMetric metric, const LatencySample& s) noexcept {
  if (metric == LatencyMetric::ttft && s.streamed) return ms(s.ttft);
  double total = s.total.count() > 0 ? ms(s.total) : ms(s.ttft);
  if (s.output_tokens < 0) return total;
  return total / std::max(1, s.output_tokens);
}

PeakEwma::PeakEwma(const EwmaConfig& cfg, Clock::time_point start) noexcept
    : cfg_(cfg), estimate_(ms(cfg.default_rtt)), stamp_(start) {}

double PeakEwma::decayed(Clock::time_point now) const noexcept {
  double dt = std::max(0.0, ms(now - stamp_));
  double tau = std::max(1.0, ms(cfg_.decay));
  return estimate_ * std::exp(-dt / tau);
}

void PeakEwma::observe(Clock::time_point now, double value) noexcept {
  if (!std::isfinite(value) || value < 0) return;
  if (!sampled_) {
    estimate_ = value;  // the first sample sets the estimate (Ema.scala)
  } else {
    double dt = std::max(0.0, ms(now - stamp_));
    double w = std::exp(-dt / std::max(1.0, ms(cfg_.decay)));
    double visible = estimate_ * w;  // what a read at `now` shows
    estimate_ = value >= visible ? value : visible * w + value * (1 - w);
  }
  sampled_ = true;
  stamp_ = std::max(stamp_, now);
}

void PeakEwma::observe(Clock::time_point now, const LatencySample& sample) noexcept {
  observe(now, normalised_latency(cfg_.metric, sample));
}

void PeakEwma::observe_rate_limited(Clock::time_point now, Millis actual, std::optional<Millis> retry_after) noexcept {
  Millis v = std::max(actual, cfg_.rate_limit_penalty);
  if (retry_after) v = std::max(v, std::min(*retry_after, cfg_.max_retry_after));
  observe(now, static_cast<double>(v.count()));
}

void PeakEwma::observe_failure(Clock::time_point now, Millis actual) noexcept {
  observe(now, static_cast<double>(std::max(actual, cfg_.failure_penalty).count()));
}

double PeakEwma::estimate(Clock::time_point now) const noexcept { return decayed(now); }

double PeakEwma::cost(Clock::time_point now, int in_flight) const noexcept {
  double e = decayed(now);
  if (in_flight > 0 && now - stamp_ > cfg_.decay) e = std::max(e, ms(cfg_.default_rtt));
  return e * (std::max(0, in_flight) + 1);
}

}  // namespace llmfailover::policy
