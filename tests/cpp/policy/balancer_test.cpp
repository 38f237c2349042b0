// Balancer strategies, tiers, exclusion and panic with a manual clock and seeded randomness
// (issue 4; resilience.md 2.5, 4.1, 4.2, 8.8).
#include "llmfailover/policy/balancer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <thread>
#include <vector>

namespace llmfailover::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<CandidateSpec> weights(std::initializer_list<double> ws) {
  std::vector<CandidateSpec> out;
  for (double w : ws) out.push_back({w, 0, 0, 0});
  return out;
}

BalancerConfig with(Strategy s) {
  BalancerConfig cfg;
  cfg.strategy = s;
  return cfg;
}

std::vector<int> counts(Balancer& b, int draws, const PickOptions& o = {}) {
  std::vector<int> n(b.size(), 0);
  for (int i = 0; i < draws; ++i) {
    auto p = b.pick(o);
    if (p) ++n[p->index];
  }
  return n;
}

// Pearson's chi-square statistic of observed counts against expected shares.
double chi_square(const std::vector<int>& observed, const std::vector<double>& share) {
  double total = 0, chi = 0;
  for (int o : observed) total += o;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    double e = share[i] * total;
    if (e > 0) chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

TEST(BalancerTest, ParsesOurAndLiteLlmStrategyNames) {
  EXPECT_EQ(parse_strategy("simple-shuffle"), Strategy::weighted_random);
  EXPECT_EQ(parse_strategy("least-busy"), Strategy::least_in_flight);
  EXPECT_EQ(parse_strategy("latency-based-routing"), Strategy::latency_p2c);
  EXPECT_EQ(parse_strategy("cost-based-routing"), Strategy::lowest_cost);
  EXPECT_EQ(parse_strategy("usage-based-routing-v2"), Strategy::weighted_random);
  EXPECT_EQ(parse_strategy("usage-based-routing"), Strategy::weighted_random);
  EXPECT_EQ(parse_strategy("round-robin"), Strategy::round_robin);
  EXPECT_EQ(parse_strategy("LATENCY_P2C"), Strategy::latency_p2c);
  EXPECT_FALSE(parse_strategy("provider-budget-routing"));
  for (auto s : {Strategy::weighted_random, Strategy::round_robin, Strategy::least_in_flight, Strategy::latency_p2c,
                 Strategy::lowest_cost})
    EXPECT_EQ(parse_strategy(to_string(s)), s);
}

TEST(BalancerTest, WeightedRandomFollowsWeightsChiSquare) {
  ManualClock clock;
  SeededRandom random(42);
  Balancer b({}, weights({1, 2, 3, 4}), clock, random);
  auto n = counts(b, 100000);
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
  EXPECT_LT(chi_square(n, {0.1, 0.2, 0.3, 0.4}), 16.27) << n[0] << " " << n[1] << " " << n[2] << " " << n[3];
}

TEST(BalancerTest, WeightedRandomIsExactForGivenDraws) {
  ManualClock clock;
  SequenceRandom random({0.0, 0.09, 0.1, 0.29, 0.3, 0.59, 0.6, 0.99});
  Balancer b({}, weights({1, 2, 3, 4}), clock, random);
  std::vector<std::size_t> seen;
  for (int i = 0; i < 8; ++i) seen.push_back(b.pick()->index);
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 0, 1, 1, 2, 2, 3, 3}));
}

TEST(BalancerTest, ShareScalesTheWeight) {
  ManualClock clock;
  SeededRandom random(7);
  Balancer b({}, weights({1, 1}), clock, random);
  b.set_share(1, 0.05);  // ramping at 5%
  auto n = counts(b, 200000);
  double f = n[1] / 200000.0;
  EXPECT_NEAR(f, 0.05 / 1.05, 0.003);
}

TEST(BalancerTest, UnavailableIsNeverPickedAndComesBackWithItsShare) {
  ManualClock clock;
  SeededRandom random(1);
  Balancer b({}, weights({1, 1, 1}), clock, random);
  b.set_share(1, 0);
  EXPECT_EQ(counts(b, 3000)[1], 0);
  EXPECT_FALSE(b.state(1).available);
  b.set_share(1, 1);
  EXPECT_GT(counts(b, 3000)[1], 800);
}

