// router.hpp — the failover engine: model groups, fallback chains, retries with budgets and
// deadlines, per-target circuit breakers with gradual return, and stream safety.
//
// A call names a model group ("smart"). The router walks the group's targets (deployment x API
// key) and then its fallback chain, deciding after each failure by its ErrorClass (error.hpp); the
// decision is a pure, table-tested policy (policy/failover.hpp), which the call only carries out:
//   transparent   retry at once, once, not charged to the budget
//   retryable     retry (another target of the group first) after full-jitter backoff or the
//                 server's hint, counted by the breaker; a retry is charged to the budget (below)
//   rate_limited  cool that key down for its reset period; move on at once (wait only when
//                 nothing else is left and the hint fits the deadline)
//   fatal_target  force that key open; move on
//   fatal_request never retried on the same model: context-window and content-policy errors go
//                 to their own chains when configured, otherwise surface with the provider's reason
//   ignored       (caller cancelled, deadline) surface at once
// A silent target (no headers before its first-token timeout) is not retried; the next is tried.
// Retry budget (policy/budget.hpp, one per group; each call deposits once per group it enters):
// it exists to stop retry storms against failing targets, so only an attempt on a target this
// call has already tried (deployment x key; a "retry", a "retry_after" wait, or a "failover" back
// to a tried one) draws on it, and a refusal ("budget_exhausted") moves the call to its next
// group instead. The first attempt on a target the call has not tried (another deployment,
// another key, a fallback group) never draws and is never refused; nor is the one free
// transparent retry (nothing reached the upstream).
// Streams: nothing reaches the caller before the first content token, so every earlier failure
// fails over invisibly; after it the call is committed, and a cut or stall ends with a
// `stream_interrupted` error (never a truncated success) unless recovery is configured.
//
// Hardening: whatever an upstream sends (a wrong-typed field in any dialect, an oversized error
// body) ends the attempt classified and the call fails over or ends with an error, never a hang;
// an error status decides even when its body broke off. Credentials an upstream echoes (every
// configured key, the attempt's auth headers, Vertex tokens, ?key=, AWS secrets and session
// tokens) are replaced by "***" in everything the router keeps: error bodies and headers,
// messages, reasons and the route log. Durations saturate ("no limit" = ten years, never an
// overflow). A finished call holds no timer: it is freed when its caller lets go.
//
// Call order: Router(config) -> send() -> consume RoutedCall::channel() (call.hpp).
// Thread safety: every member is safe from any thread; io threads never touch Python.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/call.hpp"
#include "llmfailover/config.hpp"
#include "llmfailover/metrics.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/transport/exchanger.hpp"
#include "llmfailover/transport/http_client.hpp"

