// metrics.hpp — what the router counts about itself, natively: atomic counters and fixed-bucket
// histograms per target (deployment x API key) and per model group, plus the price of an answer.
//
// The slots are made once, when the Router is built (one per target, one per group, and one
// "other" group for requests naming no configured group), so a label set is never made on the
// hot path and the series are bounded by the config: labels are the group, deployment, provider,
// model and key alias ("key0", "key1": never the key), and bounded enums (error class, outcome).
// The hooks (record_attempt, record_call) are relaxed atomic adds and a binary search over at
// most 16 bucket bounds; bench/metrics_bench.cpp measures them (well under 1 us per request).
// A snapshot (Router::metrics()) copies the counters and adds what is read at collect time
// (breaker state, retry budget left, quota left), so a scrape costs nothing between scrapes.
//
// Names and buckets follow the OpenTelemetry GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/): durations in seconds with
// the advised boundaries, token counts with the advised powers of four.
//
// Cost: price() bills an answer's usage at a Prices (USD per token). OpenAI counts cached prompt
// tokens inside prompt_tokens and reasoning tokens inside completion_tokens, so those parts are
// taken out and billed at their own price when one is known. An unknown input or output price
// gives no cost (nullopt), never 0.
// Thread safety: Histogram and the counters are safe from any thread; Prices are set before
// the router's first call (Router::set_prices) and read-only after.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llmfailover::metrics {

