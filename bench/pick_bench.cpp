// pick_bench.cpp — nanoseconds per Balancer::pick() by strategy and number of candidates
// (issue 4 item 6: under 2 us per pick at 1,000 candidates). Kept apart from the tests.
//
// Build and run by hand (from the repository root, against the sources, no other dependency):
//   g++ -O2 -std=c++20 -Icpp/include bench/pick_bench.cpp cpp/src/policy/balancer*.cpp \
//       cpp/src/policy/ewma.cpp -o /tmp/pick_bench -pthread && /tmp/pick_bench
// or with CMake: -DLLMFAILOVER_BUILD_BENCH=ON, target llmfailover_pick_bench (bench/CMakeLists.txt).
// Options: --quick (fewer picks), --seconds-per-cell S (default 0.3).
//
// The mix, per cell: weights 1..10, two priority tiers (90% / 10% of the candidates), 5 price
// classes (the row "lowest_cost, distinct prices" gives every candidate a price of its own: the
// worst case, O(C log n) with C = n); 10% of the candidates unavailable (share 0), 5% blocked for a while, 10% ramping
// (share 0.05..0.5). Every pick is followed by on_start + on_finish with a latency sample (so P2C
// costs move), and every 8th pick by a set_share or block_until on a random candidate; every 4th
// pick excludes the previous choice and avoids one more (a retry). The time printed is per
// iteration of that loop divided by one pick, i.e. it includes these updates: it is the cost the
// router pays per attempt, not the bare pick. Results are printed as a Markdown table; write them
// down next to the machine they ran on (docs/balancing.md).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/policy/balancer.hpp"

using namespace llmfailover;
using namespace llmfailover::policy;

namespace {

// A fast, non-locking random source for the benchmark (the Balancer only needs Random&).
class SplitMix final : public Random {
 public:
  explicit SplitMix(std::uint64_t seed) : s_(seed) {}
  double uniform() override {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t s_;
};

struct Cell {
  double ns_per_pick;
  long picks;
};

Cell run(Strategy strategy, std::size_t n, double seconds, bool distinct_prices = false) {
  ManualClock clock;
  SplitMix random(n * 31 + static_cast<int>(strategy));
  SplitMix mix(12345 + n);
  std::vector<CandidateSpec> specs(n);
  for (std::size_t i = 0; i < n; ++i) {
    specs[i].weight = 1 + static_cast<double>(i % 10);
    specs[i].priority = mix.uniform() < 0.9 ? 0 : 1;
    const double price = distinct_prices ? static_cast<double>(i) / static_cast<double>(n) : static_cast<double>(i % 5);
    specs[i].input_price_per_mtok = 0.5 + price;
    specs[i].output_price_per_mtok = 8.0 - price;
  }
  BalancerConfig cfg;
  cfg.strategy = strategy;
  Balancer b(cfg, specs, clock, random);
  for (std::size_t i = 0; i < n; ++i) {
    double u = mix.uniform();
    if (u < 0.10) b.set_share(i, 0);
    else if (u < 0.15) b.block_until(i, clock.now() + std::chrono::seconds{5 + static_cast<int>(i % 30)});
    else if (u < 0.25) b.set_share(i, 0.05 + 0.45 * mix.uniform());
  }
  PickOptions opts;
  opts.input_tokens = 800;
  opts.output_tokens = 300;
  std::size_t exclude[1] = {0}, avoid[1] = {0};

  long picks = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  std::size_t last = 0;
  while (true) {
    for (int k = 0; k < 256; ++k, ++picks) {
      PickOptions o = opts;
      if ((picks & 3) == 3) {
        exclude[0] = last;
        avoid[0] = static_cast<std::size_t>(mix.uniform() * n);
        o.exclude = exclude;
        o.avoid = avoid;
      }
      auto p = b.pick(o);
      if (!p) continue;
      last = p->index;
      b.on_start(last);
      b.on_finish(last, Outcome::success({Millis{200 + static_cast<int>(last % 700)}}));
      if ((picks & 7) == 0) {
        auto i = static_cast<std::size_t>(mix.uniform() * n);
        double u = mix.uniform();
        if (u < 0.3) b.block_until(i, clock.now() + std::chrono::seconds{2});
        else b.set_share(i, u < 0.5 ? 0.0 : u);
      }
      clock.advance(std::chrono::microseconds{50});
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  return {ns / static_cast<double>(picks), picks};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) seconds = 0.05;
    else if (!std::strcmp(argv[i], "--seconds-per-cell") && i + 1 < argc) seconds = std::atof(argv[++i]);
  }
  const std::size_t sizes[] = {10, 100, 1000, 10000};
  const Strategy strategies[] = {Strategy::weighted_random, Strategy::round_robin, Strategy::least_in_flight,
                                 Strategy::latency_p2c, Strategy::lowest_cost};
  std::printf("ns per pick (pick + on_start + on_finish, updates and retries interleaved)\n\n");
  std::printf("| strategy |");
  for (auto n : sizes) std::printf(" %zu |", n);
  std::printf("\n|---|");
  for (std::size_t i = 0; i < std::size(sizes); ++i) std::printf("---:|");
  std::printf("\n");
  auto row = [&](const std::string& name, Strategy s, bool distinct) {
    std::printf("| %s |", name.c_str());
    for (auto n : sizes) {
      auto cell = run(s, n, seconds, distinct);
      std::printf(" %.0f |", cell.ns_per_pick);
      std::fflush(stdout);
    }
    std::printf("\n");
  };
  for (auto s : strategies) row(std::string(to_string(s)), s, false);
  row("lowest_cost, distinct prices", Strategy::lowest_cost, true);
  return 0;
}