TEST(BalancerTest, BlockEndsByItselfAtItsTime) {
  ManualClock clock;
  SeededRandom random(3);
  Balancer b({}, weights({1, 1}), clock, random);
  b.set_share(1, 0.5);
  b.block_until(1, clock.now() + seconds{5});
  EXPECT_EQ(b.next_unblock(), clock.now() + seconds{5});
  EXPECT_EQ(counts(b, 1000)[1], 0);
  clock.advance(seconds{5});
  auto n = counts(b, 30000);
  EXPECT_NEAR(n[1] / 30000.0, 0.5 / 1.5, 0.015);  // back at its share
  EXPECT_FALSE(b.next_unblock());
  // A later block supersedes; a block in the past lifts it.
  b.block_until(0, clock.now() + seconds{1});
  b.block_until(0, clock.now() + seconds{9});
  EXPECT_EQ(b.next_unblock(), clock.now() + seconds{9});
  b.block_until(0, clock.now());
  EXPECT_TRUE(b.state(0).available);
  EXPECT_FALSE(b.next_unblock());
}

TEST(BalancerTest, TiersAreActiveActiveInsideAndSpillOnlyWhenEmpty) {
  ManualClock clock;
  SeededRandom random(11);
  std::vector<CandidateSpec> c{{1, 0, 0, 0}, {1, 0, 0, 0}, {1, 1, 0, 0}, {5, 2, 0, 0}};
  Balancer b({}, c, clock, random);
  auto n = counts(b, 20000);
  EXPECT_EQ(n[2] + n[3], 0);
  EXPECT_NEAR(n[0] / 20000.0, 0.5, 0.02);
  b.block_until(0, clock.now() + seconds{10});
  n = counts(b, 1000);
  EXPECT_EQ(n[1], 1000);  // the tier still has one: no spill
  b.set_share(1, 0.01);   // even at 1% share
  EXPECT_EQ(counts(b, 1000)[1], 1000);
  b.set_share(1, 0);
  EXPECT_EQ(counts(b, 1000)[2], 1000);
  b.set_share(2, 0);
  EXPECT_EQ(counts(b, 1000)[3], 1000);
  clock.advance(seconds{10});
  n = counts(b, 1000);
  EXPECT_EQ(n[0], 1000);  // tier 0 is back
}

TEST(BalancerTest, RoundRobinExactSequences) {
  ManualClock clock;
  SequenceRandom unused({0.5});
  auto sequence = [&](std::initializer_list<double> ws, int n) {
    Balancer b(with(Strategy::round_robin), weights(ws), clock, unused);
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('A' + b.pick()->index);
    return s;
  };
  EXPECT_EQ(sequence({1, 1, 1}, 9), "ABCABCABC");
  EXPECT_EQ(sequence({2, 1}, 9), "ABAABAABA");
  EXPECT_EQ(sequence({5, 1, 1}, 14), "AAABCAAAAABCAA");
  EXPECT_EQ(sequence({1, 3}, 8), "BABBBBAB");  // 0.5 + 3 * (1/3) < 1.5 in binary
}

TEST(BalancerTest, RoundRobinKeepsItsOrderWhenTheRouterResyncsUnchangedState) {
  // The router pushes share and block state after every attempt; unchanged state must not move
  // a candidate in the schedule (it used to rejoin half a period in, shifting the order).
  ManualClock clock;
  SequenceRandom unused({0.5});
  Balancer b(with(Strategy::round_robin), weights({5, 1, 1}), clock, unused);
  std::string s;
  for (int i = 0; i < 14; ++i) {
    auto p = b.pick();
    s += static_cast<char>('A' + p->index);
    b.set_share(p->index, 1.0);
    b.block_until(p->index, clock.now());
  }
  EXPECT_EQ(s, "AAABCAAAAABCAA");
}

