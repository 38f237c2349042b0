#include "llmfailover/error.hpp"

namespace llmfailover {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::bad_url: return "bad_url";
    case Errc::resolve_failed: return "resolve_failed";
    case Errc::connect_refused: return "connect_refused";
    case Errc::connect_failed: return "connect_failed";
    case Errc::connect_timeout: return "connect_timeout";
    case Errc::tls_failed: return "tls_failed";
    case Errc::write_failed: return "write_failed";
    case Errc::connection_reset: return "connection_reset";
    case Errc::connection_closed: return "connection_closed";
    case Errc::first_byte_timeout: return "first_byte_timeout";
    case Errc::idle_timeout: return "idle_timeout";
    case Errc::deadline_exceeded: return "deadline_exceeded";
    case Errc::cancelled: return "cancelled";
    case Errc::protocol_error: return "protocol_error";
    case Errc::body_too_large: return "body_too_large";
    case Errc::stream_error: return "stream_error";
    case Errc::stream_interrupted: return "stream_interrupted";
    case Errc::no_target: return "no_target";
    case Errc::bad_request: return "bad_request";
    case Errc::internal_error: return "internal_error";
  }
  return "unknown";
}

std::string_view to_string(ErrorClass cls) noexcept {
  switch (cls) {
    case ErrorClass::none: return "none";
    case ErrorClass::transparent: return "transparent";
    case ErrorClass::retryable: return "retryable";
    case ErrorClass::rate_limited: return "rate_limited";
    case ErrorClass::fatal_target: return "fatal_target";
    case ErrorClass::fatal_request: return "fatal_request";
    case ErrorClass::ignored: return "ignored";
  }
  return "unknown";
}

ErrorClass errc_class(const Error& error) noexcept {
  switch (error.code) {
    case Errc::ok: return ErrorClass::none;
    case Errc::cancelled:
    case Errc::deadline_exceeded: return ErrorClass::ignored;
    case Errc::bad_url: return ErrorClass::fatal_target;
    case Errc::bad_request: return ErrorClass::fatal_request;
    // An answer over a size cap (body, SSE line or event) is the upstream's doing: the router
    // fails over rather than surfacing it (the plain client does not retry it: policy/retry.cpp).
    case Errc::body_too_large: return ErrorClass::retryable;
    case Errc::resolve_failed:
    case Errc::connect_refused:
    case Errc::connect_failed:
    case Errc::connect_timeout:
    case Errc::tls_failed: return ErrorClass::transparent;
    case Errc::connection_reset:
    case Errc::connection_closed:
    case Errc::write_failed: return error.request_sent ? ErrorClass::retryable : ErrorClass::transparent;
    case Errc::first_byte_timeout:
    case Errc::idle_timeout:
    case Errc::protocol_error:
    case Errc::stream_error:
    case Errc::stream_interrupted:
    case Errc::internal_error: return ErrorClass::retryable;
    case Errc::no_target: return ErrorClass::ignored;
  }
  return ErrorClass::retryable;
}

ErrorClass status_class(int status) noexcept {
  if (status >= 200 && status < 400) return ErrorClass::none;
  if (status == 429) return ErrorClass::rate_limited;
  if (status == 401 || status == 403 || status == 404) return ErrorClass::fatal_target;
  if (status == 408 || status == 409 || status >= 500) return ErrorClass::retryable;
  return ErrorClass::fatal_request;
}

}  // namespace llmfailover
