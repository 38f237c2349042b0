// HttpClient against the in-process FakeProvider: bodies, SSE, the pool, every timeout, faults
// and cancellation.
#include "llmfailover/transport/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "llmfailover/testing/fake_provider.hpp"
#include "support/sync_call.hpp"

namespace llmfailover::transport {
namespace {

using namespace std::chrono_literals;
using testing::FakeProvider;
using testing::Fault;
using Kind = Event::Kind;

HttpRequest chat(const FakeProvider& fp, const std::string& model, bool stream = false) {
  HttpRequest r;
  r.method = "POST";
  r.url = fp.base_url() + "/chat/completions";
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" +
           (stream ? R"(,"stream":true})" : "}");
  return r;
}

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

class HttpClientTest : public ::testing::Test {
 protected:
  FakeProvider fp;
  HttpClient client;
};

TEST_F(HttpClientTest, PlainJsonBodyArrivesWhole) {
  auto c = test::fetch(client, chat(fp, "m"));
  ASSERT_EQ(c.status(), 200);
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[1].kind, Kind::body);
  EXPECT_NE(c.events[1].data.find("chat.completion"), std::string::npos);
  EXPECT_EQ(c.last().kind, Kind::end);
}

TEST_F(HttpClientTest, EventStreamIsParsedIntoSseEvents) {
  auto c = test::fetch(client, chat(fp, "m", true));
  ASSERT_EQ(c.status(), 200);
  EXPECT_EQ(c.count(Kind::body), 0u);
  ASSERT_GE(c.count(Kind::sse), 2u);
  EXPECT_EQ(c.events[c.events.size() - 2].data, "[DONE]");
  EXPECT_EQ(c.last().kind, Kind::end);
}

TEST_F(HttpClientTest, KeepAliveConnectionIsReused) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(test::fetch(client, chat(fp, "m")).status(), 200);
  auto s = client.stats();
  EXPECT_EQ(s.connections_opened, 1u);
  EXPECT_EQ(s.reused, 2u);
  EXPECT_EQ(s.idle, 1u);
}

TEST_F(HttpClientTest, StreamsAreReusedToo) {
  for (int i = 0; i < 2; ++i) ASSERT_EQ(test::fetch(client, chat(fp, "m", true)).last().kind, Kind::end);
  EXPECT_EQ(client.stats().connections_opened, 1u);
}

TEST(HttpClientPool, LimitQueuesInsteadOfOpeningMore) {
  FakeProvider fp;
  fp.set_default("slow", Fault::slow_headers(100ms));
  ClientOptions o;
  o.pool.max_per_origin = 1;
  HttpClient client(o);
  auto a = test::start(client, chat(fp, "slow"));
  auto b = test::start(client, chat(fp, "slow"));
  EXPECT_EQ(test::drain(*a.second).status(), 200);
  EXPECT_EQ(test::drain(*b.second).status(), 200);
  EXPECT_EQ(client.stats().connections_opened, 1u);
}

TEST(HttpClientPool, WaitingForASlotCountsAgainstTheConnectTimeout) {
  FakeProvider fp;
  fp.set_default("hang", Fault::no_response());
  ClientOptions o;
  o.pool.max_per_origin = 1;
  HttpClient client(o);
  auto a = test::start(client, chat(fp, "hang"));
  HttpRequest r = chat(fp, "hang");
  r.timeouts.connect = 100ms;
  auto b = test::fetch(client, r);
  EXPECT_EQ(b.last().error.code, Errc::connect_timeout);
  a.first->cancel();
}

TEST_F(HttpClientTest, RefusedConnectionIsTransparent) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acc(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = acc.local_endpoint().port();
  acc.close();  // nothing listens there now
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/models";
  auto c = test::fetch(client, r);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.last().error.code, Errc::connect_refused);
  EXPECT_EQ(errc_class(c.last().error), ErrorClass::transparent);
}

TEST_F(HttpClientTest, BadUrlIsRejected) {
  HttpRequest r;
  r.url = "ftp://example.com/x";
  EXPECT_EQ(test::fetch(client, r).last().error.code, Errc::bad_url);
}

TEST_F(HttpClientTest, FirstByteTimeout) {
  fp.set_default("m", Fault::slow_headers(2s));
  HttpRequest r = chat(fp, "m");
  r.timeouts.first_byte = 100ms;
  auto t0 = Clock::now();
  auto c = test::fetch(client, r);
  EXPECT_EQ(c.last().error.code, Errc::first_byte_timeout);
  EXPECT_TRUE(c.last().error.request_sent);
  EXPECT_LT(elapsed_ms(t0), 1000);
}

TEST_F(HttpClientTest, IdleTimeoutBetweenChunks) {
  fp.set_default("m", Fault::stall(1));
  HttpRequest r = chat(fp, "m", true);
  r.timeouts.idle = 100ms;
  auto c = test::fetch(client, r);
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.count(Kind::sse), 1u);
  EXPECT_EQ(c.last().error.code, Errc::idle_timeout);
}

TEST_F(HttpClientTest, TotalTimeoutIsADeadline) {
  Fault f;
  f.chunk_delay = 60ms;
  fp.set_default("m", f);
  HttpRequest r = chat(fp, "m", true);
  r.timeouts.idle = 1s;
  r.timeouts.total = 100ms;  // each chunk is in time, the whole stream is not
  auto c = test::fetch(client, r);
  EXPECT_EQ(c.last().error.code, Errc::deadline_exceeded);
}

