// shared_state.hpp — what several processes of one app share through Redis (issue 16 point 1;
// README "Many processes"; docs/config.md "state"):
//
//   quotas    Fleet-wide rpm / tpm per deployment and per API key, over fixed windows of the wall
//             clock (`window`, 60 s: floor(unix ms / window) is the same number in every process).
//             Each process spends leased slices locally (policy/lease.hpp); this class's refresher
//             takes the slices with one atomic Lua script (EVALSHA, EVAL when the server forgot
//             it) on two counters per window, "<prefix>q:{<name>}:<window>:r" and ":t", which
//             expire two windows later.
//   breakers  A target's breaker opening (or a rate-limit cool-down) is written as
//             "<prefix>b:<target>" with an expiry of its open wait; closing after a recovery deletes
//             it. Every `poll` (250 ms) the refresher reads the expiries of all targets and tells the
//             watchers, so a target one process sees failing is avoided by the others within
//             about poll + timeout.
//   Redis down or slow: every command is bounded by `timeout` (50 ms) on the refresher's thread;
//             requests never wait for Redis. A failure falls back to local state (leases admit,
//             breakers stay local) with one warning and one count in fallbacks(); Redis is tried
//             again after a second.
// The prefix isolates apps sharing one Redis.
//
// Call order: construct (starts the refresher thread), quota() / watch_breaker() while building
// the router, then any member from any thread; the destructor stops the thread (at most one
// `timeout` + a few ms). Watchers run on the refresher thread and must not block.
// Thread safety: every member is safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "llmfailover/clock.hpp"
#include "llmfailover/policy/lease.hpp"
#include "llmfailover/state/state_config.hpp"

namespace llmfailover::state {

class SharedState {
 public:
  // `cfg.url` must parse (parse_redis_url; the config reader checked it).
  explicit SharedState(StateConfig cfg);
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  // The fleet-wide lease of `name` (a deployment or target id) whose limits are per minute; they
  // are scaled to the window (at least 1 per window).
  std::shared_ptr<policy::QuotaLease> quota(const std::string& name, policy::QuotaLimits per_minute);
  // The current window and the time until the next one (wall clock).
  std::int64_t window_now() const;
  Millis until_next_window() const;
  // A lease may want a slice: the refresher looks now instead of at its next poll.
  void wake();

  // Called with how long `target` stays open fleet-wide (nullopt: it is not open), after each poll.
  using Watcher = std::function<void(std::optional<Millis> open_for)>;
  void watch_breaker(const std::string& target, Watcher watcher);
  void publish_open(const std::string& target, Millis wait);
  void publish_closed(const std::string& target);

  // Times the state fell back to local (once per outage), and whether the last command worked.
  std::uint64_t fallbacks() const;
  bool connected() const;
  const StateConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::state
