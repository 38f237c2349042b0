// probes.hpp (private) — the router's active health probes (docs/balancing.md "Active health
// probes"; policy/probe.hpp, policy/health.hpp).
//
// For every target whose effective HealthCheckConfig (the deployment's own, else its group's) is
// enabled, the Prober sends one probe at a time: at TargetHealth::next_probe_at() a timer on the
// router's HttpClient fires and starts the probe; its result goes to the TargetHealth, the target's
// balancer share is synced, and the next timer is set from the new next_probe_at().
//   path ""   a real 1-token completion in the target's dialect (provider->chat_request with
//             {"model", "messages": [{"role": "user", "content": prompt}], "max_tokens": 1}): it
//             is billed like any request.
//   path "/x" a GET of base_url + path with the auth headers the translated chat request carries
//             (targets without a base_url: the provider's origin, e.g. https://api.anthropic.com).
//             Not for Bedrock, whose SigV4 signature covers the request it was made for.
// Every limit of the probe (connect, first byte, idle, total) is the config's `timeout`. 2xx
// passes; an error status is classified by the provider; no answer (refused, reset, timeout)
// fails. Probes take no health permit, no concurrency slot and no rpm / tpm ticket, are not
// in-flight calls and never feed the balancer's latency estimate. A target with credentials to fetch
// (providers/credentials.hpp) gets one first; a failed fetch is the probe's result.
//
// Lifetime: Router::Impl owns the Prober; the Router's constructor calls start() and close()
// calls stop() before it shuts the HttpClient down. Timers and exchanges hold the Impl only
// weakly, and every callback checks stop() before it starts anything, so nothing runs on a
// closed router (HttpClient::shutdown runs pending timers early: they find the Prober stopped).
// Thread safety: start() once; stop() from any thread; callbacks run on the client's io threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "llmfailover/router.hpp"

namespace llmfailover {

struct Target;

class Prober {
 public:
  Prober();
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Gives each target with an enabled health check its probes and sets its first timer.
  void start(const std::shared_ptr<Router::Impl>& router);
  // No probe starts after this; timers and probes in flight are cancelled. Idempotent.
  void stop();
  bool stopped() const noexcept { return stopped_.load(); }
  // How many targets are probed.
  std::size_t size() const;

  struct Slot;  // one probed target

 private:
  void schedule(Router::Impl& r, Slot& s);
  void fire(Router::Impl& r, Slot& s);
  void fire_safely(Router::Impl& r, Slot& s) noexcept;  // the timer's callback: nothing escapes to the io thread
  void send(Router::Impl& r, Slot& s, const std::optional<Secret>& token);
  void finish(Router::Impl& r, Slot& s, ErrorClass cls, const std::string& detail);
  void keep(Slot& s, std::shared_ptr<transport::Exchange> handle);

  std::weak_ptr<Router::Impl> router_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

// A target's effective health check: its deployment's own, else its group's.
const HealthCheckConfig& health_check_for(const Target& target);

}  // namespace llmfailover
