// Issue 11's fault catalogue on virtual time, part two: streams broken after their first token
// (cut, stalled, an unreadable chunk), rescued on the fallback by default; the recovery's own
// failures; and a primary that is down for seconds or a minute under a trickle of requests. The
// default policy, the simulated transport (sim_fixture.hpp); exact attempt times in virtual ms.
// Every stream here is kWords: word i at first + i * gap (100 ms + i * 50 ms unless said).
#include <gtest/gtest.h>

#include "router/sim_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

class VirtualStreams : public SimWorld {
 protected:
  void fresh(RouterConfig c = chain()) {
    sim = std::make_shared<SimTransport>(clock);
    build(std::move(c));
  }
  // The primary's stream, cut (`code`) `after` its k-th word, which it sent at 100 + 50 (k - 1) ms.
  static SimReply cut_after(std::size_t k, Millis after, Errc code = Errc::connection_reset) {
    return words().keep(word_step(k)).fail(100ms + 50ms * static_cast<int>(k - 1) + after, code);
  }
  static constexpr Millis kRestart = 100ms + 7 * 50ms;  // a fresh words() stream ends this long after it starts
};

TEST_F(VirtualStreams, ACutStreamIsFinishedOnTheFallback) {
  for (auto [k, after, code] : {std::tuple{1, 0ms, Errc::connection_reset},
                                {3, 20ms, Errc::connection_closed},
                                {7, 400ms, Errc::connection_reset}}) {
    SCOPED_TRACE(std::to_string(k) + " words");
    fresh();
    sim->script("a", {cut_after(k, after, code)});
    sim->set_default("b", words());
    const Millis t0 = sim->elapsed();
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    ASSERT_TRUE(o.ended());
    EXPECT_EQ(o.last().kind, Event::Kind::end) << o.text();
    EXPECT_EQ(o.content(), all_words());  // the caller's words once each, none lost
    const Millis cut = 100ms + 50ms * (k - 1) + after;
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), Ms{cut});
    EXPECT_EQ(o.took, cut + kRestart);
    EXPECT_EQ(o.log[0].decision, "recover");
    EXPECT_EQ(o.log[1].decision, "served_recovered");
  }
}

TEST_F(VirtualStreams, WithRecoveryOffACutStreamIsACleanInterruption) {
  auto c = chain();
  c.stream_recovery = "error";
  fresh(c);
  sim->script("a", {cut_after(4, 10ms)});
  auto o = call(true);
  ASSERT_TRUE(o.ended());
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_EQ(o.content(), "one two three four ");  // what was delivered, never passed off as the answer
  EXPECT_TRUE(sim->times("b").empty());
  EXPECT_EQ(o.took, 260ms);
}

TEST_F(VirtualStreams, AShortStallIsWaitedOut) {
  for (Millis stall : {2500ms, 10000ms, 29000ms}) {
    fresh();
    sim->script("a", {words().stall(word_step(4), stall)});
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(sim->times("a"), Ms{0ms});
    EXPECT_TRUE(sim->times("b").empty());
    EXPECT_EQ(o.took, kRestart + stall);
  }
}

TEST_F(VirtualStreams, AStallForeverIsLeftAfterTheIdleLimit) {
  struct Case {
    std::size_t k;
    std::optional<Millis> deadline;
    Millis idle;
  };
  // idle 30 s; under a 20 s deadline half of the time left at the attempt's start: 10 s.
  for (auto c : {Case{4, std::nullopt, 30s}, Case{6, 20s, 10s}, Case{1, 9s, 4500ms}}) {
    SCOPED_TRACE(std::to_string(c.k) + " words");
    fresh();
    sim->script("a", {words().keep(word_step(c.k))});
    sim->set_default("b", words());
    const Millis t0 = sim->elapsed();
    auto o = call(request(true, c.deadline));
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    const Millis last = 100ms + 50ms * static_cast<int>(c.k - 1);
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), Ms{last + c.idle});
    EXPECT_EQ(o.took, last + c.idle + kRestart);
  }
}

