// http_client.hpp — asynchronous HTTP/1.1 + TLS client on Boost.Asio/Beast with a keep-alive pool.
//
// The client owns its io threads. start() returns at once; the exchange runs on an io thread and
// reports through the sink: head, then one body event (whole body) or sse events (when the
// response is text/event-stream), then end or error. Every exchange is bounded by its Timeouts
// and deadline and can be cancelled from any thread.
//
// Connections are pooled per origin (scheme, host, port): at most PoolLimits::max_per_origin open
// at once (further exchanges wait in FIFO order, counted against their connect timeout), idle ones
// kept up to idle_ttl. A reused connection that turns out to be closed by the peer before any
// response byte is replaced by a fresh one once, transparently.
//
// Every request is checked once in start() before anything is sent: method (RFC 9110 token),
// URL (no control characters or spaces), header names (tokens) and values (no CR, LF, NUL or
// other controls but HTAB: RFC 9110 section 5.5), sizes (ClientOptions::max_header_bytes) and
// timeouts (not negative). A request that fails the check ends with Errc::bad_request naming
// what was wrong (a header by its name only: its value may be a credential); nothing reaches
// the wire, so CR/LF can never smuggle a second request.
//
// Every exchange delivers exactly one terminal event, even when something throws inside it
// (including the sink: the exchange then ends with Errc::internal_error, delivered once more if
// the throw happened on the terminal event itself).
//
// Response limits (ClientOptions): a success body read whole is refused over max_body_bytes
// (body_too_large, after the head); an error body (status 4xx/5xx, streaming request or not) is read whole and
// truncated at max_error_body_bytes, so the status always arrives and the router can fail over
// (the truncated connection is closed, never reused); SSE lines and events are capped
// (body_too_large naming the limit). With a FlowControl (start()'s third argument) the exchange
// stops reading while the consumer is behind: memory per stream stays bounded by the consumer's
// high-water mark plus one read (16 KiB of wire bytes).
//
// A kept-alive connection is reused only if nothing is left over: bytes after a complete
// response (an unsolicited second response, a body longer than its Content-Length) or bytes
// that arrive while it is idle close it instead (checked on release and again on reuse).
//
// TLS: certificate and hostname verification on by default against the system CA store (or
// TlsOptions::ca_file), SNI always sent.
//
// Proxies (ClientOptions::proxy, or HttpRequest::proxy for one request; transport/proxy.hpp):
// http:// targets are forwarded in absolute form, https:// targets go through a CONNECT tunnel
// opened within the connect timeout, then TLS to the target host; an https:// proxy gets TLS
// first, a socks5(h):// proxy a SOCKS5 handshake that tunnels every target. Connections are
// pooled per (proxy, origin). Errors before the tunnel name the proxy (never its credentials).
//
// Thread safety: start(), stats() and the Exchange handle are safe from any thread; the sink is
// called on io threads, one exchange's calls strictly in order. shutdown() (or destruction) stops
// the io threads and ends outstanding exchanges with a `cancelled` error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "llmfailover/http.hpp"
#include "llmfailover/transport/exchanger.hpp"
#include "llmfailover/transport/proxy.hpp"

namespace llmfailover::transport {

struct TlsOptions {
  bool verify = true;
  std::string ca_file;  // PEM bundle; empty = system default store
  bool operator==(const TlsOptions&) const = default;
};

struct PoolLimits {
  std::size_t max_per_origin = 256;
  std::size_t max_idle_per_origin = 64;
  Millis idle_ttl{90'000};
  bool operator==(const PoolLimits&) const = default;
};

// Limits on what a peer or a caller can make an exchange hold. Defaults in the comments.
struct ClientOptions {
  unsigned io_threads = 1;
  TlsOptions tls;
  PoolLimits pool;
  std::size_t max_body_bytes = 64 << 20;       // 64 MiB: a success body read whole; over it, body_too_large
  std::size_t max_error_body_bytes = 1 << 20;  // 1 MiB: a 4xx/5xx body is truncated here (status kept)
  std::size_t max_sse_line_bytes = 8 << 20;    // 8 MiB: one SSE line; over it, body_too_large
  std::size_t max_sse_event_bytes = 16 << 20;  // 16 MiB: one SSE event's data; over it, body_too_large
  // 64 KiB: a request head we send (request line + headers; each header value also at most
  // 65,000 bytes, Beast's field limit) and a response head we accept (else protocol_error).
  std::size_t max_header_bytes = 64 << 10;
  // Per stream, for consumers that apply them (a call's Channel): high-water marks of events
  // and bytes queued for the consumer; over either one the exchange pauses reading.
  std::size_t max_queued_events = 1024;
  std::size_t max_queued_bytes = 8 << 20;
  std::string user_agent = "llmfailover";
  ProxyOptions proxy;  // none by default; malformed URLs make the constructor throw invalid_argument
};

struct PoolStats {
  std::size_t connections_opened = 0;  // TCP connections ever made
  std::size_t reused = 0;              // exchanges served on a pooled connection
  std::size_t idle = 0;                // idle connections right now
  std::size_t active = 0;              // connections carrying an exchange right now
};

// The router's transport seam (exchanger.hpp): exchanges, timers and their clock (steady).
class HttpClient : public Exchanger {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `flow` (optional) is asked after each read's events whether the consumer is behind.
  std::shared_ptr<Exchange> start(HttpRequest request, EventSink sink,
                                  std::shared_ptr<FlowControl> flow = nullptr) override;
  // Ends every exchange (sinks get `cancelled`) and joins the io threads; idempotent. Later
  // start() calls fail at once. Call with no Python lock held.
  void shutdown() override;
  PoolStats stats() const;
  const ClientOptions& options() const noexcept;

  // Runs `fn` on an io thread after `delay` unless the returned handle is cancelled first.
  // Used by the layers above for backoff waits, so no thread ever sleeps.
  std::shared_ptr<Exchange> schedule(Millis delay, std::function<void()> fn) override;
  Clock::time_point now() const override { return Clock::now(); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::transport
