// The simulated transport (testing/sim_transport.hpp) keeps HttpClient's contract on virtual
// time: steps at their times, first-byte / idle / deadline limits with their error codes, one
// terminal event, cancel and timers, shutdown.
#include "llmfailover/testing/sim_transport.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace llmfailover::testing {
namespace {

using namespace std::chrono_literals;

class SimTransportTest : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<SimTransport> sim = std::make_shared<SimTransport>(clock);

  struct Seen {
    std::vector<Event> events;
    std::vector<Millis> at;
    bool ended() const { return !events.empty() && events.back().terminal(); }
  };

  std::shared_ptr<transport::Exchange> start(Seen& seen, Timeouts t = {}, std::optional<Millis> deadline = {}) {
    HttpRequest r;
    r.method = "POST";
    r.url = "http://a/v1/chat/completions";
    r.body = R"({"model":"m1"})";
    r.timeouts = t;
    if (deadline) r.deadline = clock->now() + *deadline;
    return sim->start(r, [this, &seen](Event&& e) {
      seen.events.push_back(std::move(e));
      seen.at.push_back(sim->elapsed());
    });
  }
  void run(Seen& seen) {
    sim->run_until([&] { return seen.ended(); }, std::chrono::hours(1));
  }
};

TEST_F(SimTransportTest, StepsArriveAtTheirVirtualTimes) {
  sim->script("a", {SimReply{}.head(30ms, 200).body(45ms, R"({"model":"{model}"})").end(60ms)});
  Seen seen;
  start(seen);
  EXPECT_TRUE(seen.events.empty());  // never from inside start()
  run(seen);
  ASSERT_EQ(seen.events.size(), 3u);
  EXPECT_EQ(seen.at, (std::vector<Millis>{30ms, 45ms, 60ms}));
  EXPECT_EQ(seen.events[1].data, R"({"model":"m1"})");
  EXPECT_EQ(sim->times("a"), std::vector<Millis>{0ms});
}

TEST_F(SimTransportTest, LimitsEndTheExchangeWithTheirCodes) {
  struct Case {
    SimReply reply;
    Timeouts t;
    std::optional<Millis> deadline;
    Errc code;
    Millis at;
  };
  Timeouts fb;
  fb.first_byte = 200ms;
  Timeouts idle;
  idle.idle = 100ms;
  Timeouts total;
  total.total = 150ms;
  for (auto& c : {Case{SimReply::silent(), fb, {}, Errc::first_byte_timeout, 200ms},
                  Case{SimReply{}.head(10ms, 200).sse(80ms, "x"), idle, {}, Errc::idle_timeout, 180ms},
                  Case{SimReply::silent(), fb, 120ms, Errc::deadline_exceeded, 120ms},
                  Case{SimReply{}.head(10ms, 200), idle, {}, Errc::idle_timeout, 110ms},
                  Case{SimReply::silent(), total, {}, Errc::deadline_exceeded, 150ms},
                  Case{SimReply{}.head(200ms, 200).end(200ms), fb, {}, Errc::ok, 200ms}}) {  // in time wins
    sim = std::make_shared<SimTransport>(clock);
    sim->script("a", {c.reply});
    Seen seen;
    start(seen, c.t, c.deadline);
    run(seen);
    ASSERT_TRUE(seen.ended());
    EXPECT_EQ(seen.events.back().error.code, c.code);
    EXPECT_EQ(seen.at.back(), c.at);
  }
}

TEST_F(SimTransportTest, ATighterIdleLimitAppliesFromTheLastRead) {
  Timeouts t;
  t.idle = 10s;
  sim->script("a", {SimReply{}.head(0ms, 200).sse(50ms, "x")});
  Seen seen;
  auto ex = start(seen, t);
  sim->advance(60ms);
  ex->set_idle_timeout(300ms);
  run(seen);
  EXPECT_EQ(seen.events.back().error.code, Errc::idle_timeout);
  EXPECT_EQ(seen.at.back(), 350ms);
}

TEST_F(SimTransportTest, CancelEndsOnceAndLater) {
  sim->script("a", {SimReply::answer("hi", 100ms)});
  Seen seen;
  auto ex = start(seen);
  sim->advance(40ms);
  ex->cancel();
  ex->cancel();
  EXPECT_FALSE(seen.ended());  // delivered, not synchronous
  run(seen);
  ASSERT_EQ(seen.events.size(), 1u);
  EXPECT_EQ(seen.events[0].error.code, Errc::cancelled);
  EXPECT_EQ(seen.at[0], 40ms);
  sim->advance(1s);
  EXPECT_EQ(seen.events.size(), 1u);
}

TEST_F(SimTransportTest, TimersRunAtTheirTimeUnlessCancelled) {
  std::vector<Millis> fired;
  sim->schedule(300ms, [&] { fired.push_back(sim->elapsed()); });
  auto gone = sim->schedule(100ms, [&] { fired.push_back(-1ms); });
  sim->schedule(0ms, [&] { fired.push_back(sim->elapsed()); });
  gone->cancel();
  sim->advance(1s);
  EXPECT_EQ(fired, (std::vector<Millis>{0ms, 300ms}));
  EXPECT_EQ(sim->elapsed(), 1000ms);
}

TEST_F(SimTransportTest, ShutdownEndsLiveExchangesAndDropsTimers) {
  Seen live, later;
  start(live);  // the default answer comes at 0 ms: not yet delivered
  bool fired = false;
  sim->schedule(10ms, [&] { fired = true; });
  sim->shutdown();
  ASSERT_TRUE(live.ended());
  EXPECT_EQ(live.events.back().error.code, Errc::cancelled);
  start(later);
  run(later);
  EXPECT_EQ(later.events.back().error.code, Errc::cancelled);
  sim->advance(1s);
  EXPECT_FALSE(fired);
  EXPECT_EQ(sim->pending(), 0u);
}

}  // namespace
}  // namespace llmfailover::testing
