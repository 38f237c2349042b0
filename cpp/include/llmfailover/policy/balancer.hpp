// balancer.hpp — which target of a model group takes the next attempt (resilience.md 2.5, 4.1,
// 4.2, 8.8; issue 4). Formulas and the LiteLLM mapping: docs/balancing.md.
//
// A Balancer holds N candidates (indices 0..N-1 into the caller's array of targets) of ONE group.
// Each has a configured weight and priority (tier) and a price; the caller keeps it informed of
// what changes: the share (0..1: the ramp's factor times any quota steering; 0 = unavailable until
// set again), a temporary block (breaker open wait, 429 cooldown, quota reset), and the start and
// end of every attempt (in flight, latency, failures). The effective weight of a candidate is
//   weight * share   when it is not blocked, else 0.
//
// Tiers: candidates with the lowest priority value form the first tier; the next tier is used
// only when no candidate of the tiers above is available (active-active inside a tier).
// Inside the chosen tier, by Strategy:
//   weighted_random  P(i) = w_i / sum w                                  (LiteLLM simple-shuffle)
//   round_robin      smooth weighted round robin as earliest-deadline-first (Envoy EDF): each
//                    pick takes the least deadline d_i and sets d_i += 1 / w_i; ties by index; a
//                    candidate (re)joining starts at d_i = now_v + 0.5 / w_i (now_v = the deadline
//                    of the last pick). Weights {2,1} give A B A A B A ... like nginx; O(log n)
//                    where nginx's smooth WRR is O(n).
//   least_in_flight  P2C: two distinct draws by weight; the lower (in_flight + 1)^bias / weight wins
//   latency_p2c      P2C: the lower PeakEwma cost / weight wins, cost = ewma * (in_flight + 1)
//   lowest_cost      the least in_price * input_tokens + out_price * output_tokens; equal costs
//                    share the traffic by weight
// P2C (Finagle P2CPick, Envoy least-request N_CHOICES=2): the first candidate is drawn by weight,
// the second by weight among the others; on an equal score the first wins. A candidate with
// share < 1 (ramping, or steered down by its quota) is taken when drawn first and never wins a
// comparison, so it gets exactly its weighted-random share, like a canary: a fast ramping target
// cannot take the whole load, and a slow one is not starved (the ramp needs its requests).
//
// Exclusion: `exclude` is never picked; `avoid` (targets already tried by this call) is picked
// only when nothing else is available in any tier (Envoy previous_hosts). Both are applied by
// zeroing their weights for the duration of the pick: O(k log n) for k listed indices.
// Panic (resilience.md 4.2, 8.8): when nothing is available the least recently failed candidate
// not excluded is returned, ignoring blocks and shares (a candidate that never failed counts as
// failed longest ago; ties by priority, then index); with `fail_fast` nothing is returned.
//
// Call order: construct with the candidates; pick() per attempt; on_start(i) when the attempt
// starts, on_finish(i, outcome) exactly once when it ends. set_share / block_until / set_weight
// whenever health or quota changes. Blocks end by themselves at their time (checked at each pick).
// Thread safety: all members are safe to call concurrently (one internal mutex held for O(log n)).
// Cost per pick: O(T + (k + 1) log n) with T tiers; lowest_cost finds the cheapest of the tier's C
// distinct prices by branch and bound over a tree of their least input / output prices: O(log C)
// when the bounds tell the classes apart (a price table), O(C) only when many classes cost exactly
// the same. on_start O(1); on_finish, set_share, block_until, set_weight O(log n) (+ O(log C) when
// a price class becomes available or unavailable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/policy/ewma.hpp"