TEST_F(VirtualStreams, AMalformedFirstChunkIsRetriedAfterBackoff) {
  for (Millis first : {100ms, 1500ms}) {
    fresh();
    SimReply bad;
    bad.head(0ms, 200, {{"content-type", "text/event-stream"}}).sse(first, "{not json");
    sim->script("a", {bad, words()});
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(sim->times("a"), (Ms{0ms, first + 250ms}));
    EXPECT_EQ(o.log[0].reason, "malformed_chunk");
  }
}

TEST_F(VirtualStreams, AMalformedChunkMidStreamIsRecovered) {
  for (std::size_t k : {2u, 5u}) {
    fresh();
    auto broken = words();
    broken.steps[word_step(k)].data = "{broken";
    sim->script("a", {broken});
    sim->set_default("b", words());
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(sim->times("b"), Ms{100ms + 50ms * static_cast<int>(k)});
  }
}

TEST_F(VirtualStreams, NoDoneMarkerAfterTheFinishIsAnAnswer) {
  for (Millis gap : {0ms, 50ms}) {
    fresh();
    auto r = words(100ms, gap);
    r.steps.erase(r.steps.begin() + static_cast<long>(word_step(kWords.size()) + 1));  // the [DONE]
    sim->script("a", {r});
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.last().kind, Event::Kind::end);
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(sim->times("a"), Ms{0ms});
    EXPECT_TRUE(sim->times("b").empty());
  }
}

TEST_F(VirtualStreams, AFallbackThatRefusesThePrefillGetsARestart) {
  for (std::size_t k : {2u, 6u}) {
    auto c = chain();
    c.deployments[1] = deployment("backup", "backup", "b", "mistral");  // continues an assistant prefix
    fresh(c);
    sim->script("a", {cut_after(k, 0ms)});
    sim->script("b", {SimReply::error(400, 30ms), words()});
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    const Millis cut = 100ms + 50ms * static_cast<int>(k - 1);
    EXPECT_EQ(sim->times("b"), (Ms{cut, cut + 30ms}));                      // the restart at once, no backoff
    const std::string first = sim->attempts()[1].request.body;              // a copy: attempts() returns by value
    EXPECT_NE(first.find(R"("prefix":true)"), std::string::npos) << first;  // Mistral's prefill
    EXPECT_EQ(o.log[1].decision, "restart_without_prefill");
    EXPECT_EQ(o.log[2].decision, "served_recovered");
  }
}

TEST_F(VirtualStreams, AFallbackThatWordsItDifferentlyGetsAContinuationPrompt) {
  fresh();
  sim->script("a", {cut_after(3, 0ms)});
  // The restart says something else; asked to continue, it sends the rest.
  sim->script("b", {SimReply::stream({"Sure,", "here"}, 100ms, 50ms),
                    SimReply::stream({"four five six seven eight"}, 40ms, 0ms)});
  auto o = call(true);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.content(), all_words());
  EXPECT_EQ(sim->times("b"), (Ms{200ms, 300ms}));  // cut at 200 ms; the first differing word at +100 ms
  EXPECT_EQ(o.log[1].decision, "continuation_prompt");
  const std::string asked = sim->attempts()[2].request.body;
  EXPECT_NE(asked.find("Continue your answer"), std::string::npos) << asked;
}

TEST_F(VirtualStreams, AFailedRecoveryNeverHidesTheOriginalInterruption) {
  fresh();
  sim->script("a", {cut_after(2, 0ms)});
  sim->set_default("b", SimReply::error(503, 10ms));
  auto o = call(true);
  ASSERT_TRUE(o.ended());
  ASSERT_EQ(o.last().kind, Event::Kind::error);
  EXPECT_EQ(o.last().error.code, Errc::stream_interrupted);
  EXPECT_EQ(o.content(), "one two ");
  // b fails the recovery and is retried as any 503 is (250 ms, 500 ms), then the original error.
  EXPECT_EQ(sim->times("b"), (Ms{150ms, 410ms, 920ms}));
}

}  // namespace
}  // namespace llmfailover