TEST(BalancerTest, RoundRobinSkipsUnavailableAndExcluded) {
  ManualClock clock;
  SequenceRandom unused({0.5});
  Balancer b(with(Strategy::round_robin), weights({1, 1, 1}), clock, unused);
  b.set_share(1, 0);
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>('A' + b.pick()->index);
  EXPECT_EQ(s, "ACAC");
  std::vector<std::size_t> ex{0};
  PickOptions o;
  o.exclude = ex;
  EXPECT_EQ(b.pick(o)->index, 2u);
  EXPECT_EQ(b.pick(o)->index, 2u);
  b.set_share(1, 1);  // rejoins half a period in: at once, then its fair turn
  std::map<std::size_t, int> n;
  for (int i = 0; i < 30; ++i) ++n[b.pick()->index];
  for (const auto& [i, k] : n) EXPECT_NEAR(k, 10, 1) << i;  // equal shares, up to the phase
}

TEST(BalancerTest, LeastInFlightTakesTheLessBusyOfTwo) {
  ManualClock clock;
  SeededRandom random(5);
  Balancer b(with(Strategy::least_in_flight), weights({1, 1}), clock, random);
  b.on_start(0);
  b.on_start(0);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(b.pick()->index, 1u);
  b.on_start(1);
  b.on_start(1);
  auto n = counts(b, 4000);  // equal load: the first draw wins, so by weight
  EXPECT_NEAR(n[0] / 4000.0, 0.5, 0.04);
  b.on_finish(0, Outcome::cancelled());
  EXPECT_EQ(b.state(0).in_flight, 1);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(b.pick()->index, 0u);
}

TEST(BalancerTest, LeastInFlightWeighsLoadLikeEnvoy) {
  ManualClock clock;
  SeededRandom random(5);
  Balancer b(with(Strategy::least_in_flight), weights({3, 1}), clock, random);
  // weight / (active + 1): A with 2 in flight (3/3 = 1) ties B idle (1/1): the first draw wins.
  b.on_start(0);
  b.on_start(0);
  auto n = counts(b, 8000);
  EXPECT_NEAR(n[0] / 8000.0, 0.75, 0.03);
  b.on_start(0);  // 3/4 < 1
  EXPECT_EQ(counts(b, 200)[1], 200);
}

TEST(BalancerTest, LeastInFlightHasNoFirstCandidateBias) {
  // LiteLLM least-busy sends every tie to the first deployment (#37622); ties here go by the draw.
  ManualClock clock;
  SeededRandom random(9);
  Balancer b(with(Strategy::least_in_flight), weights({1, 1, 1, 1}), clock, random);
  auto n = counts(b, 40000);
  EXPECT_LT(chi_square(n, {0.25, 0.25, 0.25, 0.25}), 16.27);
}

TEST(BalancerTest, P2cGivesAShareBelowOneExactlyItsWeightedShare) {
  ManualClock clock;
  SeededRandom random(13);
  Balancer b(with(Strategy::latency_p2c), weights({1, 1}), clock, random);
  b.on_finish(0, Outcome::success({Millis{2000}}));  // slow
  b.on_finish(1, Outcome::success({Millis{100}}));   // fast but ramping at 10%
  b.set_share(1, 0.1);
  auto n = counts(b, 50000);
  EXPECT_NEAR(n[1] / 50000.0, 0.1 / 1.1, 0.005);
}

// Sequential traffic against two targets whose true latency the test controls; returns the picks
// of target 1 per phase.
struct Sim {
  ManualClock clock;
  SeededRandom random{21};
  Balancer b{with(Strategy::latency_p2c), weights({1, 1}), clock, random};
  double latency[2] = {500, 500};

  int run(int requests, int* picks_of_1_out = nullptr) {
    int ones = 0;
    for (int i = 0; i < requests; ++i) {
      auto p = b.pick();
      b.on_start(p->index);
      clock.advance(milliseconds{100});
      b.on_finish(p->index, Outcome::success({Millis{static_cast<long>(latency[p->index])}}));
      ones += p->index == 1;
    }
    if (picks_of_1_out) *picks_of_1_out = ones;
    return ones;
  }
};

TEST(BalancerTest, LatencyP2cMovesAwayFromASlowTargetAndBackAfterRecovery) {
  Sim sim;
  int before = sim.run(400);
  EXPECT_GT(before, 100);          // both serve while equal
  sim.latency[1] = 20000;          // target 1 slows down
  int during = sim.run(300);       // 30 s of traffic
  EXPECT_LE(during, 1);            // one slow answer is enough to steer away
  sim.latency[1] = 400;            // recovers (a bit faster than target 0)
  int after_first = sim.run(300);  // the estimate decays: 20 s -> below 500 ms takes ~37 s
  int after = sim.run(300);
  EXPECT_GT(after_first + after, 100);
  EXPECT_GT(after, 150);  // and it takes its traffic back
}

