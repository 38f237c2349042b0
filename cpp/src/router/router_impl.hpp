// router_impl.hpp (private) — the router's targets and groups, shared by router.cpp and
// routed_call.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "llmfailover/metrics.hpp"
#include "llmfailover/policy/balancer.hpp"
#include "llmfailover/policy/budget.hpp"
#include "llmfailover/policy/lease.hpp"
#include "llmfailover/policy/failover.hpp"
#include "llmfailover/policy/quota.hpp"
#include "llmfailover/providers/credentials.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/policy/health.hpp"
#include "llmfailover/router.hpp"
#include "budgets.hpp"
#include "llmfailover/state/shared_state.hpp"
#include "probes.hpp"
#include "response_affinity.hpp"
#include "llmfailover/secret_set.hpp"

namespace llmfailover {

// What all keys of one deployment share: its concurrency cap and its rpm / tpm window.
struct DeploymentState {
  DeploymentState(const DeploymentConfig& d, const TimeSource& clock)
      : limiter(d.max_concurrency), window(policy::QuotaLimits{d.rpm, d.tpm}, clock) {}
  policy::ConcurrencyLimiter limiter;
  policy::RateWindow window;
  std::shared_ptr<policy::QuotaLease> lease;  // the fleet's rpm / tpm (`state: redis`), else null
  std::vector<struct Target*> keys;           // its targets, one per API key
};

// How long a deployment at its max_concurrency stays out of its group's balancer unless a slot
// frees first (leave() lifts it at once; the expiry only bounds a lost race between the two).
inline constexpr Millis kCapRecheck{1000};

// One deployment x API key: the unit of health, cooldown and balancing.
struct Target {
  std::string id;
  std::string group;
  const DeploymentConfig* deployment = nullptr;
  int key_index = 0;
  const providers::Provider* provider = nullptr;  // the dialect (registry-owned)
  providers::Endpoint endpoint;                   // URL, key, model for this target
  // What must be fetched before an attempt, from the provider's registry entry;
  // null when the Endpoint's own key or signing authenticates (providers/credentials.hpp).
  std::shared_ptr<providers::Credentials> credentials;
  std::unique_ptr<policy::TargetHealth> health;
  std::atomic<int> in_flight{0};
  DeploymentState* dep = nullptr;                  // shared by the deployment's keys
  std::unique_ptr<policy::RateLimitState> rate;    // what the provider's headers say is left (per key)
  KeyLimits key_limits;                            // this key's own rpm / tpm (0 = none)
  std::unique_ptr<policy::RateWindow> key_window;  // set when key_limits has one
  std::shared_ptr<policy::QuotaLease> key_lease;   // the fleet's, with `state: redis` and key_limits
  std::atomic<Clock::rep> quota_block{0};          // rpm / tpm full until (time_since_epoch)
  struct Group* owner = nullptr;
  std::size_t index = 0;                      // in owner->targets and its balancer
  metrics::TargetCounters* meters = nullptr;  // in Router::Impl::metrics (routed_metrics.cpp)

  // Its normal time to the first token (issue 11, adaptive first-token limit): the median of the
  // last kTtftKept attempts it served of each kind (policy::ttft_kind(): streams to the first
  // content token; plain answers to the headers, by requested output size); a median, so one slow
  // answer does not move it.
  static constexpr std::size_t kTtftKept = 8;
  void learn_ttft(std::size_t kind, Millis ttft) {
    std::lock_guard lock(ttft_mutex_);
    auto& ring = ttft_.at(kind);
    ring.at(ttft_n_[kind]++ % kTtftKept) = std::max(Millis{0}, ttft);
  }
  // nullopt until it served `min_samples` answers of this kind. `q`: the quantile (0.95: the
  // hedge delay's p95; of 8 samples that is the slowest).
  std::optional<Millis> normal_ttft(std::size_t kind, std::size_t min_samples, double q = 0.5) {
    std::lock_guard lock(ttft_mutex_);
    const std::size_t n = std::min(ttft_n_.at(kind), kTtftKept);
    if (n < min_samples || n == 0) return std::nullopt;
    std::array<Millis, kTtftKept> xs = ttft_[kind];
    const auto i = std::min(n - 1, static_cast<std::size_t>(q * static_cast<double>(n)));
    std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(i),
                     xs.begin() + static_cast<std::ptrdiff_t>(n));
    return xs[i];
  }

 private:
  std::mutex ttft_mutex_;
  std::array<std::array<Millis, kTtftKept>, policy::kTtftKinds> ttft_{};
  std::array<std::size_t, policy::kTtftKinds> ttft_n_{};
};

struct Group {
  std::string name;
  std::vector<Target*> targets;
  const GroupPolicy* policy = nullptr;
  std::unique_ptr<policy::RetryBudget> budget;
  std::unique_ptr<policy::Balancer> balancer;  // candidates in `targets` order
  metrics::GroupCounters* meters = nullptr;    // in Router::Impl::metrics (routed_metrics.cpp)
};

