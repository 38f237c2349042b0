// HttpClient against upstreams that misbehave on purpose (support/hostile_server.hpp) and callers
// that send bad input: the pool under cancellation, exceptions in the sink, request smuggling,
// response desync, unbounded streams, huge timeouts. Each case asserts the error, a time bound
// and, where memory is at stake, a bound on what was held.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "llmfailover/transport/http_client.hpp"
#include "support/hostile_server.hpp"
#include "support/sync_call.hpp"

namespace llmfailover::transport {
namespace {

using namespace std::chrono_literals;
using test::HostileServer;
using test::http_response;
using test::Peer;
using test::sse_stream;
using Kind = Event::Kind;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Bounded, so that a regression fails instead of hanging.
HttpRequest get(const HostileServer& s, const std::string& path = "/") {
  HttpRequest r;
  r.url = s.url(path);
  r.timeouts.total = 5s;
  return r;
}

// The body, or what went wrong instead (never an out-of-range index on a failed exchange).
std::string body_of(const test::Collected& c) {
  for (auto& e : c.events)
    if (e.kind == Kind::body) return e.data;
  return c.events.empty() ? "<no event>" : "<" + c.last().error.message + ">";
}

// Answers every request on the connection with `body`, keep-alive.
HostileServer::Handler echo_path(std::chrono::milliseconds delay = 0ms) {
  return [delay](Peer& p, int) {
    for (std::string req; !(req = p.read_request()).empty();) {
      std::this_thread::sleep_for(delay);
      std::string path = req.substr(req.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      if (!p.write(http_response(200, path))) return;
    }
  };
}

// Issue 10 item 1: waiters cancelled while queued for a pooled connection must leave the queue
// (the pool used to cancel their freed timers later) and must not swallow a wake-up meant for
// the others (before the fix the survivors waited out their connect timeout).
TEST(HostileUpstream, CancelledPoolWaitersLeaveTheQueue) {
  HostileServer server(echo_path(20ms));
  ClientOptions o;
  o.pool.max_per_origin = 2;
  HttpClient client(o);
  std::vector<std::pair<std::shared_ptr<Exchange>, std::shared_ptr<Channel>>> calls;
  for (int i = 0; i < 40; ++i) {
    HttpRequest r = get(server, "/" + std::to_string(i));
    r.timeouts.connect = 4s;
    calls.push_back(test::start(client, r));
  }
  for (int i = 3; i < 40; i += 2) calls[i].first->cancel();
  auto t0 = Clock::now();
  for (int i = 0; i < 40; ++i) {
    auto c = test::drain(*calls[i].second, 5s);
    ASSERT_FALSE(c.events.empty());
    if (i >= 3 && i % 2 == 1) {
      EXPECT_TRUE(c.last().kind == Kind::end || c.last().error.code == Errc::cancelled) << i;
    } else {
      ASSERT_EQ(c.last().kind, Kind::end) << i << " " << c.last().error.message;
      EXPECT_EQ(body_of(c), "/" + std::to_string(i));
    }
  }
  // 22 survivors, 2 at a time, 20 ms each: ~220 ms; a lost wake-up costs the 4 s connect timeout.
  EXPECT_LT(ms_since(t0), 3000);
  EXPECT_LE(client.stats().connections_opened, 2u);
}

// Issue 10 items 3/4: an exception escaping the sink must end the exchange with one terminal
// event instead of vanishing in co_spawn(detached) (the caller used to hang).
TEST(HostileUpstream, SinkThrowingOnTheHeadStillGetsATerminalEvent) {
  HostileServer server(echo_path());
  HttpClient client;
  auto ch = std::make_shared<Channel>();
  std::atomic<int> throws{0};
  client.start(get(server), [ch, &throws](Event&& e) {
    if (e.kind == Kind::head && throws++ == 0) throw std::runtime_error("bad index type");
    ch->push(std::move(e));
  });
  auto c = test::drain(*ch, 3s);
  ASSERT_FALSE(c.events.empty());
  EXPECT_EQ(c.last().error.code, Errc::internal_error);
  EXPECT_NE(c.last().error.message.find("bad index type"), std::string::npos);
  EXPECT_EQ(test::fetch(client, get(server, "/next")).last().kind, Kind::end);  // the client goes on
}

TEST(HostileUpstream, SinkThrowingOnTheEndIsToldOnce) {
  HostileServer server(echo_path());
  HttpClient client;
  auto ch = std::make_shared<Channel>();
  client.start(get(server), [ch](Event&& e) {
    if (e.kind == Kind::end) throw std::runtime_error("consumer broke");
    ch->push(std::move(e));
  });
  auto c = test::drain(*ch, 3s);
  ASSERT_FALSE(c.events.empty());
  EXPECT_EQ(c.last().error.code, Errc::internal_error);
}

// The transport holds the consumer's wake-ups over one read's events (FlowControl::hold_wakeups).
// A release that throws (a notify callback failing) ends the exchange with that error, and when
// the sink threw first, the release on the way out must not throw again (std::terminate).
TEST(HostileUpstream, AWakeUpReleaseThatThrowsEndsTheExchangeNotTheProcess) {
  struct ThrowingFlow final : FlowControl {
    bool pause_if_behind(std::function<void()>) override { return false; }
    void release_wakeups() override { throw std::runtime_error("notify failed"); }
  };
  HostileServer server(echo_path());
  HttpClient client;
  for (bool sink_throws : {false, true}) {
    auto ch = std::make_shared<Channel>();
    HttpRequest r = get(server);
    r.stream_body = true;
    client.start(
        r,
        [ch, sink_throws](Event&& e) {
          if (sink_throws && e.kind == Kind::body) throw std::runtime_error("consumer broke");
          ch->push(std::move(e));
        },
        std::make_shared<ThrowingFlow>());
    auto c = test::drain(*ch, 3s);
    ASSERT_FALSE(c.events.empty()) << sink_throws;
    EXPECT_EQ(c.last().error.code, Errc::internal_error) << sink_throws;
    EXPECT_NE(c.last().error.message.find(sink_throws ? "consumer broke" : "notify failed"), std::string::npos)
        << c.last().error.message;
  }
  EXPECT_EQ(test::fetch(client, get(server, "/next")).last().kind, Kind::end);  // the client goes on
}

// Issue 10 items 4/5: refused before anything is sent, naming the header, never its value.
TEST(HostileUpstream, SmugglingAttemptsAreRefusedBeforeTheWire) {
  HostileServer server(echo_path());
  HttpClient client;
  const std::string secret = "sk-secret\r\nX-Evil: 1";
  auto refused = [&](HttpRequest r) {
    auto t0 = Clock::now();
    auto c = test::fetch(client, std::move(r));
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(c.events.size(), 1u);
    return c.last().error;
  };
  HttpRequest r = get(server);
  r.headers = {{"Authorization", "Bearer " + secret}};
  Error e = refused(r);
  EXPECT_EQ(e.code, Errc::bad_request);
  EXPECT_NE(e.message.find("Authorization"), std::string::npos);
  EXPECT_EQ(e.message.find("sk-secret"), std::string::npos);
  EXPECT_EQ(errc_class(e), ErrorClass::fatal_request);

  for (std::string bad : {std::string("x\ny"), std::string("x\0y", 3), std::string("x\x01y")}) {
    r.headers = {{"Api-Key", bad}};
    EXPECT_EQ(refused(r).code, Errc::bad_request);
  }
  r.headers = {{"X Bad", "v"}};
  EXPECT_EQ(refused(r).code, Errc::bad_request);
  r.headers = {{"X-Bad:", "v"}};
  EXPECT_EQ(refused(r).code, Errc::bad_request);
  r.headers = {{"X-Big", std::string(70'000, 'a')}};  // over Beast's field limit: it used to throw
  e = refused(r);
  EXPECT_EQ(e.code, Errc::bad_request);
  EXPECT_NE(e.message.find("X-Big"), std::string::npos);
  r.headers = {};
  for (std::string url : {server.url("/a\r\nX: y"), server.url("/a b"), server.url(std::string("/a\0b", 4))}) {
    r.url = url;
    EXPECT_EQ(refused(r).code, Errc::bad_request);
  }
  r.url = server.url();
  r.method = "GET /x HTTP/1.1\r\n";
  EXPECT_EQ(refused(r).code, Errc::bad_request);
  r.method = "GET";
  r.timeouts.total = Millis{-1};
  EXPECT_EQ(refused(r).code, Errc::bad_request);
  EXPECT_EQ(server.connections(), 0);
  // A large but legal head goes through.
  ClientOptions o;
  o.max_header_bytes = 256 << 10;
  HttpClient roomy(o);
  HttpRequest ok = get(server, "/fine");
  ok.headers = {{"X-A", std::string(60'000, 'a')}, {"X-B", std::string(60'000, 'b')}};
  EXPECT_EQ(test::fetch(roomy, ok).last().kind, Kind::end);
}

// Issue 10 item 6: a keep-alive connection with bytes left over is never reused. The first
// connection answers "first" followed by `leftover`; any later one answers "second".
void expect_no_desync(const std::string& leftover) {
  HostileServer server([leftover](Peer& p, int index) {
    for (std::string req; !(req = p.read_request()).empty();)
      if (!p.write(index == 0 ? http_response(200, "first") + leftover : http_response(200, "second"))) return;
  });
  HttpClient client;
  EXPECT_EQ(body_of(test::fetch(client, get(server))), "first");
  EXPECT_EQ(body_of(test::fetch(client, get(server))), "second");
  EXPECT_EQ(server.connections(), 2);
}

TEST(HostileUpstream, UnsolicitedSecondResponseIsNeverTheNextAnswer) { expect_no_desync(http_response(200, "EVIL!")); }

TEST(HostileUpstream, BodyLongerThanContentLengthClosesTheConnection) { expect_no_desync("trailing junk"); }

TEST(HostileUpstream, BytesArrivingWhileIdleRetireTheConnection) {
  HostileServer server([](Peer& p, int index) {
    for (std::string req; !(req = p.read_request()).empty();) {
      if (!p.write(http_response(200, index == 0 ? "first" : "second"))) return;
      if (index == 0) {
        std::this_thread::sleep_for(30ms);
        p.write(http_response(200, "EVIL!"));
      }
    }
  });
  HttpClient client;
  EXPECT_EQ(body_of(test::fetch(client, get(server))), "first");
  std::this_thread::sleep_for(150ms);  // the unsolicited bytes land while the connection is idle
  EXPECT_EQ(body_of(test::fetch(client, get(server))), "second");
  EXPECT_EQ(server.connections(), 2);
}

// Interim 1xx responses come before the final one (RFC 9110 section 15.2): they are skipped, the
// final answer is the one delivered, and the connection stays in step for the next request
// (before, "100 Continue" was taken as the answer and the real one was left on the connection).
TEST(HostileUpstream, InterimResponsesAreSkipped) {
  HostileServer server([](Peer& p, int) {
    for (int n = 0; !p.read_request().empty(); ++n) {
      std::string interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n";
      if (!p.write(interim + http_response(200, "final" + std::to_string(n)))) return;
    }
  });
  HttpClient client;
  auto first = test::fetch(client, get(server));
  ASSERT_EQ(first.last().kind, Kind::end) << body_of(first);
  EXPECT_EQ(first.events.front().status, 200);
  EXPECT_EQ(body_of(first), "final0");
  EXPECT_EQ(body_of(test::fetch(client, get(server))), "final1");
  EXPECT_EQ(server.connections(), 1);
}

TEST(HostileUpstream, EndlessInterimResponsesAreRefused) {
  HostileServer server([](Peer& p, int) {
    if (p.read_request().empty()) return;
    for (int i = 0; i < 100; ++i)
      if (!p.write("HTTP/1.1 100 Continue\r\n\r\n")) return;
  });
  HttpClient client;
  auto c = test::fetch(client, get(server));
  ASSERT_EQ(c.last().kind, Kind::error);
  EXPECT_EQ(c.last().error.code, Errc::protocol_error) << c.last().error.message;
}

// A keep-alive server: the fix must not cost reuse of clean connections.
TEST(HostileUpstream, CleanConnectionsAreStillReused) {
  HostileServer server(echo_path());
  HttpClient client;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(test::fetch(client, get(server)).last().kind, Kind::end);
  EXPECT_EQ(server.connections(), 1);
}

// Issue 10 item 7b: a line that never ends is refused once over the cap, not held whole.
TEST(HostileUpstream, EndlessSseLineIsRefusedAtTheCap) {
  std::atomic<std::size_t> sent{0};
  HostileServer server(sse_stream([&](int round) -> std::string {
    if (round == 0) return "data: ";
    if (sent > (300u << 20)) return "";
    sent += 64 << 10;
    return std::string(64 << 10, 'a');
  }));
  ClientOptions o;
  o.max_sse_line_bytes = 1 << 20;
  HttpClient client(o);
  auto t0 = Clock::now();
  auto c = test::fetch(client, get(server));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.last().error.code, Errc::body_too_large);
  EXPECT_NE(c.last().error.message.find("SSE line"), std::string::npos);
  EXPECT_LT(sent.load(), 64u << 20);  // stopped near the cap (plus socket buffers)
  EXPECT_LT(ms_since(t0), 5000);
}

TEST(HostileUpstream, HugeSseEventIsRefusedAtTheCap) {
  HostileServer server(sse_stream(
      [](int round) -> std::string { return round < 2000 ? "data: " + std::string(1000, 'x') + "\n" : ""; }));
  ClientOptions o;
  o.max_sse_event_bytes = 100'000;
  HttpClient client(o);
  auto c = test::fetch(client, get(server));
  EXPECT_EQ(c.last().error.code, Errc::body_too_large);
  EXPECT_NE(c.last().error.message.find("event"), std::string::npos);
}

// Issue 10 items 7b/9: a huge error body to a streaming request is truncated at the cap; the
// status arrives first and the exchange ends normally, so the router can fail over.
TEST(HostileUpstream, HugeErrorBodyIsTruncatedAndKeepsItsStatus) {
  for (bool stream_body : {true, false}) {
    std::atomic<std::size_t> sent{0};
    HostileServer server([&](Peer& p, int) {
      if (p.read_request().empty()) return;
      if (!p.write("HTTP/1.1 503 X\r\nContent-Type: application/json\r\nContent-Length: 314572800\r\n\r\n")) return;
      for (std::string chunk(64 << 10, 'e'); sent < (300u << 20) && p.write(chunk);) sent += chunk.size();
    });
    ClientOptions o;
    o.max_body_bytes = 4096;  // smaller than the error cap: the error cap rules error bodies
    HttpClient client(o);
    HttpRequest r = get(server);
    r.stream_body = stream_body;
    auto c = test::fetch(client, r);
    EXPECT_EQ(c.status(), 503);
    ASSERT_EQ(c.last().kind, Kind::end) << c.last().error.message;
    ASSERT_EQ(c.count(Kind::body), 1u);
    EXPECT_EQ(body_of(c).size(), o.max_error_body_bytes);
    EXPECT_LT(sent.load(), 64u << 20);
  }
}

// The parser's body buffer is sized with the reads (512 bytes while the peer trickles, up to
// 16 KiB on a burst; the connection's buffer can be bigger after a large head): a body that
// trickles, bursts and trickles again after a 120 KB head arrives byte for byte, and the
// connection carries the next request.
TEST(HostileUpstream, BodyArrivesWholeWhileTheBodyBufferGrowsAndShrinks) {
  std::string body;
  for (int i = 0; body.size() < 300'000; ++i) body += std::to_string(i) + ",";
  HostileServer server([&body](Peer& p, int) {
    for (int n = 0; !p.read_request().empty(); ++n) {
      if (n > 0) {
        if (!p.write(http_response(200, "second"))) return;
        continue;
      }
      std::string head = "HTTP/1.1 200 OK\r\nX-A: " + std::string(60'000, 'a') +
                         "\r\nX-B: " + std::string(60'000, 'b') + "\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\n\r\n";
      if (!p.write(head)) return;
      std::size_t at = 0;
      auto send = [&](std::size_t n) { return p.write(body.substr(at, n)) && (at += n, true); };
      for (int i = 0; i < 8; ++i, std::this_thread::sleep_for(2ms))
        if (!send(100)) return;
      if (!send(200'000)) return;
      for (int i = 0; i < 8; ++i, std::this_thread::sleep_for(2ms))
        if (!send(300)) return;
      if (!send(body.size() - at)) return;
    }
  });
  ClientOptions o;
  o.max_header_bytes = 256 << 10;
  HttpClient client(o);
  for (bool stream_body : {false, true}) {
    HttpRequest r = get(server);
    r.stream_body = stream_body;
    auto c = test::fetch(client, r);
    ASSERT_EQ(c.last().kind, Kind::end) << c.last().error.message;
    std::string got;
    for (auto& e : c.events)
      if (e.kind == Kind::body) got += e.data;
    EXPECT_EQ(got, stream_body ? "second" : body);
  }
  EXPECT_EQ(server.connections(), 1);
}

// Beast's basic_fields stores a field value's length in 16 bits and throws ("field value too
// large") for a longer one, from inside the parser. With max_header_bytes raised past 64 KiB an
// upstream can send such a value: the exchange must end with a clear error, never hang.
TEST(HostileUpstream, AHeaderValueBeyond64KiBEndsTheExchangeWithAnError) {
  HostileServer server([](Peer& p, int) {
    if (p.read_request().empty()) return;
    p.write("HTTP/1.1 200 OK\r\nX-Big: " + std::string(70'000, 'v') + "\r\nContent-Length: 2\r\n\r\nok");
  });
  ClientOptions o;
  o.max_header_bytes = 256 << 10;
  HttpClient client(o);
  for (bool stream_body : {false, true}) {
    HttpRequest r = get(server);
    r.stream_body = stream_body;
    const auto t0 = Clock::now();
    auto c = test::fetch(client, r);
    ASSERT_EQ(c.last().kind, Kind::error) << stream_body;
    EXPECT_EQ(c.last().error.code, Errc::protocol_error) << c.last().error.message;
    EXPECT_NE(c.last().error.message.find("header"), std::string::npos) << c.last().error.message;
    EXPECT_LT(ms_since(t0), 2000.0);
  }
}

TEST(HostileUpstream, OversizedSuccessBodyIsRefusedAfterItsHead) {
  HostileServer server(echo_path());
  ClientOptions o;
  o.max_body_bytes = 4;
  HttpClient client(o);
  auto c = test::fetch(client, get(server, "/longer-than-four"));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.last().error.code, Errc::body_too_large);
}

// Issue 10 item 9: "no limit" timeouts far in the future must not wrap round into the past.
TEST(HostileUpstream, HugeTimeoutsMeanNoLimit) {
  HostileServer server(echo_path(50ms));
  HttpClient client;
  HttpRequest r = get(server);
  r.timeouts = {Millis::max(), Millis::max(), Millis::max(), Millis::max()};
  r.deadline = Clock::time_point::max();
  auto c = test::fetch(client, r);
  EXPECT_EQ(c.last().kind, Kind::end) << c.last().error.message;
}

TEST(Durations, SecondsSaturateInsteadOfOverflowing) {
  EXPECT_EQ(millis_from_seconds(1.5), Millis{1500});
  EXPECT_EQ(millis_from_seconds(0), Millis{0});
  for (double huge : {1e17, 1e308, std::numeric_limits<double>::infinity()})
    EXPECT_EQ(millis_from_seconds(huge), Millis::max()) << huge;
  EXPECT_FALSE(millis_from_seconds(std::nan("")));
  EXPECT_FALSE(millis_from_seconds(-1));
  auto now = Clock::now();
  EXPECT_EQ(deadline_after(Millis::max(), now), Clock::time_point::max());
  EXPECT_EQ(deadline_after(Millis{5}, now), now + 5ms);
  EXPECT_EQ(deadline_after(Millis{-5}, now), now);
}

}  // namespace
}  // namespace llmfailover::transport
