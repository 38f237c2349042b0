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
// TLS: certificate and hostname verification on by default against the system CA store (or
// TlsOptions::ca_file), SNI always sent.
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

namespace llmfailover::transport {

struct TlsOptions {
  bool verify = true;
  std::string ca_file;   // PEM bundle; empty = system default store
  bool operator==(const TlsOptions&) const = default;
};

struct PoolLimits {
  std::size_t max_per_origin = 256;
  std::size_t max_idle_per_origin = 64;
  Millis idle_ttl{90'000};
  bool operator==(const PoolLimits&) const = default;
};

struct ClientOptions {
  unsigned io_threads = 1;
  TlsOptions tls;
  PoolLimits pool;
  std::size_t max_body_bytes = 64 << 20;  // non-streaming bodies
  std::string user_agent = "llmfailover";
};

struct PoolStats {
  std::size_t connections_opened = 0;  // TCP connections ever made
  std::size_t reused = 0;              // exchanges served on a pooled connection
  std::size_t idle = 0;                // idle connections right now
  std::size_t active = 0;              // connections carrying an exchange right now
};

// Handle on one running exchange.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void cancel() = 0;  // ends the exchange with Errc::cancelled (no-op once it ended)
  // Changes the idle limit from the next read on (e.g. tighter once a stream is committed).
  virtual void set_idle_timeout(Millis idle) { (void)idle; }
};

using EventSink = std::function<void(Event&&)>;

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  std::shared_ptr<Exchange> start(HttpRequest request, EventSink sink);
  // Ends every exchange (sinks get `cancelled`) and joins the io threads; idempotent. Later
  // start() calls fail at once. Call with no Python lock held.
  void shutdown();
  PoolStats stats() const;
  const ClientOptions& options() const noexcept;

  // Runs `fn` on an io thread after `delay` unless the returned handle is cancelled first.
  // Used by the layers above for backoff waits, so no thread ever sleeps.
  std::shared_ptr<Exchange> schedule(Millis delay, std::function<void()> fn);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmfailover::transport
