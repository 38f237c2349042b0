// quota.hpp — staying under the providers' limits before they answer 429 (issue 4 items 3-4;
// resilience.md 8.8 "derive weights from rate-limit-remaining headers", 8.11 load shedding).
//
// Three independent pieces, each owned by the router per deployment or per API key:
//
// RateWindow: the configured rpm / tpm, over a sliding window of 60 s, checked before sending.
//   Admits a request of T estimated tokens iff  requests + 1 <= rpm  and  tokens + T <= tpm
//   (0 = no limit). An empty window always admits one request, so a request larger than the whole
//   tpm is sent (and answered by the provider) rather than starved forever. The estimate is
//   corrected to the reported usage after the answer (correct()), or given back when the request
//   was never sent (cancel()). Entries leave the window exactly `window` after they were made.
//
// estimate_tokens: input = ceil(message characters / 4); output = max_tokens, else a default
//   (256). OpenAI counts max_tokens against the token limit in the same way.
//
// RateLimitState: what the provider's headers say is left, per API key:
//   OpenAI / Azure   x-ratelimit-{limit,remaining}-{requests,tokens}, x-ratelimit-reset-* (Go
//                    durations, "6m0s")
//   Anthropic        anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
//                    {limit,remaining,reset} (reset: RFC 3339)
//   generic          x-ratelimit-limit / -remaining / -reset (UNIX time, or seconds when < 1e9),
//                    read as a request limit, only when none of the above is present
//   share()        = min over the known limits of  min(1, (remaining / limit) / low_fraction),
//                    low_fraction = 10%: the key's traffic shrinks linearly over its last 10%.
//   blocked_until  = the reset of a limit with remaining <= 0 (without a reset header:
//                    now + missing_reset, 1 s). A limit whose reset has passed is forgotten (full
//                    again); one without a reset is forgotten `max_age` (60 s) after it was seen.
//   on_send() counts each request down locally until the next headers, so concurrent requests do
//   not all rush into the last few units.
//
// ConcurrencyLimiter: max requests in flight per deployment; try_enter() fails at once when full
//   (the router moves to the next target instead of queueing behind a slow one).
//
// Time comes only from the injected TimeSource; header parsing takes the wall time as an argument.
// Thread safety: every class is safe to call concurrently (a mutex; ConcurrencyLimiter is atomic).
// Cost: RateWindow O(1) amortised per call (each entry is added and expired once; admissible_at is
// O(entries that must expire)); RateLimitState O(limits) = O(1); ConcurrencyLimiter O(1).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/http.hpp"
#include "llmfailover/policy/retry.hpp"

namespace llmfailover::policy {

struct TokenEstimate {
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::int64_t total() const noexcept { return input + output; }
  bool operator==(const TokenEstimate&) const = default;
};

inline constexpr int kDefaultOutputTokens = 256;

// `message_chars`: the characters of the messages' text (contents, names, tool arguments).
TokenEstimate estimate_tokens(std::size_t message_chars, std::optional<int> max_tokens,
                              int default_output_tokens = kDefaultOutputTokens) noexcept;

struct QuotaLimits {
  int rpm = 0;  // 0 = no limit
  std::int64_t tpm = 0;
  bool operator==(const QuotaLimits&) const = default;
};

class RateWindow {
 public:
  // Identifies one admitted request for correct() / cancel().
  struct Ticket {
    std::uint64_t seq = 0;
    bool operator==(const Ticket&) const = default;
  };
  struct Usage {
    int requests = 0;
    std::int64_t tokens = 0;
    QuotaLimits limits;
    bool operator==(const Usage&) const = default;
  };

  RateWindow(QuotaLimits limits, const TimeSource& clock, Millis window = Millis{60000});
  RateWindow(const RateWindow&) = delete;
  RateWindow& operator=(const RateWindow&) = delete;

  // Records the request and returns its ticket when the limits allow it now; nullopt otherwise.
  std::optional<Ticket> try_acquire(std::int64_t tokens);
  // The answer reported `actual_tokens` (prompt + completion): replaces the estimate if the entry
  // is still in the window.
  void correct(Ticket ticket, std::int64_t actual_tokens);
  // The request was never sent: removes it from the window.
  void cancel(Ticket ticket);
  // When try_acquire(tokens) could succeed: now, or when enough entries have left the window.
  Clock::time_point admissible_at(std::int64_t tokens);
  Usage usage();

 private:
  struct Entry {
    Clock::time_point at;
    std::int64_t tokens;
    int requests;
  };
  void expire_locked(Clock::time_point now);
  bool admits_locked(int requests, std::int64_t tokens, std::int64_t more) const;
  Entry* find_locked(Ticket ticket);

  const QuotaLimits limits_;
  const TimeSource& clock_;
  const Clock::duration window_;
  std::mutex mutex_;
  std::deque<Entry> entries_;
  std::uint64_t front_seq_ = 0;  // seq of entries_.front()
  int requests_ = 0;
  std::int64_t tokens_ = 0;
};

// Admits on every window or on none (the deployment's and the API key's). On success the
// tickets are in the order of `windows`.
std::optional<std::vector<RateWindow::Ticket>> try_acquire_all(std::span<RateWindow* const> windows,
                                                               std::int64_t tokens);

// One limit as the provider reported it.
struct RateLimitReading {
  enum class Kind { requests, tokens, input_tokens, output_tokens };
  Kind kind = Kind::requests;
  std::optional<std::int64_t> limit;
  std::int64_t remaining = 0;
  std::optional<Millis> reset;  // from the time of the response
  bool operator==(const RateLimitReading&) const = default;
};

// The readings in `headers` (empty when there are none). `wall_now` turns RFC 3339 and UNIX
// reset times into durations.
std::vector<RateLimitReading> parse_rate_limit_headers(const Headers& headers, WallClock::time_point wall_now);

struct RateLimitConfig {
  double low_fraction = 0.10;
  Millis missing_reset{1000};
  Millis max_age{60000};
  bool operator==(const RateLimitConfig&) const = default;
};

class RateLimitState {
 public:
  struct Limit {
    RateLimitReading::Kind kind;
    std::optional<std::int64_t> limit;
    double remaining;
    std::optional<Clock::time_point> reset_at;
    Clock::time_point seen_at;
  };

  RateLimitState(const TimeSource& clock, RateLimitConfig cfg = {});
  RateLimitState(const RateLimitState&) = delete;
  RateLimitState& operator=(const RateLimitState&) = delete;

  // Every response of the key (2xx and 429 alike); a kind absent from `readings` is kept.
  void update(const std::vector<RateLimitReading>& readings);
  // A request of this estimate is about to be sent with the key.
  void on_send(const TokenEstimate& estimate);
  double share();
  std::optional<Clock::time_point> blocked_until();
  std::vector<Limit> limits();

 private:
  void expire_locked(Clock::time_point now);

  const TimeSource& clock_;
  const RateLimitConfig cfg_;
  std::mutex mutex_;
  std::vector<Limit> limits_;  // at most one per kind
};

class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int limit) noexcept : limit_(limit) {}  // <= 0: unlimited
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  bool try_enter() noexcept;
  void leave() noexcept;
  int in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  int limit() const noexcept { return limit_; }
  bool full() const noexcept { return limit_ > 0 && in_flight() >= limit_; }
  std::int64_t rejected() const noexcept { return rejected_.load(std::memory_order_relaxed); }

 private:
  const int limit_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::int64_t> rejected_{0};
};

}  // namespace llmfailover::policy