TEST(BalancerTest, LatencyP2cPenalisesFastRateLimits) {
  ManualClock clock;
  SeededRandom random(17);
  Balancer b(with(Strategy::latency_p2c), weights({1, 1}), clock, random);
  b.on_finish(0, Outcome::success({Millis{800}}));
  b.on_finish(1, Outcome::success({Millis{900}}));
  b.on_start(1);
  b.on_finish(1, Outcome::rate_limited(Millis{15}));  // a fast 429 must not look fast
  EXPECT_DOUBLE_EQ(b.state(1).ewma_ms, 5000);
  EXPECT_EQ(counts(b, 100)[0], 100);
  b.on_finish(0, Outcome::rate_limited(Millis{15}, Millis{60000}));
  EXPECT_DOUBLE_EQ(b.state(0).ewma_ms, 60000);
  EXPECT_EQ(counts(b, 100)[1], 100);
}

TEST(BalancerTest, LatencyP2cPrefersUnknownOverSlow) {
  ManualClock clock;
  SeededRandom random(19);
  Balancer b(with(Strategy::latency_p2c), weights({1, 1, 1}), clock, random);
  b.on_finish(0, Outcome::failure(Millis{2}));  // 5 s penalty
  auto n = counts(b, 3000);
  EXPECT_LT(n[0], 3000 / 3 / 2);  // only when drawn twice... never with distinct draws over 3
  EXPECT_EQ(n[0], 0);
}

TEST(BalancerTest, LowestCostPicksTheCheapestForTheRequestMix) {
  ManualClock clock;
  SeededRandom random(23);
  // (input, output) USD per million tokens
  std::vector<CandidateSpec> c{{1, 0, 1, 10}, {1, 0, 2, 2}, {1, 0, 5, 1}};
  Balancer b(with(Strategy::lowest_cost), c, clock, random);
  PickOptions prompt_heavy;
  prompt_heavy.input_tokens = 1000;
  prompt_heavy.output_tokens = 100;
  EXPECT_EQ(b.pick(prompt_heavy)->index, 0u);  // 2000 < 2200 < 5100
  PickOptions output_heavy;
  output_heavy.input_tokens = 100;
  output_heavy.output_tokens = 1000;
  EXPECT_EQ(b.pick(output_heavy)->index, 2u);  // 1500 < 2200 < 10100
  b.block_until(2, clock.now() + seconds{1});
  EXPECT_EQ(b.pick(output_heavy)->index, 1u);
}

TEST(BalancerTest, LowestCostTiesShareByWeight) {
  ManualClock clock;
  SeededRandom random(29);
  std::vector<CandidateSpec> c{{1, 0, 3, 15}, {1, 0, 2.5, 10}, {3, 0, 2.5, 10}, {1, 0, 1, 100}};
  Balancer b(with(Strategy::lowest_cost), c, clock, random);
  PickOptions o;
  o.input_tokens = 500;
  o.output_tokens = 200;
  auto n = counts(b, 20000, o);
  EXPECT_EQ(n[0] + n[3], 0);
  EXPECT_NEAR(n[2] / 20000.0, 0.75, 0.015);
}

