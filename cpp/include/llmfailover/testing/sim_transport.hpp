// sim_transport.hpp — a simulated transport on virtual time (transport/exchanger.hpp), so a whole
// Router runs its fault catalogue in milliseconds of a ManualClock: scripted answers (status,
// headers, body or SSE chunks at given virtual times, silence, resets, cuts), the exchanges'
// first-byte, idle, total and deadline limits, and the router's timers, all in one queue ordered
// by virtual time. Nothing runs on its own: the test drives it (run_until, advance), on one thread,
// and every wait is exact (Envoy's SimulatedTimeSystem, httpx's MockTransport).
//
//   auto clock = std::make_shared<ManualClock>();
//   auto sim = std::make_shared<SimTransport>(clock);
//   sim->script("a", {SimReply::error(429, 0ms, {{"retry-after", "2"}}), SimReply::answer("hi", 120ms)});
//   Router router(sim, config, clock, random);          // deployments with base_url "http://a/v1"
//   auto call = router.send(request);
//   sim->run_until([&] { return call->channel().finished(); }, 10min);
//   sim->times("a")                                      // {0 ms, 2000 ms}: when each attempt was sent
//
// A target is the host of the request's URL. Each start() takes the host's next scripted reply,
// else its default (an answer "ok" at once: a stream when the request body asks for one). "{model}" in a reply's data
// becomes the request body's model. Events of one exchange come in order; a step due at the same virtual time as a
// limit wins (the data arrived in time). Flow control is ignored (the consumer is never behind).
//
// Thread safety: all members may be called from any thread, but virtual time moves only in
// run_until() / advance(), which run the due callbacks on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/transport/exchanger.hpp"

namespace llmfailover::testing {

// One event of a scripted answer, `at` after the request was sent.
struct SimStep {
  enum class Kind : std::uint8_t { head, body, sse, end, fail };
  Millis at{0};
  Kind kind = Kind::end;
  int status = 0;         // head
  Headers headers;        // head
  std::string data;       // body bytes, or an SSE event's data
  Errc error = Errc::ok;  // fail: connection_reset, connection_closed, ...
  bool operator==(const SimStep&) const = default;
};

// A scripted answer: steps in time order; after the last one (unless terminal), silence.
struct SimReply {
  std::vector<SimStep> steps;

  SimReply& head(Millis at, int status, Headers headers = {});
  SimReply& body(Millis at, std::string bytes);
  SimReply& sse(Millis at, std::string data);
  SimReply& end(Millis at);
  SimReply& fail(Millis at, Errc code);  // the request was sent; no more bytes come
  // Keeps the first `n` steps (the rest never comes: silence).
  SimReply& keep(std::size_t n);
  // Moves step `from` and every later one `by` later (a stall before step `from`).
  SimReply& stall(std::size_t from, Millis by);

  // A plain OpenAI chat answer with `text` (usage: 10 prompt tokens, one per word), whole at `at`.
  static SimReply answer(std::string text, Millis at = Millis{0});
  // An OpenAI error answer: `status`, its headers, {"error": {"message", "type", "code"}}.
  static SimReply error(int status, Millis at = Millis{0}, Headers headers = {}, const std::string& code = "");
  // An OpenAI chat stream: the head at `head_at`, then the words (one chunk each, a space after
  // every word but the last) from `first` on, `gap` apart; then the finish chunk with usage,
  // [DONE] and the end with the last word. Steps: head, role, one per word, finish, [DONE], end.
  static SimReply stream(const std::vector<std::string>& words, Millis first, Millis gap, Millis head_at = Millis{0});
  // Nothing at all (the exchange's own limits end it).
  static SimReply silent() { return {}; }
  bool operator==(const SimReply&) const = default;
};

class SimTransport final : public transport::Exchanger {
 public:
  explicit SimTransport(std::shared_ptr<ManualClock> clock);
  ~SimTransport() override;
  SimTransport(const SimTransport&) = delete;
  SimTransport& operator=(const SimTransport&) = delete;

  // The answers for `host`, in order; then its default.
  void script(const std::string& host, std::vector<SimReply> replies);
  void set_default(const std::string& host, SimReply reply);

  struct Attempt {
    std::string host;
    Millis at{0};  // virtual time since the transport was made
    HttpRequest request;
  };
  std::vector<Attempt> attempts() const;
  // When each request to `host` was sent (virtual ms since the transport was made).
  std::vector<Millis> times(const std::string& host) const;
  std::size_t count(const std::string& host) const { return times(host).size(); }
  Millis elapsed() const;  // virtual time since the transport was made

  // Runs what is due in virtual-time order, moving the clock, until `done()` holds, nothing is
  // queued, or `limit` of virtual time has passed. Returns done().
  bool run_until(const std::function<bool()>& done, Millis limit);
  // Runs everything due within `d`; the clock ends `d` later.
  void advance(Millis d);
  std::size_t pending() const;  // queued deliveries and timers

  // transport::Exchanger
  std::shared_ptr<transport::Exchange> start(HttpRequest request, transport::EventSink sink,
                                             std::shared_ptr<FlowControl> flow = nullptr) override;
  std::shared_ptr<transport::Exchange> schedule(Millis delay, std::function<void()> fn) override;
  Clock::time_point now() const override { return clock_->now(); }
  void shutdown() override;

  struct Core;

 private:
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Core> core_;
};

}  // namespace llmfailover::testing
