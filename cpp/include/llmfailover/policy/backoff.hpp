// backoff.hpp — how long to wait before a retry: full-jitter backoff and server pushback hints.
//
// Formulas (resilience.md 6.1, 8.3):
//   full_jitter   = U(0, min(cap, base * 2^(retry-1)))      AWS "Full Jitter", = Envoy's algorithm
//   pushback_wait = U(hint, 1.5 * hint)                     Envoy rate_limited_retry_back_off
// The router computes a hint from the failed response with retry_hint(); when there is one it waits
// pushback_wait(hint, u), otherwise full_jitter(cfg, retry, u). After a pushback-driven retry the
// next backoff starts again from base (gRPC A6). Every wait is also bounded by the call's deadline
// by the router (resilience.md 8.2), not here.
//
// Pure: no clock reads, no randomness of their own; the caller passes `now` and the draw u in [0, 1).
// Thread safety: stateless functions.
// Cost: a few header lookups and a short parse.
#pragma once

#include <optional>
#include <string_view>

#include "llmfailover/http.hpp"
#include "llmfailover/policy/retry.hpp"

namespace llmfailover {

// The settings of this policy as a config gives them (config.hpp composes them into GroupPolicy).
// Whose rules decide a failed attempt (failover.hpp):
//   router  the router's: error classes, failover across targets and groups, full-jitter backoff,
//           a retry budget (the header comment of router.hpp)
//   openai  openai-python's (retry.hpp): the same target again while the answer is one openai
//           retries (408/409/429/5xx, time-outs, connection errors, x-should-retry), after its
//           backoff or the server's retry-after within 60 s; never drawn from the retry budget. A
//           plain client is a one-group router with this style (config key retry.style).
enum class RetryStyle : unsigned char { router, openai };
// The most attempts a style allows: the router's 5; openai's max_retries + 1 (openai-python counts
// at most 1000 retries into its backoff).
inline constexpr int kMaxRouterAttempts = 5;
inline constexpr int kMaxOpenAiAttempts = 1001;

struct RetryPolicyConfig {
  int max_attempts = 3;      // per target, including the first; hard cap kMaxRouterAttempts
                             // (openai style: max_retries + 1, up to kMaxOpenAiAttempts)
  Millis backoff_base{500};  // full jitter: U(0, min(cap, base * 2^(n-1)))
  Millis backoff_cap{20000};
  Millis max_retry_after{300000};  // a server hint above this is ignored
  // Prefer the requested model: a 429/503 whose Retry-After is at most this (and fits the
  // deadline) is waited out on the same group (a sibling at once, else the same target after the
  // hint) before a fallback group is tried; a longer hint falls back at once.
  Millis max_hint_wait{5000};
  RetryStyle style = RetryStyle::router;  // last: aggregate initialisers name the fields above
  bool operator==(const RetryPolicyConfig&) const = default;
};

}  // namespace llmfailover

namespace llmfailover::policy {

// The full-jitter wait before retry number `retry` (1 = the first retry; values < 1 count as 1).
// Rounded down to whole milliseconds.
Millis full_jitter(const RetryPolicyConfig& cfg, int retry, double u);

// The wait the upstream asked for, read from the first of these that is present and parseable:
//   1. retry-after-ms (milliseconds)                     } via parse_retry_after (retry.hpp)
//   2. retry-after (seconds, or an HTTP date)            }
//   3. OpenAI x-ratelimit-reset-requests / x-ratelimit-reset-tokens (Go durations: "1s", "6m0s")
//   4. Anthropic anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset (RFC 3339)
//   5. x-ratelimit-reset (a UNIX timestamp in seconds; a value below 1e9 is read as seconds from now,
//      since some servers send a delta there)
// Within one provider family (3 or 4) the matching `...-remaining` header picks the limit that is
// exhausted ("0"); the longest exhausted reset wins. When none says which, the earliest reset is
// used: a retry then at worst earns another 429 with a fresher hint, rather than idling for a
// token bucket's full refill.
// A time in the past gives 0. A hint above `max_retry_after` is DISCARDED (nullopt), not clamped:
// a server asking for more than that is better failed over than waited for (resilience.md 8.3).
std::optional<Millis> retry_hint(const Headers& headers, WallClock::time_point now,
                                 Millis max_retry_after = RetryPolicyConfig{}.max_retry_after);

// The wait for a server hint: U(hint, 1.5 * hint), rounded down to whole milliseconds.
Millis pushback_wait(Millis hint, double u);

// Go's time.ParseDuration restricted to non-negative values: "300ms", "1.5h", "2h45m", "1h2m3.5s",
// units ns, us, µs, ms, s, m, h; a bare "0" is allowed. Rounded UP to whole milliseconds so a
// retry is never early. nullopt when malformed.
std::optional<Millis> parse_go_duration(std::string_view text);

// An RFC 3339 timestamp: "2024-05-01T12:00:30Z", "2024-05-01T12:00:30.25+02:00". nullopt when malformed.
std::optional<WallClock::time_point> parse_rfc3339(std::string_view text);

}  // namespace llmfailover::policy
