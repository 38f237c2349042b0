// Channel::wait_end (issue 14): a non-streamed call wakes its consumer once, not per event, and a
// producer paused behind the high-water marks is never left waiting for it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
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

}  // namespace
}  // namespace llmfailover
