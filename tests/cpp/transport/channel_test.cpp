// Channel::wait_end (issue 14): a non-streamed call wakes its consumer once, not per event, and a
// producer paused behind the high-water marks is never left waiting for it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "llmfailover/channel.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

long voluntary_switches() {  // this thread's sleeps (futex waits and the like)
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

TEST(Channel, WaitEndTakesTheWholeAnswerInOneWakeUp) {
  Channel ch;
  constexpr int kEvents = 100;
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);  // the consumer is asleep by now
    ch.push(Event::head(200, {}));
    for (int i = 0; i < kEvents; ++i) {
      ch.push(Event::body("x"));
      std::this_thread::sleep_for(200us);
    }
    ch.push(Event::end());
  });
  std::vector<Event> out;
  const long before = voluntary_switches();
  ASSERT_TRUE(ch.wait_end(out, 10'000ms));
  const long slept = voluntary_switches() - before;
  producer.join();
  ASSERT_EQ(out.size(), std::size_t{kEvents} + 2);  // head, bodies, end: one batch
  EXPECT_EQ(out.back().kind, Event::Kind::end);
  // Woken by every push, the consumer slept about 100 times (before the fix); a few spurious
  // wake-ups are allowed.
  EXPECT_LE(slept, 5) << "the consumer was woken per event";
}

TEST(Channel, WaitEndTakesEventsOfAPausedProducer) {
  Channel ch;
  ch.set_limits(4, 0);
  std::atomic<bool> resumed{false};
  for (int i = 0; i < 4; ++i) ch.push(Event::body("x"));
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(ch.pause_if_behind([&] { resumed = true; }));
  });
  std::vector<Event> out;
  auto t0 = Clock::now();
  ASSERT_TRUE(ch.wait_end(out, 10'000ms));  // returns with the queue, not at the time-out
  producer.join();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_TRUE(resumed);
}

TEST(Channel, WaitEndTimesOutWithWhatIsPending) {
  Channel ch;
  std::vector<Event> out;
  EXPECT_FALSE(ch.wait_end(out, 10ms));  // nothing at all
  EXPECT_TRUE(out.empty());
  ch.push(Event::head(200, {}));
  EXPECT_TRUE(ch.wait_end(out, 10ms));  // the head, though the end has not come
  ASSERT_EQ(out.size(), 1u);
  ch.cancel();  // a cancel queues a terminal error: the consumer always sees an end
  EXPECT_TRUE(ch.wait_end(out, std::nullopt));
  EXPECT_EQ(out.back().kind, Event::Kind::error);
}

TEST(Channel, WaitStillWakesPerEventForStreams) {
  Channel ch;
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    ch.push(Event::head(200, {}));
  });
  std::vector<Event> out;
  ASSERT_TRUE(ch.wait(out, 10'000ms));  // a stream's consumer wants the head at once
  producer.join();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Event::Kind::head);
}

// Wake-ups per read (issue 14): only a push that makes events available tells the consumer, a
// hold defers that to its release, and the end is never held.
struct Told {
  std::atomic<int> n{0};
  std::function<void()> fn() {
    return [this] { ++n; };
  }
};

TEST(Channel, OnlyAPushIntoAnEmptyQueueTellsTheConsumer) {
  Channel ch;
  Told told;
  ch.set_notify(told.fn());
  ch.push(Event::head(200, {}));
  for (int i = 0; i < 1000; ++i) ch.push(Event::sse("", "x"));
  EXPECT_EQ(told.n, 1);  // was 1,001: one notify (and futex wake-up) per event
  std::vector<Event> out;
  ch.poll(out);
  ASSERT_EQ(out.size(), 1001u);
  ch.push(Event::sse("", "y"));  // empty again: told again
  EXPECT_EQ(told.n, 2);
  ch.push(Event::end());  // the end is always told
  EXPECT_EQ(told.n, 3);
}

TEST(Channel, AHeldReadTellsOnceAtItsRelease) {
  Channel ch;
  Told told;
  ch.set_notify(told.fn());
  ch.hold_wakeups();
  for (int i = 0; i < 5000; ++i) ch.push(Event::sse("", std::to_string(i)));
  EXPECT_EQ(told.n, 0);
  std::vector<Event> out;
  EXPECT_TRUE(ch.wait(out, 0ms));  // a consumer that looks finds them: held is not hidden
  ASSERT_EQ(out.size(), 5000u);
  EXPECT_EQ(out[4999].data, "4999");
  ch.push(Event::sse("", "late"));
  ch.release_wakeups();
  EXPECT_EQ(told.n, 1);
  ch.release_wakeups();  // an unmatched release is harmless
  EXPECT_EQ(told.n, 1);
}

TEST(Channel, HoldsNestAndAPollBeforeTheReleaseLeavesNothingToTell) {
  Channel ch;
  Told told;
  ch.set_notify(told.fn());
  ch.hold_wakeups();
  ch.hold_wakeups();  // two producers (a hedge) in one read each
  ch.push(Event::sse("", "a"));
  ch.release_wakeups();
  EXPECT_EQ(told.n, 0);
  ch.release_wakeups();
  EXPECT_EQ(told.n, 1);
  ch.hold_wakeups();
  ch.push(Event::sse("", "b"));
  ch.push(Event::sse("", "c"));
  std::vector<Event> out;
  ch.poll(out);  // taken already: nothing left to tell at the release
  ch.poll(out);
  ch.release_wakeups();
  EXPECT_EQ(told.n, 1);
  EXPECT_EQ(out.size(), 3u);
}

TEST(Channel, TheEndAndACancelAreNeverHeld) {
  for (bool cancel : {false, true}) {
    Channel ch;
    Told told;
    ch.set_notify(told.fn());
    ch.hold_wakeups();  // a producer that never releases (it failed mid-read)
    ch.push(Event::sse("", "a"));
    std::thread consumer_side([&] {
      if (cancel) ch.cancel();
      else ch.push(Event::end());
    });
    std::vector<Event> out;
    for (int i = 0; i < 2 && (out.empty() || !out.back().terminal()); ++i)
      ASSERT_TRUE(ch.wait(out, 10'000ms));  // returns at the end, not after the time-out
    consumer_side.join();
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.back().terminal());
    EXPECT_EQ(out.back().kind, cancel ? Event::Kind::error : Event::Kind::end);
    EXPECT_EQ(told.n, 1);
  }
}

TEST(Channel, AWaitingConsumerIsWokenByTheRelease) {
  Channel ch;
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);  // the consumer is asleep by now
    ch.hold_wakeups();
    for (int i = 0; i < 100; ++i) ch.push(Event::sse("", "x"));
    ch.release_wakeups();
  });
  std::vector<Event> out;
  ASSERT_TRUE(ch.wait(out, 10'000ms));
  producer.join();
  EXPECT_FALSE(out.empty());
  EXPECT_LE(out.size(), 100u);
}

TEST(Channel, FirstEventsDeliveredNeverBlocks) {
  Channel ch;
  ch.first_events_delivered();  // nothing queued
  ch.push(Event::sse("", "a"));
  ch.first_events_delivered();  // queued: yields the vCPU, returns
  ch.cancel();
  ch.first_events_delivered();
  std::vector<Event> out;
  ch.poll(out);
  EXPECT_EQ(out.size(), 2u);
}

}  // namespace
}  // namespace llmfailover
