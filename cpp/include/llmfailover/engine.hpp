// engine.hpp — runs API calls against one upstream with openai-python's retry rules.
//
// This is the single-upstream data plane the drop-in clients stand on: a call is built by the
// provider, sent by the HttpClient, retried per policy/retry.hpp (waits run on io timers, never
// on a sleeping thread), and its events reach the caller through a Channel. A retried attempt's
// response is swallowed; the caller sees exactly one response (or one error) and the attempt log.
//
// Backpressure: a call's Channel has the ClientOptions high-water marks (max_queued_events,
// max_queued_bytes); while the consumer is behind them the exchange stops reading the socket, so
// a slow consumer holds a bounded queue, not the whole stream.
//
// Call order: Engine::send() -> Call (call.hpp); consume Call::channel() until a terminal event; read
// attempts() at any time. Dropping the last copy of the Call cancels it if it has not ended. Thread safety: Engine and
// Call are safe from any thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "llmfailover/call.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/transport/http_client.hpp"

namespace llmfailover {

class Engine {
 public:
  // `uniform01` draws jitter in [0, 1); defaults to a seeded std::mt19937.
  explicit Engine(transport::ClientOptions options = {}, std::function<double()> uniform01 = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::shared_ptr<Call> send(const providers::Upstream& upstream, const providers::ApiCall& call,
                             const Timeouts& timeouts, int max_retries);
  transport::PoolStats pool_stats() const { return http_->stats(); }
  transport::HttpClient& http() { return *http_; }
  // Stops the io threads; calls still running end with `cancelled`. Idempotent.
  void close() { http_->shutdown(); }

 private:
  std::function<double()> uniform01_;
  std::shared_ptr<transport::HttpClient> http_;  // shared with live calls, which may outlive us
};

}  // namespace llmfailover
