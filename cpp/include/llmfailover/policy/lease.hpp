// lease.hpp — a fleet-wide rpm / tpm budget spent locally from slices leased from a shared store
// (issue 16 point 1; state/shared_state.hpp keeps the store in Redis).
//
// Many processes share one limit per fixed window (a window index every process computes alike,
// e.g. wall-clock minutes). Asking the store on every request would put a round trip on the hot
// path, so each process leases a slice at a time (slice = max(1, fraction x limit), 5% by default)
// and spends it locally; when what is left falls to half a slice, wanted() asks for the next one
// and a background refresher takes it from the store and hands it back with granted(). The hot
// path (try_spend) is a mutex and a few integer operations; it never waits for the store.
//
//   credit     Until the store has said the window is full, a process may spend up to one slice
//              ahead of its grants (the first requests of a window, a burst faster than the
//              refresher); the next grant pays it back. So the fleet stays within
//              limit + processes x slice per window, and within the limit while grants keep up.
//   exhausted  A grant smaller than asked means the fleet's window is full: once the local
//              balance is spent, try_spend refuses until the next window.
//   a new window  drops what was left of the old one (never given back: it is conservative).
//   unavailable()  The store could not be reached: no fleet limit (try_spend admits; the router's
//              own per-process window still holds the configured limit) until a grant comes again.
// Corrections (the answer's real token count) and cancellations move the local balance only.
// Thread safety: every member is safe to call concurrently (one mutex). Cost: O(1) per call.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "llmfailover/policy/quota.hpp"

namespace llmfailover::policy {

// What a refresher should take from the store for one window (0 = that dimension has no limit).
struct LeaseRequest {
  std::int64_t window = 0;
  std::int64_t requests = 0, tokens = 0;
  bool operator==(const LeaseRequest&) const = default;
};

class QuotaLease {
 public:
  // `limits`: the fleet's rpm / tpm per window (0 = no limit in that dimension).
  explicit QuotaLease(QuotaLimits limits, double slice_fraction = 0.05);
  QuotaLease(const QuotaLease&) = delete;
  QuotaLease& operator=(const QuotaLease&) = delete;

  // One request of `tokens` (estimated) in `window`: true = admitted and spent locally.
  // `refill` (if given) is set when wanted() would now ask for a slice (wake the refresher).
  bool try_spend(std::int64_t window, std::int64_t tokens, bool* refill = nullptr);
  // A request spent in `window` was never sent (its units come back while the window lasts), or
  // its answer used `delta` more (or, negative, fewer) tokens than the estimate.
  void give_back(std::int64_t window, std::int64_t tokens);
  void correct(std::int64_t window, std::int64_t delta);

  // What to take from the store now; nullopt when enough is left, a take is already pending, or
  // the window is full. A returned request is pending until granted() or unavailable().
  std::optional<LeaseRequest> wanted(std::int64_t window);
  // The store's answer to `asked`: the units it granted (less than asked: the window is full).
  void granted(const LeaseRequest& asked, std::int64_t requests, std::int64_t tokens);
  void unavailable(const LeaseRequest& asked);

  struct State {
    std::int64_t window = 0;
    std::int64_t requests_left = 0, tokens_left = 0;  // negative: spent on credit
    bool pending = false, exhausted = false, local = false;
    bool operator==(const State&) const = default;
  };
  State state();
  const QuotaLimits& limits() const noexcept { return limits_; }
  std::int64_t slice_requests() const noexcept { return slice_req_; }
  std::int64_t slice_tokens() const noexcept { return slice_tok_; }

 private:
  void roll_locked(std::int64_t window);
  bool low_locked() const;

  const QuotaLimits limits_;
  const std::int64_t slice_req_, slice_tok_;
  std::mutex mutex_;
  State s_;
  std::int64_t need_tokens_ = 0;  // the largest request refused or credited since the last grant
};

}  // namespace llmfailover::policy
