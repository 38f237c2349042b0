// Backpressure (issue 10 item 7a): a stream to a slow consumer holds a bounded queue, pauses the
// reads instead of the timers, and can still be cancelled while paused.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "llmfailover/channel.hpp"
#include "llmfailover/plain.hpp"
#include "llmfailover/router.hpp"
#include "llmfailover/transport/http_client.hpp"
#include "support/hostile_server.hpp"

namespace llmfailover::transport {
namespace {

using namespace std::chrono_literals;
using test::HostileServer;
using Kind = Event::Kind;

constexpr std::size_t kMaxEvents = 256;
const std::string kEvent = "data: x\n\n";  // 9 wire bytes per event

// `rounds` writes of 10,000 small events each.
HostileServer::Handler many_events(int rounds) {
  return test::sse_stream([rounds](int round) {
    std::string batch;
    if (round < rounds)
      for (int i = 0; i < 10'000; ++i) batch += kEvent;
    return batch;
  });
}

struct Stream {
  std::shared_ptr<Channel> channel = std::make_shared<Channel>();
  std::shared_ptr<Exchange> exchange;
};

Stream start(HttpClient& client, const HostileServer& server, Millis idle = Millis{0}) {
  Stream s;
  s.channel->set_limits(kMaxEvents, 1 << 20);
  HttpRequest r;
  r.url = server.url("/stream");
  r.timeouts.idle = idle;
  auto ch = s.channel;
  s.exchange = client.start(
      r, [ch](Event&& e) { ch->push(std::move(e)); }, std::shared_ptr<FlowControl>(ch, ch.get()));
  return s;
}

// Takes events until the terminal one (at most `limit`), napping `nap` after the first batch.
struct Consumed {
  std::size_t sse = 0, batches = 0;
  Event last = Event::failure({Errc::ok, "no terminal event", false});
  bool ended = false;
};
Consumed consume(Channel& ch, std::chrono::milliseconds nap, std::chrono::seconds limit = 60s) {
  Consumed c;
  std::vector<Event> batch;
  for (auto t0 = Clock::now(); !c.ended && Clock::now() - t0 < limit;) {
    batch.clear();
    if (!ch.wait(batch, 5s)) break;
    if (c.batches++ == 0) std::this_thread::sleep_for(nap);
    for (auto& e : batch) c.sse += e.kind == Kind::sse;
    if (batch.back().terminal()) c.last = std::move(batch.back()), c.ended = true;
  }
  return c;
}

// The consumer naps 50 ms on its first batch; without backpressure the io
// thread queued the whole stream meanwhile (1.5 GB for 3M chunks in the issue).
TEST(Backpressure, SlowConsumerHoldsABoundedQueue) {
  constexpr int kRounds = 300;  // 3,000,000 events, 27 MB on the wire
  HostileServer server(many_events(kRounds));
  HttpClient client;
  Stream s = start(client, server);
  auto t0 = Clock::now();
  Consumed c = consume(*s.channel, 50ms);
  EXPECT_EQ(c.last.kind, Kind::end) << c.last.error.message;
  EXPECT_EQ(c.sse, std::size_t{kRounds} * 10'000);
  auto q = s.channel->queue_stats();
  // High-water mark plus one read's events (16 KiB of wire bytes) plus the head.
  EXPECT_LE(q.peak_events, kMaxEvents + 16 * 1024 / kEvent.size() + 2);
  EXPECT_GT(q.pauses, 0u);
  std::printf("[ measured ] %zu events, %zu batches, peak queue %zu events / %zu bytes, %zu pauses, %.0f ms\n", c.sse,
              c.batches, q.peak_events, q.peak_bytes, q.pauses,
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
}

// A burst wakes the consumer once per read (FlowControl::hold_wakeups), not once per event: 10,000
// events in one write are ~90 KB, a few dozen reads at most.
TEST(Backpressure, ABurstWakesTheConsumerPerReadNotPerEvent) {
  HostileServer server(many_events(1));
  HttpClient client;
  Stream s = start(client, server);
  Consumed c = consume(*s.channel, 0ms);
  EXPECT_EQ(c.last.kind, Kind::end) << c.last.error.message;
  EXPECT_EQ(c.sse, 10'000u);
  EXPECT_LE(c.batches, 500u) << "the consumer was woken per event";
}

// Paused time is not upstream silence: an idle limit of 100 ms survives a 400 ms consumer stall.
TEST(Backpressure, ConsumerStallIsNotAnIdleTimeout) {
  HostileServer server(many_events(20));
  HttpClient client;
  Stream s = start(client, server, 100ms);
  Consumed c = consume(*s.channel, 400ms, 10s);
  EXPECT_EQ(c.last.kind, Kind::end) << c.last.error.message;
  EXPECT_GT(s.channel->queue_stats().pauses, 0u);
}

// A paused exchange still ends promptly, as `cancelled`, never as a timeout.
TEST(Backpressure, CancelWhilePausedEndsAsCancelled) {
  HostileServer server(many_events(1000));
  HttpClient client;
  Stream s = start(client, server, 100ms);
  std::vector<Event> batch;
  ASSERT_TRUE(s.channel->wait(batch, 5s));
  std::this_thread::sleep_for(300ms);  // paused by now, idle limit passed three times over
  EXPECT_GT(s.channel->queue_stats().pauses, 0u);
  auto t0 = Clock::now();
  s.exchange->cancel();
  Consumed c = consume(*s.channel, 0ms, 5s);
  EXPECT_TRUE(c.ended);
  EXPECT_EQ(c.last.error.code, Errc::cancelled) << c.last.error.message;
  double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  EXPECT_LT(took_ms, 2000);
}

// A plain client's call (plain.hpp, router.hpp's PassThrough) to `url`, no retries.
RouteRequest plain_call(const std::string& body = "") {
  RouteRequest r;
  r.model = kPlainGroup;
  r.call.path = "/chat/completions";
  r.call.body = body;
  r.overrides.max_attempts = 1;
  r.pass = PassThrough{Timeouts{}, nullptr};
  return r;
}

RouterConfig plain_config(const std::string& url) {
  PlainUpstream u;
  u.base_url = url;
  u.api_key = Secret("sk-test");
  return plain_router_config(u);
}

// The router wires its call's Channel as the exchange's FlowControl with the ClientOptions marks.
TEST(Backpressure, PlainCallsArePacedByTheirConsumer) {
  HostileServer server(many_events(50));
  ClientOptions o;
  o.max_queued_events = 100;
  Router router(plain_config(server.url("/v1")), o);
  auto call = router.send(plain_call(R"({"stream":true})"));
  Consumed c = consume(call->channel(), 50ms);
  EXPECT_EQ(c.last.kind, Kind::end) << c.last.error.message;
  EXPECT_EQ(c.sse, 500'000u);
  auto q = call->channel().queue_stats();
  EXPECT_LE(q.peak_events, 100 + 16 * 1024 / kEvent.size() + 2);
  EXPECT_GT(q.pauses, 0u);
}

// A paused call nobody reads or cancels must not hold its upstream forever: dropping the last
// handle cancels it (before, the exchange kept the call alive through its sink, paused).
TEST(Backpressure, DroppedPlainCallIsCancelled) {
  std::atomic<bool> server_done{false};
  auto stream = many_events(1000);
  HostileServer server([&](test::Peer& p, int i) {
    stream(p, i);
    server_done = true;
  });
  Router router(plain_config(server.url("/v1")));
  auto call = router.send(plain_call());
  std::vector<Event> batch;
  ASSERT_TRUE(call->channel().wait(batch, 5s));
  std::this_thread::sleep_for(100ms);  // paused by now
  EXPECT_GT(call->channel().queue_stats().pauses, 0u);
  call.reset();
  auto t0 = Clock::now();
  while (!server_done && Clock::now() - t0 < 5s) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(server_done);  // the connection was closed under the writing server
}

}  // namespace
}  // namespace llmfailover::transport
