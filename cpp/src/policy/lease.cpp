// lease.cpp — local spending of leased quota slices (lease.hpp).
#include "llmfailover/policy/lease.hpp"

#include <algorithm>
#include <cmath>

namespace llmfailover::policy {

namespace {

std::int64_t slice_of(std::int64_t limit, double fraction) {
  if (limit <= 0) return 0;
  auto s = static_cast<std::int64_t>(std::ceil(static_cast<double>(limit) * std::clamp(fraction, 0.0, 1.0)));
  return std::clamp<std::int64_t>(s, 1, limit);
}

}  // namespace

QuotaLease::QuotaLease(QuotaLimits limits, double slice_fraction)
    : limits_(limits),
      slice_req_(slice_of(limits.rpm, slice_fraction)),
      slice_tok_(slice_of(limits.tpm, slice_fraction)) {
  s_.window = -1;
}

void QuotaLease::roll_locked(std::int64_t window) {
  if (window == s_.window) return;
  const bool local = s_.local;
  s_ = State{};
  s_.window = window;
  s_.local = local;
  need_tokens_ = 0;
}

bool QuotaLease::low_locked() const {
  return (limits_.rpm > 0 && s_.requests_left <= slice_req_ / 2) ||
         (limits_.tpm > 0 && s_.tokens_left <= slice_tok_ / 2);
}

bool QuotaLease::try_spend(std::int64_t window, std::int64_t tokens, bool* refill) {
  tokens = std::max<std::int64_t>(0, tokens);
  std::lock_guard lock(mutex_);
  roll_locked(window);
  if (s_.local) return true;
  const bool rpm = limits_.rpm > 0, tpm = limits_.tpm > 0;
  const std::int64_t req_after = s_.requests_left - 1, tok_after = s_.tokens_left - tokens;
  const bool covered = (!rpm || req_after >= 0) && (!tpm || tok_after >= 0);
  // Credit: one slice ahead of the grants, until the store says the window is full (a request
  // larger than a whole tpm slice may take the credit when nothing else is on it).
  const bool credit =
      !s_.exhausted && (!rpm || req_after >= -slice_req_) && (!tpm || tok_after >= -slice_tok_ || s_.tokens_left >= 0);
  if (tpm) need_tokens_ = std::max(need_tokens_, tokens);
  const bool admit = covered || credit;
  if (admit) {
    s_.requests_left = req_after;
    s_.tokens_left = tok_after;
  }
  if (refill) *refill = !s_.pending && !s_.exhausted && low_locked();
  return admit;
}

void QuotaLease::give_back(std::int64_t window, std::int64_t tokens) {
  std::lock_guard lock(mutex_);
  if (window != s_.window) return;
  s_.requests_left += 1;
  s_.tokens_left += std::max<std::int64_t>(0, tokens);
}

void QuotaLease::correct(std::int64_t window, std::int64_t delta) {
  std::lock_guard lock(mutex_);
  if (window == s_.window) s_.tokens_left -= delta;
}

std::optional<LeaseRequest> QuotaLease::wanted(std::int64_t window) {
  std::lock_guard lock(mutex_);
  roll_locked(window);
  if (s_.pending || (s_.exhausted && !s_.local)) return std::nullopt;
  const bool rpm = limits_.rpm > 0, tpm = limits_.tpm > 0;
  if (!low_locked() && !s_.local) return std::nullopt;
  LeaseRequest r{window, 0, 0};
  // A slice, plus what was spent on credit, plus room for the largest request seen.
  if (rpm) r.requests = slice_req_ + std::max<std::int64_t>(0, -s_.requests_left);
  if (tpm) r.tokens = std::max(slice_tok_, need_tokens_) + std::max<std::int64_t>(0, -s_.tokens_left);
  s_.pending = true;
  return r;
}

void QuotaLease::granted(const LeaseRequest& asked, std::int64_t requests, std::int64_t tokens) {
  std::lock_guard lock(mutex_);
  if (asked.window != s_.window) return;  // a grant for a window that is over
  s_.pending = false;
  s_.local = false;
  s_.requests_left += std::max<std::int64_t>(0, requests);
  s_.tokens_left += std::max<std::int64_t>(0, tokens);
  if (requests < asked.requests || tokens < asked.tokens) s_.exhausted = true;
  need_tokens_ = 0;
}

void QuotaLease::unavailable(const LeaseRequest& asked) {
  std::lock_guard lock(mutex_);
  if (asked.window != s_.window) return;
  s_.pending = false;
  s_.local = true;
}

QuotaLease::State QuotaLease::state() {
  std::lock_guard lock(mutex_);
  return s_;
}

}  // namespace llmfailover::policy