// The branch and bound over price classes against a scan of every available candidate: many
// prices (a few repeated), availability changing between picks, and a mix of request shapes.
TEST(BalancerTest, LowestCostMatchesAScanUnderChurn) {
  ManualClock clock;
  SeededRandom random(37);
  SeededRandom mix(41);
  const std::size_t n = 300;
  std::vector<CandidateSpec> c(n);
  for (std::size_t i = 0; i < n; ++i) {
    c[i].weight = 1 + static_cast<double>(i % 3);
    c[i].input_price_per_mtok = std::round(mix.uniform() * 40) / 4;  // 161 values: some repeat
    c[i].output_price_per_mtok = std::round(mix.uniform() * 120) / 4;
  }
  Balancer b(with(Strategy::lowest_cost), c, clock, random);
  std::vector<bool> up(n, true);
  for (int round = 0; round < 2000; ++round) {
    const auto i = static_cast<std::size_t>(mix.uniform() * n);
    up[i] = mix.uniform() < 0.6;
    b.set_share(i, up[i] ? 1.0 : 0.0);
    PickOptions o;
    o.input_tokens = std::round(mix.uniform() * 4000);
    o.output_tokens = std::round(mix.uniform() * 1000);
    auto cost = [&](std::size_t k) {
      double in = o.input_tokens, out = o.output_tokens;
      if (in <= 0 && out <= 0) in = out = 1;
      return c[k].input_price_per_mtok * in + c[k].output_price_per_mtok * out;
    };
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k)
      if (up[k]) best = std::min(best, cost(k));
    auto p = b.pick(o);
    ASSERT_TRUE(p);
    if (std::isinf(best)) continue;  // nothing up: the panic pick
    ASSERT_TRUE(up[p->index]) << "round " << round;
    ASSERT_NEAR(cost(p->index), best, 1e-9 * std::max(1.0, best)) << "round " << round;
  }
}

TEST(BalancerTest, ExcludedIsNeverPicked) {
  ManualClock clock;
  SeededRandom random(31);
  for (auto s : {Strategy::weighted_random, Strategy::round_robin, Strategy::least_in_flight, Strategy::latency_p2c,
                 Strategy::lowest_cost}) {
    Balancer b(with(s), weights({1, 5, 1}), clock, random);
    std::vector<std::size_t> ex{1, 1, 99};  // duplicates and out-of-range indices are ignored
    PickOptions o;
    o.exclude = ex;
    auto n = counts(b, 2000, o);
    EXPECT_EQ(n[1], 0) << to_string(s);
    EXPECT_EQ(n[0] + n[2], 2000) << to_string(s);
    EXPECT_GT(counts(b, 2000)[1], 0) << to_string(s);  // restored afterwards
  }
}

TEST(BalancerTest, AvoidedIsReusedOnlyWhenNothingElseIsAvailableInAnyTier) {
  ManualClock clock;
  SeededRandom random(37);
  std::vector<CandidateSpec> c{{1, 0, 0, 0}, {1, 1, 0, 0}};
  Balancer b({}, c, clock, random);
  std::vector<std::size_t> tried{0};
  PickOptions o;
  o.avoid = tried;
  EXPECT_EQ(b.pick(o), (Pick{1, Pick::Reason::strategy}));  // the next tier before a retry of 0
  std::vector<std::size_t> both{0, 1};
  o.avoid = both;
  EXPECT_EQ(b.pick(o), (Pick{0, Pick::Reason::reused}));  // tier order again among the tried
  b.set_share(0, 0);
  EXPECT_EQ(b.pick(o), (Pick{1, Pick::Reason::reused}));
}

TEST(BalancerTest, PanicPicksTheLeastRecentlyFailed) {
  ManualClock clock;
  SeededRandom random(41);
  Balancer b({}, weights({1, 1, 1}), clock, random);
  b.on_finish(0, Outcome::failure(Millis{5}));
  clock.advance(seconds{1});
  b.on_finish(1, Outcome::rate_limited(Millis{5}));
  clock.advance(seconds{1});
  b.on_finish(2, Outcome::failure(Millis{5}));
  for (std::size_t i = 0; i < 3; ++i) b.block_until(i, clock.now() + seconds{30});
  EXPECT_EQ(b.pick(), (Pick{0, Pick::Reason::panic}));
  std::vector<std::size_t> ex{0};
  PickOptions o;
  o.exclude = ex;
  EXPECT_EQ(b.pick(o), (Pick{1, Pick::Reason::panic}));
  b.on_finish(0, Outcome::failure(Millis{5}));  // now 0 failed most recently
  EXPECT_EQ(b.pick(), (Pick{1, Pick::Reason::panic}));
  EXPECT_EQ(b.state(0).last_failure, clock.now());
}

TEST(BalancerTest, PanicPrefersNeverFailedThenTier) {
  ManualClock clock;
  SeededRandom random(43);
  std::vector<CandidateSpec> c{{1, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}};
  Balancer b({}, c, clock, random);
  b.on_finish(1, Outcome::failure(Millis{5}));
  for (std::size_t i = 0; i < 3; ++i) b.set_share(i, 0);
  EXPECT_EQ(b.pick(), (Pick{2, Pick::Reason::panic}));  // never failed, tier 0
  std::vector<std::size_t> ex{2};
  PickOptions o;
  o.exclude = ex;
  EXPECT_EQ(b.pick(o), (Pick{0, Pick::Reason::panic}));  // never failed, tier 1
}