// The places a request was counted in before it was sent: the deployment's rpm / tpm window and
// the API key's (each only when it has limits).
struct QuotaTickets {
  std::optional<policy::RateWindow::Ticket> deployment, key;
  struct Shared {
    std::int64_t window = 0, tokens = 0;
  };
  std::optional<Shared> shared;  // spent from the fleet's leases (the deployment's and the key's)
  bool empty() const noexcept { return !deployment && !key && !shared; }
  // The answer's actual token count replaces the estimate in both windows.
  void correct(Target& t, std::int64_t tokens) const;
  // The request was never sent: out of both windows.
  void cancel(Target& t) const;
};

// A target chosen for an attempt, with what was taken for it: the health permit, a slot of the
// deployment's concurrency cap and the quota tickets.
struct Picked {
  Target* target = nullptr;
  policy::Pick::Reason reason = policy::Pick::Reason::strategy;
  QuotaTickets tickets;
};

struct Router::Impl {
  // `transport` null: an HttpClient with `options` (the router's own io threads).
  Impl(RouterConfig cfg, transport::ClientOptions options, std::shared_ptr<transport::Exchanger> transport,
       std::shared_ptr<TimeSource> time, std::shared_ptr<Random> random);

  // A target of `group` able to take a call now, never one in `exclude`, preferring those not in
  // `tried`, chosen by the group's Balancer (strategy, tiers, weight x share). Takes the target's
  // health permit, a concurrency slot and a quota ticket (admit()); a target refused by any of
  // them is skipped at once for the next one, and `skipped` (if given) says why. nullopt when none.
  std::optional<Picked> pick(Group& group, const std::set<const Target*>& tried, const std::set<const Target*>& exclude,
                             const policy::TokenEstimate& estimate, std::string* skipped = nullptr);
  // The concurrency slot and quota tickets for `t` (its health permit is the caller's); false with
  // the reason in `why` when the deployment is at its cap, or the deployment or the key is over its
  // rpm / tpm (then neither window counts the request).
  bool admit(Target& t, const policy::TokenEstimate& estimate, QuotaTickets& tickets, std::string* why);
  // The fleet-wide part of admit(): spends from the deployment's and the key's leases (never waits
  // for Redis: policy/lease.hpp); true when there are none.
  bool spend_shared(Target& t, const policy::TokenEstimate& estimate, QuotaTickets& tickets);
  // `state: redis`: the fleet's leases and the breaker watchers (null shared: nothing to do).
  void share_state();
  // Pushes the target's health, quota and concurrency state into its group's balancer (share,
  // block): a deployment at its cap is blocked for kCapRecheck, so picks skip it in O(log n).
  void sync(Target& t);
  // One of the deployment's concurrency slots is free again; its keys are offered again.
  void leave(DeploymentState& dep);
  Group* group(const std::string& name);
  std::vector<std::string> chain(const std::string& first, const RouteOverrides& overrides) const;
  double ms_since_start(Clock::time_point t) const;
  void record_event(RouterEvent event);
  // Calls `done` with a credential for `t` (which has credentials) or the error that prevented one:
  // t.credentials->fetch() over this router's transport, with the deployment's proxy.
  void fetch_credential(Target& t, const Timeouts& timeouts, providers::Credentials::Done done);

  RouterConfig config;
  std::shared_ptr<TimeSource> time;
  std::shared_ptr<Random> random;
  transport::ClientOptions options;               // queue limits for calls; the client's, when it is one
  std::shared_ptr<transport::HttpClient> client;  // the real transport; null over another Exchanger
  std::shared_ptr<transport::Exchanger> http;     // exchanges and timers (transport/exchanger.hpp)
  std::vector<std::unique_ptr<Target>> targets;
  std::map<const DeploymentConfig*, std::unique_ptr<DeploymentState>> deployments;
  std::map<std::string, Group> groups;
  Clock::time_point started;
  SecretSet secrets;          // every configured key, and AWS credentials from the environment (secret_set.hpp)
  ResponseAffinity affinity;  // Responses API ids -> the target holding their state

  std::mutex events_mutex;
  std::vector<RouterEvent> events;
  metrics::Registry metrics;  // counters per target and group (metrics.hpp)
  Budgets budgets;            // spend caps (budgets.hpp)

  // `state: redis` (state/shared_state.hpp), else null. After everything its watchers reach, so
  // its refresher thread stops before they go.
  std::unique_ptr<state::SharedState> shared;
  Prober prober;  // active health probes (probes.hpp); last, so it goes first
};

// Makes the metrics slots of every target and group, with the config's prices (routed_metrics.cpp).
void init_metrics(Router::Impl& router);

// Answers a call no target may serve for budget (its tag's cap, or every target's of its chain
// reached) with a 429 naming the budget, before any upstream attempt; false when it may go on
// (budgets.cpp).
bool refuse_over_budget(Router::Impl& router, const RouteRequest& request, const std::vector<std::string>& chain,
                        Channel& channel);

// Builds and starts one call (routed_call.cpp).
std::shared_ptr<RoutedCall> start_routed_call(std::shared_ptr<Router::Impl> router, RouteRequest request);

}  // namespace llmfailover