namespace llmfailover {

// How a group picks its target (docs/balancing.md; policy/balancer.hpp).
struct BalancerPolicyConfig {
  std::string strategy;                 // "" = RouterConfig::routing_strategy; else weighted_random |
                                        // round_robin | least_in_flight | latency_p2c | lowest_cost
                                        // (or a LiteLLM routing_strategy name)
  bool fail_fast = false;               // no panic pick when nothing is available
  Millis ewma_decay{10000};             // latency_p2c: peak-EWMA decay (tau)
  Millis default_rtt{1000};             // latency_p2c: estimate before the first sample
  Millis rate_limit_penalty{5000};      // latency_p2c: minimum synthetic latency of a 429
  Millis failure_penalty{5000};         // latency_p2c: minimum synthetic latency of a failure
  std::string latency_metric = "ttft";  // ttft | per_output_token
  double active_request_bias = 1.0;     // least_in_flight
  bool operator==(const BalancerPolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

enum class Strategy { weighted_random, round_robin, least_in_flight, latency_p2c, lowest_cost };

std::string_view to_string(Strategy strategy) noexcept;
// Our names (as to_string gives them, '-' and '_' alike) and LiteLLM's routing_strategy values:
// simple-shuffle -> weighted_random, least-busy -> least_in_flight, latency-based-routing ->
// latency_p2c, cost-based-routing -> lowest_cost, usage-based-routing(-v2) -> weighted_random
// (quotas are enforced for every strategy; see docs/balancing.md). nullopt when unknown.
std::optional<Strategy> parse_strategy(std::string_view name) noexcept;

struct BalancerConfig {
  Strategy strategy = Strategy::weighted_random;
  EwmaConfig ewma;
  double active_request_bias = 1.0;  // Envoy least_request active_request_bias
  bool fail_fast = false;            // no panic pick when nothing is available
  bool operator==(const BalancerConfig&) const = default;
};

struct CandidateSpec {
  double weight = 1.0;              // clamped to [0, 1e6]
  int priority = 0;                 // tier: lower is used first
  double input_price_per_mtok = 0;  // USD per million tokens (lowest_cost)
  double output_price_per_mtok = 0;
  bool operator==(const CandidateSpec&) const = default;
};

struct PickOptions {
  std::span<const std::size_t> avoid;    // already tried: only when nothing else is available
  std::span<const std::size_t> exclude;  // never
  double input_tokens = 0;               // lowest_cost: the request's estimate
  double output_tokens = 0;              // (both 0: input and output prices count alike)
};

struct Pick {
  enum class Reason { strategy, reused, panic };
  std::size_t index = 0;
  Reason reason = Reason::strategy;  // reused: an avoided candidate; panic: the panic rule
  bool operator==(const Pick&) const = default;
};
std::string_view to_string(Pick::Reason reason) noexcept;

// How an attempt ended, for on_finish.
struct Outcome {
  enum class Kind { success, failure, rate_limited, cancelled };
  Kind kind = Kind::success;
  LatencySample latency;              // failure / rate_limited: latency.ttft = time until the error
  std::optional<Millis> retry_after;  // rate_limited: the server's hint

  static Outcome success(LatencySample sample) { return {Kind::success, sample, {}}; }
  static Outcome failure(Millis elapsed) { return {Kind::failure, {elapsed}, {}}; }
  static Outcome rate_limited(Millis elapsed, std::optional<Millis> retry_after = {}) {
    return {Kind::rate_limited, {elapsed}, retry_after};
  }
  // No verdict on the target (the caller cancelled, the request itself was invalid).
  static Outcome cancelled() { return {Kind::cancelled, {}, {}}; }
};

struct CandidateState {
  double weight = 0, share = 0;
  int priority = 0;
  bool available = false;  // effective weight > 0 now
  int in_flight = 0;
  double ewma_ms = 0;  // PeakEwma estimate now
  double cost = 0;     // PeakEwma cost now
  std::optional<Clock::time_point> blocked_until, last_failure;
  bool operator==(const CandidateState&) const = default;
};
// e.g. "weight=1 share=0.25 priority=0 available=1 in_flight=2 ewma_ms=812.5 cost=2437.5"
std::string to_string(const CandidateState& state);

class Balancer {
 public:
  // `clock` and `random` must outlive the Balancer.
  Balancer(BalancerConfig cfg, const std::vector<CandidateSpec>& candidates, const TimeSource& clock, Random& random);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  std::size_t size() const noexcept;
  Strategy strategy() const noexcept;

  // The candidate for the next attempt; nullopt when there are none, or nothing is available and
  // fail_fast is set. Indices out of range in `avoid` / `exclude` are ignored.
  std::optional<Pick> pick(const PickOptions& options = {});

  void on_start(std::size_t i);
  void on_finish(std::size_t i, const Outcome& outcome);

  void set_share(std::size_t i, double share);  // clamped to [0, 1]
  void set_weight(std::size_t i, double weight);
  // Every candidate's (input, output) price, USD per million tokens (lowest_cost), e.g. from a
  // price table read after construction; missing entries keep theirs, negatives and NaN are 0.
  // Rebuilds the tiers, O(n log n): round_robin's schedule starts afresh; shares, blocks, in
  // flight counts and latencies are kept.
  void set_prices(std::span<const std::pair<double, double>> prices);
  // Unavailable until `until`, then back at its share. A time not after now lifts a block.
  void block_until(std::size_t i, Clock::time_point until);
  // The earliest end of a block; nullopt when nothing is blocked.
  std::optional<Clock::time_point> next_unblock();

  CandidateState state(std::size_t i);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::policy
