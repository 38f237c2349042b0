// metrics.cpp — histograms, prices and snapshots of the router's counters (metrics.hpp).
#include "llmfailover/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace llmfailover::metrics {

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds) {
  if (bounds.size() > kMaxBounds) throw std::invalid_argument("metrics::Histogram: too many bounds");
}

void Histogram::observe(double value) noexcept {
  // Prometheus buckets are "less than or equal": the first bound >= value.
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  if (value > 0)
    sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds.assign(bounds_.begin(), bounds_.end());
  s.buckets.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i < s.buckets.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

void UsdCounter::add(double usd) noexcept {
  if (usd > 0 && std::isfinite(usd))
    nano_.fetch_add(static_cast<std::uint64_t>(std::llround(usd * 1e9)), std::memory_order_relaxed);
}

double UsdCounter::value() const noexcept { return static_cast<double>(nano_.load(std::memory_order_relaxed)) / 1e9; }

std::optional<CostBreakdown> price(const Prices& p, const TokenUsage& u) {
  if (!p.input || !p.output) return std::nullopt;
  const auto n = [](std::int64_t x) { return static_cast<double>(std::max<std::int64_t>(0, x)); };
  const std::int64_t cached = std::clamp<std::int64_t>(u.cached, 0, std::max<std::int64_t>(0, u.input));
  const std::int64_t reasoning = std::clamp<std::int64_t>(u.reasoning, 0, std::max<std::int64_t>(0, u.output));
  CostBreakdown c;
  c.input = n(u.input - cached) * *p.input;
  c.cached = n(cached) * p.cached_input.value_or(*p.input);  // no cached price known: the full one
  c.output = n(u.output - reasoning) * *p.output;
  c.reasoning = n(reasoning) * p.reasoning.value_or(*p.output);  // reasoning is output, billed as such
  c.total = c.input + c.cached + c.output + c.reasoning;
  return c;
}

std::string_view to_string(CallOutcome o) noexcept {
  switch (o) {
    case CallOutcome::ok: return "ok";
    case CallOutcome::error: return "error";
    case CallOutcome::degraded: return "degraded";
    case CallOutcome::cancelled: return "cancelled";
  }
  return "error";
}

void record_attempt(TargetCounters& t, std::size_t error_class, double seconds, std::optional<double> ttft) noexcept {
  t.attempts[std::min(error_class, kErrorClasses - 1)].fetch_add(1, std::memory_order_relaxed);
  t.attempt_duration.observe(seconds);
  if (ttft) t.time_to_first_token.observe(*ttft);
}

namespace {

void add(std::atomic<std::uint64_t>& c, std::int64_t n) noexcept {
  if (n > 0) c.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
}
void add(std::atomic<std::uint64_t>& c, int n) noexcept { add(c, static_cast<std::int64_t>(n)); }
void add(UsdCounter& c, double x) noexcept { c.add(x); }

}  // namespace

void record_call(GroupCounters& g, TargetCounters* served, const CallRecord& r, const CallCost& c) noexcept {
  const auto o = static_cast<std::size_t>(r.outcome);
  g.requests[o].fetch_add(1, std::memory_order_relaxed);
  g.duration[o].observe(r.seconds);
  add(g.retries, r.retries);
  add(g.failovers, r.failovers);
  add(g.stream_recoveries, r.stream_recoveries);
  add(g.budget_exhausted, r.budget_exhausted);
  add(g.hedges, r.hedges);
  add(g.waste_usd, c.waste_usd);
  if (!served) return;
  add(served->waste_usd, c.waste_usd);
  if (r.outcome != CallOutcome::ok) return;
  served->served.fetch_add(1, std::memory_order_relaxed);
  add(served->tokens_input, c.usage.input);
  add(served->tokens_output, c.usage.output);
  add(served->tokens_cached, c.usage.cached);
  add(served->tokens_reasoning, c.usage.reasoning);
  served->input_tokens.observe(static_cast<double>(c.usage.input));
  served->output_tokens.observe(static_cast<double>(c.usage.output));
  if (c.cost) {
    served->priced.fetch_add(1, std::memory_order_relaxed);
    add(served->cost_usd, c.cost->total);
    add(g.cost_usd, c.cost->total);
  } else {
    served->unpriced.fetch_add(1, std::memory_order_relaxed);
  }
}

void note_transition(TargetCounters* c, std::string_view from, std::string_view to) noexcept {
  if (!c || from == to) return;
  for (std::size_t i = 0; i < kBreakerStates.size(); ++i)
    if (to == kBreakerStates[i]) c->transitions[i].fetch_add(1, std::memory_order_relaxed);
}

namespace {

template <class T, std::size_t N>
std::array<T, N> load_all(const std::array<std::atomic<T>, N>& xs) {
  std::array<T, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = xs[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace

TargetSnapshot snapshot_of(const TargetCounters& c) {
  TargetSnapshot s;
  s.labels = c.labels;
  s.prices = c.prices;
  s.attempts = load_all(c.attempts);
  s.served = c.served.load(std::memory_order_relaxed);
  s.tokens_input = c.tokens_input.load(std::memory_order_relaxed);
  s.tokens_output = c.tokens_output.load(std::memory_order_relaxed);
  s.tokens_cached = c.tokens_cached.load(std::memory_order_relaxed);
  s.tokens_reasoning = c.tokens_reasoning.load(std::memory_order_relaxed);
  s.priced = c.priced.load(std::memory_order_relaxed);
  s.unpriced = c.unpriced.load(std::memory_order_relaxed);
  s.cost_usd = c.cost_usd.value();
  s.waste_usd = c.waste_usd.value();
  s.transitions = load_all(c.transitions);
  s.attempt_duration = c.attempt_duration.snapshot();
  s.time_to_first_token = c.time_to_first_token.snapshot();
  s.input_tokens = c.input_tokens.snapshot();
  s.output_tokens = c.output_tokens.snapshot();
  return s;
}

GroupSnapshot snapshot_of(const GroupCounters& c) {
  GroupSnapshot s;
  s.group = c.group;
  s.requests = load_all(c.requests);
  s.retries = c.retries.load(std::memory_order_relaxed);
  s.failovers = c.failovers.load(std::memory_order_relaxed);
  s.stream_recoveries = c.stream_recoveries.load(std::memory_order_relaxed);
  s.budget_exhausted = c.budget_exhausted.load(std::memory_order_relaxed);
  s.hedges = c.hedges.load(std::memory_order_relaxed);
  s.cost_usd = c.cost_usd.value();
  s.waste_usd = c.waste_usd.value();
  for (std::size_t i = 0; i < kCallOutcomes; ++i) s.duration[i] = c.duration[i].snapshot();
  return s;
}

}  // namespace llmfailover::metrics