namespace llmfailover {

// Per-request overrides (extra_body "llmfailover": {...} in Python).
struct RouteOverrides {
  std::optional<std::vector<std::string>> fallbacks;  // replaces the group's chain
  std::optional<Millis> deadline, first_token, idle;
  std::optional<int> max_attempts;
  std::string tag;  // the caller's tag (a tenant): its spend cap applies (config `budgets:`)
};

// Pass-through (a plain client, plain.hpp): the call's request goes to the group's target as the
// caller built it (providers::build_request(): the method, path, query, headers and body verbatim,
// the URL and credentials of `upstream`), and the caller gets the upstream's answer as it came:
// the status, headers and body of the last attempt (a non-SSE body in pieces as body events, an
// SSE stream as sse events), no model rewrite, no translation, no stream inspection. Retries
// follow the group's policy (retry.style openai for a plain client: policy/retry.hpp), decided at
// the head: an error status openai-python retries is read to its end and sent again; any other
// head is the answer. A failure after the head (a cut stream) ends the call, never retried. Such
// a call is not metered (Router::metrics()) and deposits nothing into the group's retry budget.
struct PassThrough {
  Timeouts timeouts;  // each attempt's own limits (connect, first byte, read gap, total): openai's
  // The URL and credentials; null = the target's deployment (provider openai or azure, its base
  // URL, key, organization, api_version and headers). A client copy with other options shares the
  // router and sends its own.
  std::shared_ptr<const providers::Upstream> upstream;
};

struct RouteRequest {
  std::string model;        // the group the app asks for
  providers::ApiCall call;  // body's "model" is rewritten per deployment (not with `pass`)
  bool stream = false;
  RouteOverrides overrides;
  std::optional<PassThrough> pass;  // pass-through mode (above)
};

// One attempt, as the response's attempt log shows it.
struct RouteAttempt {
  int attempt = 0;
  std::string group, target, deployment, provider, model;
  int key_index = 0;
  int status = 0;
  std::string error;        // Errc name, "" when the upstream answered
  std::string error_class;  // ErrorClass name
  std::string reason;       // ErrorVerdict::reason or the Errc
  std::string message;      // provider's or transport's message (no credentials)
  std::string decision;     // "served", "retry", "failover", "next_group", "give_up", ...
  std::string pick;         // how the balancer chose it when not by its strategy: "reused" (a
                            // target this call tried already), "panic" (nothing was available)
  std::string skipped;      // targets passed over for this attempt: shed at max_concurrency,
                            // over their rpm / tpm quota
  bool replayed = false;    // the transport re-sent the request once on a fresh connection (a
                            // pooled one closed without answering): the upstream may have seen it twice
  double started_ms = 0, first_byte_ms = -1, elapsed_ms = 0, waited_ms = 0, retry_after_ms = -1;
};

// Asynchronous router observations (breaker state changes, ramp steps, active probe changes),
// drained by Python.
struct RouterEvent {
  std::string kind;  // "breaker", or "probe" for active health probe changes
  std::string target;
  std::string from, to, reason;
  double time_ms = 0;  // since the router started
};

struct TargetSnapshot {
  std::string target, group, deployment, model, provider;
  int key_index = 0;
  std::string state;
  std::string probe;     // active probes: "" off, else "unknown", "healthy" or "unhealthy"
  int ramp_step = -1;    // the ramp's step (0 = the first, 5%); -1 = not ramping
  bool cooling = false;  // open because of a 429 cooldown (busy, not broken)
  double share = 0, failure_rate = -1, slow_rate = -1;
  int in_flight = 0;
  double available_in_ms = 0;  // 0 when available now
  // Balancing (docs/balancing.md)
  std::string strategy;          // the group's
  double balancer_share = 0;     // what the balancer uses: health share x header steering
  bool available = false;        // the balancer may pick it now
  double weight = 0;             // its balancer weight (the deployment's, split over its keys)
  int priority = 0;              // its tier
  double pick_share = 0;         // weight x share over its tier's total when that tier is in use,
                                 // else 0: the chance a weighted-random pick (or P2C's first draw) takes it
  double blocked_for_ms = 0;     // blocked (open wait, cooldown, quota reset) for this long
  double ewma_ms = 0;            // peak-EWMA latency estimate now
  double cost = 0;               // ewma x (in flight + 1)
  int balancer_in_flight = 0;    // attempts started and not finished, as the balancer counts them
  double header_share = 1;       // from the provider's rate-limit headers (1 = nothing known)
  int deployment_in_flight = 0;  // slots taken of the deployment's max_concurrency
  int max_concurrency = 0;       // 0 = unlimited
  std::int64_t shed = 0;         // attempts refused at the concurrency cap
  int rpm = 0;
  std::int64_t tpm = 0;
  int requests_left = -1;         // in the rpm window now; -1 = no rpm limit
  std::int64_t tokens_left = -1;  // in the tpm window now; -1 = no tpm limit
  int key_rpm = 0, key_tpm = 0;   // this API key's own limits (0 = none)
  int key_requests_left = -1;     // in the key's windows now; -1 = no such limit
  std::int64_t key_tokens_left = -1;
};

// A call's route as one value: what a lazy route report keeps instead of the call (whose request,
// parsed body and router would otherwise live as long as the answer).
struct RouteCapture {
  std::vector<RouteAttempt> log;
  std::optional<RouteAttempt> served;
  bool degraded = false;
  metrics::CallCost cost;
};

class RoutedCall : public Call {
 public:
  // The target that served the answer (empty until one did).
  virtual std::optional<RouteAttempt> served() const = 0;
  virtual std::vector<RouteAttempt> route_log() const = 0;
  virtual bool degraded() const = 0;  // the answer is the configured last-resort one
  // What the answer cost (metrics.hpp); complete once the call has ended.
  virtual metrics::CallCost cost() const = 0;
  // The four above at once. A routed call that has ended gives the route as it was when it ended,
  // frozen before its terminal event was handed over, so a caller reading it right after its
  // answer never waits for the io thread's lock (RoutedCallImpl); otherwise a copy made now.
  virtual std::shared_ptr<const RouteCapture> capture() const {
    return std::make_shared<const RouteCapture>(RouteCapture{route_log(), served(), degraded(), cost()});
  }
};

class Router {
 public:
  // Throws ConfigError when `config` is inconsistent (unknown groups in chains, ...), or when
  // options.io_threads is not within 1..64 (path "io_threads").
  Router(RouterConfig config, transport::ClientOptions options = {}, std::shared_ptr<TimeSource> time = nullptr,
         std::shared_ptr<Random> random = nullptr);
  // Over another transport (transport/exchanger.hpp): a simulated one runs calls, their waits and
  // limits on a ManualClock shared with `time` (testing/sim_transport.hpp). `options` gives the
  // calls' queue limits only. pool_stats() is empty then.
  // Throws ConfigError when `transport` is null.
  Router(std::shared_ptr<transport::Exchanger> transport, RouterConfig config, std::shared_ptr<TimeSource> time,
         std::shared_ptr<Random> random = nullptr, transport::ClientOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  std::shared_ptr<RoutedCall> send(RouteRequest request);
  bool has_group(const std::string& name) const;
  std::vector<TargetSnapshot> snapshot() const;
  transport::PoolStats pool_stats() const;  // of the router's HTTP client, every origin
  std::vector<RouterEvent> drain_events();
  // Counters and histograms per target and group (metrics.hpp), read now (routed_metrics.cpp).
  metrics::Snapshot metrics() const;
  // The prices of every target of `deployment` (USD per token); call before the first send().
  // False when no deployment has that id.
  bool set_prices(const std::string& deployment, const metrics::Prices& prices);
  void close();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with calls in flight
};

}  // namespace llmfailover
