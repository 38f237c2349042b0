// error.hpp — what went wrong with one exchange, as a value.
//
// Two levels (STYLE.md "Errors in two levels"): an Errc says precisely what failed; errc_class()
// folds it into the few classes the failover policy acts on. "We failed to reach it" (local
// origin: connect, TLS, reset, timeouts) is kept apart from "it answered with an error" (an HTTP
// status, classified by status_class()). Exceptions exist only at the Python edge.
//
// Thread safety: plain values.
#pragma once

#include <string>
#include <string_view>

namespace llmfailover {

enum class Errc {
  ok = 0,
  bad_url,             // the URL could not be parsed or has an unsupported scheme
  resolve_failed,      // DNS lookup failed
  connect_refused,     // TCP connection refused
  connect_failed,      // other connect failure (unreachable, ...)
  connect_timeout,     // TCP + TLS set-up did not finish within Timeouts::connect
  tls_failed,          // TLS handshake failed (certificate, hostname, protocol)
  write_failed,        // the request could not be written
  connection_reset,    // the peer reset the connection
  connection_closed,   // the peer closed before a complete response
  first_byte_timeout,  // no response headers within Timeouts::first_byte
  idle_timeout,        // no body bytes within Timeouts::idle
  deadline_exceeded,   // the overall deadline passed
  cancelled,           // the caller cancelled
  protocol_error,      // the response was not valid HTTP/1.1
  body_too_large,      // a body, SSE line or event exceeded the client's limit (retryable: fail over)
  stream_error,        // a streamed body was malformed (set by the layers above transport)
  stream_interrupted,  // a committed stream broke before its end (the partial answer is not a success)
  no_target,           // the router had no available target left (all open, cooling or tried)
  bad_request,         // the request was refused before sending (invalid method, URL, header, size, timeout)
  internal_error,      // something threw inside an exchange (e.g. a consumer's callback); reported, not fatal
};

std::string_view to_string(Errc code) noexcept;

// The classes the failover policy acts on (resilience.md section 8; issue 3 section 2).
enum class ErrorClass {
  none,
  transparent,    // nothing reached the upstream: safe to try again at once
  retryable,      // 5xx, 529, reset, timeouts, broken stream before the first token
  rate_limited,   // 429, quota
  fatal_target,   // 401, 403, 404: this target cannot serve, others may
  fatal_request,  // 400, 413, 422: the request itself is wrong; no target will take it
  ignored,        // the caller cancelled or its own deadline passed
};

std::string_view to_string(ErrorClass cls) noexcept;

struct Error {
  Errc code = Errc::ok;
  std::string message;        // for people; never contains credentials
  bool request_sent = false;  // some bytes of the request reached the socket

  explicit operator bool() const noexcept { return code != Errc::ok; }
  bool operator==(const Error&) const = default;
};

// What an error answer means for failover (each provider's classify, providers/provider.hpp).
// `reason` is a stable word the router acts on ("context_length_exceeded", "content_policy",
// "rate_limited", "quota", "overloaded", "auth", "not_found", "bad_request", "server_error",
// "stream_error_event"); `message` is the provider's own text (never credentials).
struct ErrorVerdict {
  ErrorClass cls = ErrorClass::none;
  std::string reason;
  std::string message;
  bool operator==(const ErrorVerdict&) const = default;
};

// Class of a local-origin failure.
ErrorClass errc_class(const Error& error) noexcept;
// Class of an HTTP status answered by the upstream (2xx -> none).
ErrorClass status_class(int status) noexcept;

}  // namespace llmfailover
