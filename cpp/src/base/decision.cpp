// decision.cpp — the route log's words as enums (decision.hpp).
#include "llmfailover/decision.hpp"

#include <array>

namespace llmfailover {

std::string_view to_string(Decision d) noexcept {
  switch (d) {
    case Decision::pending: return "";
    case Decision::served: return "served";
    case Decision::retry: return "retry";
    case Decision::retry_transparent: return "retry_transparent";
    case Decision::retry_after: return "retry_after";
    case Decision::failover: return "failover";
    case Decision::next_group: return "next_group";
    case Decision::context_window_fallback: return "context_window_fallback";
    case Decision::content_policy_fallback: return "content_policy_fallback";
    case Decision::budget_exhausted: return "budget_exhausted";
    case Decision::restart_without_prefill: return "restart_without_prefill";
    case Decision::continuation_prompt: return "continuation_prompt";
    case Decision::interrupted: return "interrupted";
    case Decision::recover: return "recover";
    case Decision::served_recovered: return "served_recovered";
    case Decision::recovery_failed: return "recovery_failed";
    case Decision::give_up: return "give_up";
    case Decision::cancelled: return "cancelled";
    case Decision::skip: return "skip";
    case Decision::cache_hit: return "cache_hit";
    case Decision::to_hedge: return "to_hedge";
    case Decision::hedge_cancelled: return "hedge_cancelled";
    case Decision::hedge_failed: return "hedge_failed";
  }
  return "";
}

std::span<const Decision> all_decisions() noexcept {
  using D = Decision;
  static constexpr std::array all = {D::pending,
                                     D::served,
                                     D::retry,
                                     D::retry_transparent,
                                     D::retry_after,
                                     D::failover,
                                     D::next_group,
                                     D::context_window_fallback,
                                     D::content_policy_fallback,
                                     D::budget_exhausted,
                                     D::restart_without_prefill,
                                     D::continuation_prompt,
                                     D::interrupted,
                                     D::recover,
                                     D::served_recovered,
                                     D::recovery_failed,
                                     D::give_up,
                                     D::cancelled,
                                     D::skip,
                                     D::cache_hit,
                                     D::to_hedge,
                                     D::hedge_cancelled,
                                     D::hedge_failed};
  return all;
}

std::span<const Errc> all_errcs() noexcept {
  using E = Errc;
  static constexpr std::array all = {E::ok,
                                     E::bad_url,
                                     E::resolve_failed,
                                     E::connect_refused,
                                     E::connect_failed,
                                     E::connect_timeout,
                                     E::tls_failed,
                                     E::write_failed,
                                     E::connection_reset,
                                     E::connection_closed,
                                     E::first_byte_timeout,
                                     E::idle_timeout,
                                     E::deadline_exceeded,
                                     E::cancelled,
                                     E::protocol_error,
                                     E::body_too_large,
                                     E::stream_error,
                                     E::stream_interrupted,
                                     E::no_target,
                                     E::bad_request,
                                     E::internal_error};
  return all;
}

std::span<const ErrorClass> all_error_classes() noexcept {
  using C = ErrorClass;
  static constexpr std::array all = {C::none,         C::transparent,   C::retryable, C::rate_limited,
                                     C::fatal_target, C::fatal_request, C::ignored};
  return all;
}

namespace {
template <typename E>
std::optional<E> parse(std::span<const E> all, std::string_view word) noexcept {
  for (E e : all)
    if (to_string(e) == word) return e;
  return std::nullopt;
}
}  // namespace

std::optional<Decision> parse_decision(std::string_view word) noexcept {
  return parse<Decision>(all_decisions(), word);
}
std::optional<Errc> parse_errc(std::string_view word) noexcept { return parse<Errc>(all_errcs(), word); }
std::optional<ErrorClass> parse_error_class(std::string_view word) noexcept {
  return parse<ErrorClass>(all_error_classes(), word);
}

}  // namespace llmfailover
