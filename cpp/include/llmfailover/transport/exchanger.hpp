// exchanger.hpp — the transport and timer seam under the router: what the router needs from a
// transport (start an exchange, arm a timer, read the timers' clock, shut down), so a Router can
// run over HttpClient (real sockets, Asio steady timers, the steady clock) or over a simulated
// transport whose exchanges and timers run on a ManualClock (testing/sim_transport.hpp), where a
// whole fault catalogue runs in virtual milliseconds (Envoy's SimulatedTimeSystem, httpx's
// MockTransport).
//
// Timers are part of the seam because the router's waits (backoff, Retry-After, first-token
// limits) are timers of the transport: a transport with real timers under a manual clock could
// never be driven in virtual time.
//
// Call order: start() and schedule() any number of times; shutdown() once at the end.
// Contract of every implementation:
//   - start() returns at once; the sink is never called from inside start() (an exchange that
//     fails at once delivers its error later, from the transport's own thread or loop);
//   - each exchange delivers head, then body* | sse*, then exactly one terminal event (end |
//     error), in order, and honours its request's Timeouts and deadline measured on now();
//   - cancel() on a live exchange ends it with Errc::cancelled (delivered, not synchronous);
//   - schedule(delay, fn) runs fn once, no earlier than now() + delay, unless cancelled first;
//     shutdown() may run pending timers early (HttpClient does): a callback that must not fire
//     early compares now() with the time it was armed.
// Thread safety: every member is safe from any thread.
#pragma once

#include <functional>
#include <memory>

#include "llmfailover/http.hpp"

namespace llmfailover::transport {

// Handle on one running exchange (or one armed timer).
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void cancel() = 0;  // ends the exchange with Errc::cancelled (no-op once it ended)
  // Changes the idle limit from the next read on (e.g. tighter once a stream is committed).
  virtual void set_idle_timeout(Millis idle) { (void)idle; }
};

using EventSink = std::function<void(Event&&)>;

class Exchanger {
 public:
  virtual ~Exchanger() = default;

  // `flow` (optional) is asked after each read's events whether the consumer is behind.
  virtual std::shared_ptr<Exchange> start(HttpRequest request, EventSink sink,
                                          std::shared_ptr<FlowControl> flow = nullptr) = 0;
  // Runs `fn` after `delay` unless the returned handle is cancelled first; no thread sleeps.
  virtual std::shared_ptr<Exchange> schedule(Millis delay, std::function<void()> fn) = 0;
  // The clock the timers and the exchanges' limits run on.
  virtual Clock::time_point now() const = 0;
  // Ends every exchange (sinks get `cancelled`); later start() calls fail. Idempotent.
  virtual void shutdown() = 0;
};

}  // namespace llmfailover::transport
