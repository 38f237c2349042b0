// retry.hpp — openai-python's retry rules as pure functions (drop_in.md section 1.6).
//
// The drop-in clients' `max_retries` behaves exactly as openai's: retry on 408, 409, 429 and
// 5xx, on time-outs and connection errors; `x-should-retry: true|false` overrides; wait what
// `retry-after-ms`, then `retry-after` (seconds or HTTP date) say when 0 < value <= 60 s, else
// min(0.5 * 2^n, 8) * (1 - 0.25 * u) seconds with n = retries already taken and u in [0, 1).
//
// Pure: no clock reads, no I/O; the caller passes `now` and the random draw.
// Thread safety: stateless functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "llmfailover/http.hpp"

namespace llmfailover::policy {

using WallClock = std::chrono::system_clock;

// Should a response with this status be retried (before looking at the retry budget)?
bool openai_should_retry(int status, const Headers& headers) noexcept;
// Should a failure to get a response be retried?
bool openai_should_retry(const Error& error) noexcept;

// The wait the upstream asked for in retry-after-ms / retry-after, if any and parseable.
std::optional<Millis> parse_retry_after(const Headers& headers, WallClock::time_point now);

// The wait before retry number `retries_taken + 1`. `headers` may be null (no response).
Millis openai_retry_delay(int retries_taken, const Headers* headers, double uniform01, WallClock::time_point now);
// The same from what the upstream asked (parse_retry_after), when it is already known.
Millis openai_backoff(int retries_taken, std::optional<Millis> asked, double uniform01) noexcept;

// Parses an RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt when malformed.
std::optional<WallClock::time_point> parse_http_date(std::string_view text);

}  // namespace llmfailover::policy