TEST(BalancerTest, FailFastReturnsNothing) {
  ManualClock clock;
  SeededRandom random(47);
  BalancerConfig cfg;
  cfg.fail_fast = true;
  Balancer b(cfg, weights({1, 1}), clock, random);
  b.set_share(0, 0);
  b.block_until(1, clock.now() + seconds{3});
  EXPECT_FALSE(b.pick());
  clock.advance(seconds{3});
  EXPECT_EQ(b.pick(), (Pick{1, Pick::Reason::strategy}));
  Balancer empty(cfg, {}, clock, random);
  EXPECT_FALSE(empty.pick());
  Balancer empty_panic({}, {}, clock, random);
  EXPECT_FALSE(empty_panic.pick());
}

TEST(BalancerTest, ZeroWeightIsUnavailableAndSetWeightChangesTheSplit) {
  ManualClock clock;
  SeededRandom random(53);
  Balancer b({}, weights({0, 1}), clock, random);
  EXPECT_EQ(counts(b, 500)[0], 0);
  b.set_weight(0, 3);
  EXPECT_NEAR(counts(b, 20000)[0] / 20000.0, 0.75, 0.015);
  EXPECT_DOUBLE_EQ(b.state(0).weight, 3);
}

TEST(BalancerTest, ManyCandidatesNeverPickUnavailableAndFollowShares) {
  ManualClock clock;
  SeededRandom random(59);
  const std::size_t n = 1000;
  std::vector<CandidateSpec> c(n);
  Balancer b(with(Strategy::weighted_random), c, clock, random);
  std::vector<double> share(n, 1.0);
  SeededRandom ops(61);
  for (int round = 0; round < 20000; ++round) {
    auto i = static_cast<std::size_t>(ops.uniform() * n);
    double s = ops.uniform() < 0.3 ? 0.0 : ops.uniform();
    share[i] = s;
    b.set_share(i, s);
    auto p = b.pick();
    ASSERT_TRUE(p);
    ASSERT_GT(share[p->index], 0) << p->index;
  }
  // Aggregate check: the chosen shares add up like the weights say.
  double total = 0, hi = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += share[i];
    if (i < n / 2) hi += share[i];
  }
  int low_half = 0, draws = 50000;
  for (int k = 0; k < draws; ++k) low_half += b.pick()->index < n / 2;
  EXPECT_NEAR(low_half / double(draws), hi / total, 0.01);
}

TEST(BalancerTest, StateIsPrintable) {
  ManualClock clock;
  SeededRandom random(67);
  Balancer b(with(Strategy::latency_p2c), weights({1}), clock, random);
  b.on_start(0);
  b.on_start(0);
  b.on_finish(0, Outcome::success({Millis{500}}));
  auto s = b.state(0);
  EXPECT_EQ(s.in_flight, 1);
  EXPECT_DOUBLE_EQ(s.ewma_ms, 500);
  EXPECT_DOUBLE_EQ(s.cost, 1000);
  EXPECT_EQ(to_string(s), "weight=1 share=1 priority=0 available=1 in_flight=1 ewma_ms=500 cost=1000");
  EXPECT_EQ(to_string(Pick::Reason::panic), "panic");
}

TEST(BalancerTest, ConcurrentPicksAndUpdatesStayConsistent) {
  ManualClock clock;
  SeededRandom random(71);
  Balancer b(with(Strategy::latency_p2c), weights({1, 2, 3, 4, 5, 6, 7, 8}), clock, random);
  std::atomic<int> picked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        auto p = b.pick();
        if (!p) continue;
        ++picked;
        b.on_start(p->index);
        if (i % 7 == 0) b.set_share((p->index + t) % 8, (i % 3) / 2.0);
        b.on_finish(p->index, Outcome::success({Millis{100 + static_cast<int>(p->index) * 10}}));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(picked.load(), 20000);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(b.state(i).in_flight, 0);
}

}  // namespace
}  // namespace llmfailover::policy
