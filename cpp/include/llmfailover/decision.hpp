// decision.hpp — what the router did after one attempt, and the names a route log record uses.
//
// A route log entry (router.hpp RouteAttempt) records its decision, error code and error class
// as the stable words the logs and the Python API show ("failover", "connection_reset",
// "retryable"). This header is the one list of those words as enums: the binding hands Python
// enum members (str-valued, so `attempt.decision == "failover"` keeps working) instead of
// strings each side compares on its own. parse_* is the inverse of to_string; a word nobody
// listed here is a programming error the binding reports (tests/cpp/base/decision_test.cpp).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "llmfailover/error.hpp"

namespace llmfailover {

enum class Decision {
  pending,                  // "": the attempt has no outcome yet
  served,                   // it answered and its answer was delivered
  retry,                    // tried again on the same target after backoff
  retry_transparent,        // tried again at once: nothing reached the upstream
  retry_after,              // tried again after the upstream's Retry-After hint
  failover,                 // the next attempt goes to another target of the group
  next_group,               // the group is exhausted: the next group of the chain
  context_window_fallback,  // the group's context_window_fallbacks chain
  content_policy_fallback,  // the group's content_policy_fallbacks chain
  budget_exhausted,         // the retry budget refused a retry: onward without one
  restart_without_prefill,  // a stream recovery restarted without the assistant prefill
  continuation_prompt,      // a stream recovery restarted with a continuation prompt
  interrupted,              // a committed stream broke and was not recovered
  recover,                  // a committed stream broke: recovery on another target
  served_recovered,         // the recovered stream was delivered
  recovery_failed,          // the recovery could not continue the delivered text
  give_up,                  // nothing more to try: the error is the call's
  cancelled,                // the caller cancelled
  skip,                     // the target was passed over before sending
  cache_hit,                // the answer was replayed from the exact cache (no upstream attempt)
  to_hedge,                 // it failed while its hedge ran: the hedge was taken (gRPC A6 hedging)
  hedge_cancelled,          // the other attempt of a hedged pair answered first: this one was cancelled
  hedge_failed,             // a hedge's own error (the primary went on)
};

// The route log word: "" for pending, else the enumerator's name.
std::string_view to_string(Decision d) noexcept;
// Every Decision, in declaration order (the binding's enum and the tests read it).
std::span<const Decision> all_decisions() noexcept;
std::span<const Errc> all_errcs() noexcept;
std::span<const ErrorClass> all_error_classes() noexcept;

// The inverse of to_string; nullopt for a word that is not one of the enum's.
std::optional<Decision> parse_decision(std::string_view word) noexcept;
std::optional<Errc> parse_errc(std::string_view word) noexcept;
std::optional<ErrorClass> parse_error_class(std::string_view word) noexcept;

}  // namespace llmfailover