TEST_F(HttpClientTest, CallerDeadline) {
  fp.set_default("m", Fault::no_response());
  HttpRequest r = chat(fp, "m");
  r.deadline = Clock::now() + 100ms;
  EXPECT_EQ(test::fetch(client, r).last().error.code, Errc::deadline_exceeded);
}

TEST_F(HttpClientTest, ResetBeforeAnyByte) {
  fp.set_default("m", Fault::reset_connection());
  auto c = test::fetch(client, chat(fp, "m"));
  EXPECT_EQ(c.last().kind, Kind::error);
  EXPECT_TRUE(c.last().error.code == Errc::connection_reset || c.last().error.code == Errc::connection_closed)
      << to_string(c.last().error.code);
}

TEST_F(HttpClientTest, CloseWithoutResponse) {
  fp.set_default("m", Fault::close_connection());
  EXPECT_EQ(test::fetch(client, chat(fp, "m")).last().error.code, Errc::connection_closed);
}

TEST_F(HttpClientTest, StalePooledConnectionIsReplayedOnceAndSaysSo) {
  // Attempt 2 reuses the pooled connection, which the server closes without answering.
  fp.script("m", {Fault::ok(), Fault::close_connection(), Fault::ok()});
  auto first = test::fetch(client, chat(fp, "m"));
  ASSERT_EQ(first.status(), 200);
  EXPECT_FALSE(first.events.front().replayed);
  auto second = test::fetch(client, chat(fp, "m"));
  ASSERT_EQ(second.status(), 200);
  EXPECT_TRUE(second.events.front().replayed);  // the upstream saw the request twice
  EXPECT_EQ(fp.attempts("m").size(), 3u);
  EXPECT_EQ(client.stats().connections_opened, 2u);
  // A fresh connection that closes is not replayed.
  fp.script("n", {Fault::close_connection(), Fault::ok()});
  HttpClient fresh;
  auto c = test::fetch(fresh, chat(fp, "n"));
  EXPECT_EQ(c.last().error.code, Errc::connection_closed);
  EXPECT_FALSE(c.last().replayed);
  EXPECT_EQ(fp.attempts("n").size(), 1u);
}

TEST_F(HttpClientTest, CutStreamEndsInAnErrorNotAnEnd) {
  fp.set_default("m", Fault::cut(2));
  auto c = test::fetch(client, chat(fp, "m", true));
  EXPECT_EQ(c.count(Kind::sse), 2u);
  EXPECT_EQ(c.last().error.code, Errc::connection_closed);
}

TEST_F(HttpClientTest, CancelEndsAHangingExchangePromptly) {
  fp.set_default("m", Fault::no_response());
  auto [ex, ch] = test::start(client, chat(fp, "m"));
  std::this_thread::sleep_for(50ms);
  auto t0 = Clock::now();
  ex->cancel();
  auto c = test::drain(*ch, 2s);
  EXPECT_EQ(c.last().error.code, Errc::cancelled);
  EXPECT_LT(elapsed_ms(t0), 500);
}

TEST_F(HttpClientTest, CancelDuringAStream) {
  fp.set_default("m", Fault::stall(1));
  auto [ex, ch] = test::start(client, chat(fp, "m", true));
  std::vector<Event> got;
  while (got.size() < 2) ch->wait(got, 2s);  // head + first chunk
  ex->cancel();
  auto c = test::drain(*ch, 2s);
  EXPECT_EQ(c.last().error.code, Errc::cancelled);
}

TEST_F(HttpClientTest, ScheduledCallbackRunsAfterItsDelayUnlessCancelled) {
  std::promise<void> fired;
  auto t0 = Clock::now();
  client.schedule(50ms, [&] { fired.set_value(); });
  ASSERT_EQ(fired.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_GE(elapsed_ms(t0), 45);
  std::atomic<bool> ran{false};
  client.schedule(50ms, [&] { ran = true; })->cancel();
  std::this_thread::sleep_for(120ms);
  EXPECT_FALSE(ran);
}

TEST(HttpClientShutdown, EndsOutstandingExchangesAndRefusesNewOnes) {
  FakeProvider fp;
  fp.set_default("m", Fault::no_response());
  HttpClient client;
  auto [ex, ch] = test::start(client, chat(fp, "m"));
  std::this_thread::sleep_for(30ms);
  client.shutdown();
  EXPECT_EQ(test::drain(*ch, 2s).last().error.code, Errc::cancelled);
  EXPECT_EQ(test::fetch(client, chat(fp, "m")).last().error.code, Errc::cancelled);
}

}  // namespace
}  // namespace llmfailover::transport

namespace llmfailover::transport {
namespace {

TEST(HttpClientStreamBody, NonSseBodyArrivesInPiecesWhenAsked) {
  testing::FakeProvider fp;
  HttpClient client;
  HttpRequest r;
  r.method = "POST";
  r.url = fp.base_url() + "/chat/completions";
  r.body = R"({"model":"m","messages":[]})";
  r.stream_body = true;
  auto c = test::fetch(client, r);
  ASSERT_EQ(c.status(), 200);
  std::string joined;
  for (auto& e : c.events)
    if (e.kind == Event::Kind::body) joined += e.data;
  EXPECT_NE(joined.find("chat.completion"), std::string::npos);
  EXPECT_EQ(c.last().kind, Event::Kind::end);
}

}  // namespace
}  // namespace llmfailover::transport