// gen_ai.client.operation.duration's advised boundaries (seconds).
inline constexpr std::array<double, 14> kDurationBuckets = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                            1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
// gen_ai.client.token.usage's advised boundaries (tokens).
inline constexpr std::array<double, 14> kTokenBuckets = {1,     4,     16,     64,      256,     1024,     4096,
                                                         16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

struct HistogramSnapshot {
  std::vector<double> bounds;          // upper bounds, ascending (+Inf implied after the last)
  std::vector<std::uint64_t> buckets;  // per bucket, not cumulative: bounds.size() + 1 entries
  double sum = 0;
  std::uint64_t count = 0;
  bool operator==(const HistogramSnapshot&) const = default;
};

class Histogram {
 public:
  static constexpr std::size_t kMaxBounds = 16;
  explicit Histogram(std::span<const double> bounds);
  void observe(double value) noexcept;
  HistogramSnapshot snapshot() const;

 private:
  std::span<const double> bounds_;
  std::array<std::atomic<std::uint64_t>, kMaxBounds + 1> buckets_{};
  // Millionths: an integer add is one instruction where a double's is a compare-exchange loop
  // (2.5x slower per request under two contending threads in bench/metrics_bench.cpp).
  std::atomic<std::uint64_t> sum_micros_{0};
};

// A counter of USD, kept in nano-dollars for the same reason as Histogram's sum.
class UsdCounter {
 public:
  void add(double usd) noexcept;
  double value() const noexcept;

 private:
  std::atomic<std::uint64_t> nano_{0};
};

// USD per token; nullopt = not known. `source` says where they came from ("config", "litellm:<key>").
struct Prices {
  std::optional<double> input, output, cached_input, reasoning;
  std::string source;
  bool operator==(const Prices&) const = default;
};

// An answer's token counts as OpenAI reports them (cached within input, reasoning within output).
struct TokenUsage {
  std::int64_t input = 0, output = 0, cached = 0, reasoning = 0;
  bool operator==(const TokenUsage&) const = default;
};

struct CostBreakdown {
  double input = 0, output = 0, cached = 0, reasoning = 0, total = 0;  // USD
  bool operator==(const CostBreakdown&) const = default;
};

// nullopt when the input or the output price is unknown.
std::optional<CostBreakdown> price(const Prices& prices, const TokenUsage& usage);

// What one routed call cost: the serving attempt's usage priced, and the waste (attempts the
// provider billed but whose answer was not used: a stream cut after its first token).
struct CallCost {
  bool usage_known = false;           // the answer reported its usage (else tokens are estimates or 0)
  TokenUsage usage;                   // the serving attempt's
  std::optional<CostBreakdown> cost;  // nullopt: no answer, or its price is unknown
  std::string unknown_reason;         // why cost is nullopt ("" when known)
  std::string deployment, target;     // the serving attempt's
  double waste_usd = 0;               // billed failed attempts (estimated tokens)
  int wasted_attempts = 0;
  std::string waste_target;  // the last wasted attempt's target ("" when none)
};

inline constexpr std::size_t kErrorClasses = 7;  // ErrorClass::none .. ignored (error.hpp)
enum class CallOutcome { ok, error, degraded, cancelled };
inline constexpr std::size_t kCallOutcomes = 4;
std::string_view to_string(CallOutcome o) noexcept;
inline constexpr std::array<const char*, 3> kBreakerStates = {"closed", "open", "half_open"};

struct TargetLabels {
  std::string group, target, deployment, provider, model, key;  // key: "key<N>", never the key
  bool operator==(const TargetLabels&) const = default;
};

// One target's counters (updated by the router's hooks).
struct TargetCounters {
  explicit TargetCounters(TargetLabels l) : labels(std::move(l)) {}
  TargetLabels labels;
  Prices prices;
  std::array<std::atomic<std::uint64_t>, kErrorClasses> attempts{};  // by ErrorClass (none = success)
  std::atomic<std::uint64_t> served{0}, tokens_input{0}, tokens_output{0}, tokens_cached{0}, tokens_reasoning{0};
  std::atomic<std::uint64_t> priced{0}, unpriced{0};  // served answers with / without a known cost
  UsdCounter cost_usd, waste_usd;
  std::array<std::atomic<std::uint64_t>, kBreakerStates.size()> transitions{};  // by state entered
  Histogram attempt_duration{kDurationBuckets}, time_to_first_token{kDurationBuckets};
  Histogram input_tokens{kTokenBuckets}, output_tokens{kTokenBuckets};
};

// One group's counters (the group the caller asked for).
struct GroupCounters {
  explicit GroupCounters(std::string g) : group(std::move(g)) {}
  std::string group;
  std::array<std::atomic<std::uint64_t>, kCallOutcomes> requests{};
  std::atomic<std::uint64_t> retries{0}, failovers{0}, stream_recoveries{0}, budget_exhausted{0}, hedges{0};
  UsdCounter cost_usd, waste_usd;
  std::array<Histogram, kCallOutcomes> duration{Histogram{kDurationBuckets}, Histogram{kDurationBuckets},
                                                Histogram{kDurationBuckets}, Histogram{kDurationBuckets}};
};

// Slots for the router's targets and groups; addresses are stable (a deque), made before calls.
class Registry {
 public:
  TargetCounters& add_target(TargetLabels labels) { return targets_.emplace_back(std::move(labels)); }
  GroupCounters& add_group(std::string name) { return groups_.emplace_back(std::move(name)); }
  GroupCounters& other() { return other_; }  // requests naming no configured group
  const std::deque<TargetCounters>& targets() const { return targets_; }
  std::deque<TargetCounters>& targets() { return targets_; }
  const std::deque<GroupCounters>& groups() const { return groups_; }
  const GroupCounters& other() const { return other_; }

 private:
  std::deque<TargetCounters> targets_;
  std::deque<GroupCounters> groups_;
  GroupCounters other_{"other"};
};

// What a scrape reads: counters as values, plus the state read at collect time.
struct TargetSnapshot {
  TargetLabels labels;
  Prices prices;
  std::array<std::uint64_t, kErrorClasses> attempts{};
  std::uint64_t served = 0, tokens_input = 0, tokens_output = 0, tokens_cached = 0, tokens_reasoning = 0;
  std::uint64_t priced = 0, unpriced = 0;
  double cost_usd = 0, waste_usd = 0;
  std::array<std::uint64_t, kBreakerStates.size()> transitions{};
  HistogramSnapshot attempt_duration, time_to_first_token, input_tokens, output_tokens;
  std::string state;  // breaker state now ("closed", "open", "half_open")
  int in_flight = 0;
  int requests_left = -1;         // rpm window (deployment); -1 = no limit
  std::int64_t tokens_left = -1;  // tpm window (deployment); -1 = no limit
};

struct GroupSnapshot {
  std::string group;
  std::array<std::uint64_t, kCallOutcomes> requests{};
  std::uint64_t retries = 0, failovers = 0, stream_recoveries = 0, budget_exhausted = 0, hedges = 0;
  double cost_usd = 0, waste_usd = 0;
  std::array<HistogramSnapshot, kCallOutcomes> duration;
  double retry_budget_left = -1;  // retries the group's budget allows now; -1 for "other"
};

// One spend cap of the config's `budgets:` (policy/budget_cap.hpp), in its current period.
struct BudgetSnapshot {
  std::string scope, name, period;  // group | key | tag; hour | day | month
  double limit_usd = 0, spent_usd = 0;
  std::uint64_t unpriced = 0;           // calls this period whose price was unknown: not counted
  std::string period_start, resets_at;  // UTC, "2026-12-05T00:00:00Z"
  bool reached = false;                 // spent >= limit: its targets are out of the balancer
};

// Exact cache lookups of one group (cache/router_cache.hpp), counted by the cache in front of
// the router; `backend` is "memory" or "redis".
struct CacheSnapshot {
  std::string group, backend;
  std::uint64_t hits = 0, misses = 0;
};

struct Snapshot {
  std::vector<TargetSnapshot> targets;
  std::vector<GroupSnapshot> groups;  // the configured groups, then "other"
  std::vector<BudgetSnapshot> budgets;
  std::vector<CacheSnapshot> cache;   // filled by the binding from the router's cache, if any
  std::uint64_t state_fallbacks = 0;  // `state: redis` fell back to local state (once per outage)
};

// What the call-end hook counts (the router fills it from the call's route log).
struct CallRecord {
  CallOutcome outcome = CallOutcome::error;
  double seconds = 0;
  int retries = 0, failovers = 0, stream_recoveries = 0, budget_exhausted = 0, hedges = 0;
};

// The hooks' counting (routed_metrics.cpp gathers the values; bench/metrics_bench.cpp times these).
// `ttft`: time to the first token (a stream) or byte (an answer), seconds, for a served attempt.
void record_attempt(TargetCounters& t, std::size_t error_class, double seconds, std::optional<double> ttft) noexcept;
// `served`: the serving target's counters (nullptr when none served); cost and tokens go there.
void record_call(GroupCounters& g, TargetCounters* served, const CallRecord& r, const CallCost& c) noexcept;

// A breaker state change of a target (from its health listener): counted by the state entered;
// ramp steps (from == to) and probe states are not transitions.
void note_transition(TargetCounters* c, std::string_view from, std::string_view to) noexcept;

TargetSnapshot snapshot_of(const TargetCounters& c);
GroupSnapshot snapshot_of(const GroupCounters& c);

}  // namespace llmfailover::metrics
