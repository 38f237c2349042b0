// metrics_bench.cpp — nanoseconds per request of the router's metrics hooks (issue 15 point 1:
// under 1 us per request). Kept apart from the tests.
//
// Build and run by hand (from the repository root, against the sources, no other dependency):
//   g++ -O2 -std=c++20 -Icpp/include bench/metrics_bench.cpp cpp/src/router/metrics.cpp
//     -o /tmp/metrics_bench -pthread && /tmp/metrics_bench
// or with CMake: -DLLMFAILOVER_BUILD_BENCH=ON, target llmfailover_metrics_bench.
// Options: --seconds S per row (default 0.3).
//
// One "request" is what the hooks in cpp/src/router/routed_metrics.cpp do for a call that failed
// over once: two attempt-end hooks (a 503, then a success with its time to first token), the
// scan of a two-entry route log's decisions, the cost of the answer (price() of its usage) and
// the call-end hook (record_call). The rows: one thread; two threads on the same target and group
// (the contended case: the counters' cache lines move between cores); two threads on two targets.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "llmfailover/metrics.hpp"

using namespace llmfailover::metrics;

namespace {

constexpr std::string_view kDecisions[] = {"failover", "served"};
constexpr std::string_view kFailovers[] = {"failover", "next_group", "budget_exhausted", "recover"};

void one_request(TargetCounters& failed, TargetCounters& served, GroupCounters& group, long i) {
  const double jitter = static_cast<double>(i % 97) * 1e-3;
  record_attempt(failed, 2 /* retryable */, 0.05 + jitter, std::nullopt);
  record_attempt(served, 0 /* none */, 0.3 + jitter, 0.2 + jitter);
  CallRecord rec;
  for (std::string_view d : kDecisions) {
    if (d == "served") rec.outcome = CallOutcome::ok;
    for (std::string_view f : kFailovers)
      if (d == f) ++rec.failovers;
  }
  rec.seconds = 0.35 + jitter;
  CallCost c;
  c.usage_known = true;
  c.usage = {1200 + i % 50, 300, 1024, 0};
  c.cost = price(served.prices, c.usage);
  record_call(group, &served, rec, c);
}

struct Row {
  double ns_per_request;
  long requests;
};

Row run(int threads, bool shared_target, double seconds) {
  std::vector<std::unique_ptr<TargetCounters>> targets;
  for (int i = 0; i < 2 * threads; ++i) {
    targets.push_back(
        std::make_unique<TargetCounters>(TargetLabels{"g", "t" + std::to_string(i), "d", "openai", "m", "key0"}));
    targets.back()->prices = Prices{2.5e-6, 1e-5, 1.25e-6, std::nullopt, "bench"};
  }
  GroupCounters group("g");
  std::atomic<long> total{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < threads; ++k) {
    pool.emplace_back([&, k] {
      TargetCounters& failed = *targets[shared_target ? 0 : 2 * k];
      TargetCounters& served = *targets[shared_target ? 1 : 2 * k + 1];
      while (!go.load()) {}
      long n = 0;
      const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
      while (true) {
        for (int j = 0; j < 256; ++j) one_request(failed, served, group, n++);
        if (std::chrono::steady_clock::now() >= end) break;
      }
      total += n;
    });
  }
  go = true;
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  // Wall time x threads / requests: the CPU time one request's hooks take.
  return {elapsed * threads / static_cast<double>(total.load()), total.load()};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
  std::printf("| hooks per request (2 attempts, 1 failover, priced) | threads | ns / request | requests |\n");
  std::printf("|---|---:|---:|---:|\n");
  struct Case {
    const char* name;
    int threads;
    bool shared;
  } cases[] = {{"one thread", 1, true}, {"same target and group", 2, true}, {"own targets, same group", 2, false}};
  for (const auto& c : cases) {
    Row r = run(c.threads, c.shared, seconds);
    std::printf("| %s | %d | %.0f | %ld |\n", c.name, c.threads, r.ns_per_request, r.requests);
  }
  return 0;
}
