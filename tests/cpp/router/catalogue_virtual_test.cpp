// Issue 11's fault catalogue in C++ on virtual time: a Router with the DEFAULT policy over the
// simulated transport (sim_fixture.hpp), every fault with two or three timings, asserting the
// exact attempt order per target and the exact spacing in virtual milliseconds. The spacings
// follow from the rules (policy/failover.hpp) and the defaults: full jitter at draw 0.5 waits
// 250 ms before the first retry and 500 ms before the second; a hint h waits 1.25 h; first_token
// and idle are 30 s, clipped to half of the time left while a fallback remains, and 7.5 s for a
// warm target that normally answers in 100 ms (the adaptive limit's floor, a quarter of 30 s).
// Streams: catalogue_virtual_stream_test.cpp.
#include <gtest/gtest.h>

#include "router/sim_fixture.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

class VirtualCatalogue : public SimWorld {};

TEST_F(VirtualCatalogue, ShortRetryAfterIsWaitedOnTheRequestedModel) {
  for (auto [hint, latency] : {std::pair{1s, 0ms}, {2s, 50ms}, {4s, 200ms}}) {
    SCOPED_TRACE(std::to_string(hint.count()) + " s hint");
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    const auto secs = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(hint).count());
    sim->script("a", {SimReply::error(429, latency, {{"retry-after", secs}}), SimReply::answer("hi", latency)});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(o.served->target, "primary");
    const Millis wait = Millis{hint} * 5 / 4;
    EXPECT_EQ(since("a", t0), (Ms{0ms, latency + wait}));
    EXPECT_TRUE(since("b", t0).empty());
    EXPECT_EQ(o.took, latency + wait + latency);
    EXPECT_EQ(o.log[0].decision, "retry_after");
  }
}

TEST_F(VirtualCatalogue, LongRetryAfterFallsBackAtOnce) {
  for (auto [hint, latency] : {std::pair{"6", 0ms}, {"30", 80ms}, {"120", 10ms}}) {
    SCOPED_TRACE(hint);
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->script("a", {SimReply::error(429, latency, {{"retry-after", hint}})});
    sim->script("b", {SimReply::answer("hi", 40ms)});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "backup");
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), Ms{latency});
    EXPECT_EQ(o.took, latency + 40ms);
    EXPECT_EQ(o.log[0].decision, "next_group");
  }
}

TEST_F(VirtualCatalogue, ARetryAfterGoesToASiblingAtOnce) {
  for (Millis latency : {0ms, 30ms, 300ms}) {
    sim = std::make_shared<SimTransport>(clock);
    auto c = chain();
    auto sibling = deployment("sibling", "main", "s");
    c.deployments[0].weight = 3;  // the draw 0.5 picks the primary first (3 of 4)
    c.deployments.push_back(sibling);
    build(c);
    sim->script("a", {SimReply::error(429, latency, {{"retry-after", "2"}})});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "sibling");
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("s", t0), Ms{latency});
    EXPECT_EQ(o.log[0].decision, "failover");
  }
}

TEST_F(VirtualCatalogue, PersistentRateLimitWithoutHintFallsBackAtOnce) {
  for (Millis latency : {0ms, 25ms, 400ms}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->set_default("a", SimReply::error(429, latency));
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "backup");
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), Ms{latency});
  }
}

TEST_F(VirtualCatalogue, AServerErrorOnceIsRetriedAfterBackoff) {
  for (Millis latency : {0ms, 100ms, 1000ms}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->script("a", {SimReply::error(500, latency), SimReply::answer("hi", latency)});
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "primary");
    EXPECT_EQ(since("a", t0), (Ms{0ms, latency + 250ms}));
    EXPECT_EQ(o.log[1].waited_ms, 250.0);
  }
}

TEST_F(VirtualCatalogue, PersistentServerErrorIsRetriedTwiceThenFallsBack) {
  for (Millis latency : {0ms, 100ms, 2000ms}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->set_default("a", SimReply::error(503, latency));
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "backup");
    // Backoff 250 ms, then 500 ms; after the third attempt the fallback group at once.
    EXPECT_EQ(since("a", t0), (Ms{0ms, latency + 250ms, 2 * latency + 750ms}));
    EXPECT_EQ(since("b", t0), Ms{3 * latency + 750ms});
    EXPECT_EQ(o.log[2].decision, "next_group");
  }
}

TEST_F(VirtualCatalogue, AResetBeforeHeadersIsRetriedAfterBackoff) {
  for (Millis at : {0ms, 20ms, 700ms}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->script("a", {SimReply{}.fail(at, Errc::connection_reset), words()});
    const Millis t0 = sim->elapsed();
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->target, "primary");
    EXPECT_EQ(since("a", t0), (Ms{0ms, at + 250ms}));
  }
}

TEST_F(VirtualCatalogue, AResetEveryTimeFallsBackAfterThreeAttempts) {
  for (Millis at : {0ms, 300ms}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->set_default("a", SimReply{}.fail(at, Errc::connection_reset));
    const Millis t0 = sim->elapsed();
    auto o = call(false);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(since("a", t0), (Ms{0ms, at + 250ms, 2 * at + 750ms}));
    EXPECT_EQ(since("b", t0), Ms{3 * at + 750ms});
  }
}

TEST_F(VirtualCatalogue, ARefusedConnectionIsRetriedAtOnceForFree) {
  sim = std::make_shared<SimTransport>(clock);
  build(chain());
  sim->script("a", {SimReply{}.fail(0ms, Errc::connect_refused), SimReply::answer("hi", 30ms)});
  auto o = call(false);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(sim->times("a"), (Ms{0ms, 0ms}));
  EXPECT_EQ(o.log[0].decision, "retry_transparent");
  EXPECT_EQ(o.took, 30ms);
}

TEST_F(VirtualCatalogue, ASilentTargetThatHangsUpIsLeftAtOnce) {
  for (bool stream : {false, true})
    for (Millis silence : {1000ms, 5000ms, 12000ms, 20000ms}) {
      SCOPED_TRACE(std::to_string(silence.count()) + (stream ? " ms, stream" : " ms, plain"));
      sim = std::make_shared<SimTransport>(clock);
      build(chain());
      sim->script("a", {SimReply{}.fail(silence, Errc::connection_closed)});
      const Millis t0 = sim->elapsed();
      auto o = call(stream);
      ASSERT_EQ(o.status(), 200);
      EXPECT_EQ(since("a", t0), Ms{0ms});  // not retried: silent
      EXPECT_EQ(since("b", t0), Ms{silence});
      EXPECT_EQ(o.log[0].reason, "silent");
    }
}

TEST_F(VirtualCatalogue, AQuickCloseIsAFlakyConnectionAndRetried) {
  sim = std::make_shared<SimTransport>(clock);
  build(chain());
  sim->script("a", {SimReply{}.fail(999ms, Errc::connection_closed), SimReply::answer("hi")});
  auto o = call(false);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(sim->times("a"), (Ms{0ms, 999ms + 250ms}));  // under kSilentAfter: not silent
}

TEST_F(VirtualCatalogue, SilentForMinutesLeavesAfterTheFirstTokenLimit) {
  struct Case {
    bool stream, warm;
    std::optional<Millis> deadline;
    Millis leaves;
  };
  for (auto c : {Case{false, false, std::nullopt, 30s}, Case{true, false, std::nullopt, 30s},
                 Case{true, true, std::nullopt, 7500ms}, Case{false, true, std::nullopt, 7500ms},
                 Case{true, false, 30s, 15s}, Case{false, false, 20s, 10s}}) {
    SCOPED_TRACE(std::to_string(c.stream) + std::to_string(c.warm) + " " + std::to_string(c.leaves.count()));
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    if (c.warm) warm(c.stream);
    sim->script("a", {SimReply::silent()});
    const Millis t0 = sim->elapsed();
    auto o = call(c.stream, c.deadline);
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), Ms{c.leaves});
    EXPECT_EQ(o.took, c.leaves);  // the fallback answers at once
  }
}

TEST_F(VirtualCatalogue, ALateFirstTokenIsWaitedWithinTheLimitAndLeftPastIt) {
  struct Case {
    bool stream;
    Millis first;
    bool primary;  // served by the primary
  };
  for (auto c : {Case{true, 3s, true}, Case{false, 5s, true}, Case{true, 7400ms, true}, Case{true, 20s, false},
                 Case{false, 28s, false}}) {
    SCOPED_TRACE(std::to_string(c.first.count()) + (c.stream ? " ms, stream" : " ms, plain"));
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    warm(c.stream);
    sim->script("a", {c.stream ? words(c.first, 10ms) : SimReply::answer(all_words(), c.first)});
    sim->set_default("b", c.stream ? words() : SimReply::answer(all_words()));
    const Millis t0 = sim->elapsed();
    auto o = call(c.stream);
    ASSERT_EQ(o.status(), 200) << o.text();
    EXPECT_EQ(o.served->target, c.primary ? "primary" : "backup");
    EXPECT_EQ(since("a", t0), Ms{0ms});
    EXPECT_EQ(since("b", t0), c.primary ? Ms{} : Ms{7500ms});  // the adaptive limit: 100 ms x 10, floor 7.5 s
    if (c.stream) EXPECT_EQ(o.content(), all_words());
  }
}

TEST_F(VirtualCatalogue, RequestErrorsAreACleanErrorAtOnce) {
  for (auto code : {"context_length_exceeded", "content_filter"}) {
    for (Millis latency : {0ms, 60ms}) {
      SCOPED_TRACE(code);
      sim = std::make_shared<SimTransport>(clock);
      build(chain());
      sim->script("a", {SimReply::error(400, latency, {}, code)});
      const Millis t0 = sim->elapsed();
      auto o = call(false);
      EXPECT_EQ(o.status(), 400);
      EXPECT_EQ(since("a", t0), Ms{0ms});
      EXPECT_TRUE(since("b", t0).empty());
      EXPECT_EQ(o.took, latency);
      EXPECT_EQ(o.log[0].decision, "give_up");
    }
  }
}

TEST_F(VirtualCatalogue, AContextWindowErrorGoesToItsOwnChain) {
  auto c = chain();
  c.deployments.push_back(deployment("long", "long", "l"));
  c.context_window_fallbacks["main"] = {"long"};
  build(c);
  sim->script("a", {SimReply::error(400, 20ms, {}, "context_length_exceeded")});
  auto o = call(false);
  ASSERT_EQ(o.status(), 200);
  EXPECT_EQ(o.served->target, "long");
  EXPECT_EQ(sim->times("l"), Ms{20ms});
  EXPECT_TRUE(sim->times("b").empty());
  EXPECT_EQ(o.log[0].decision, "context_window_fallback");
}

TEST_F(VirtualCatalogue, TheFallbacksModelAndUsageAreReported) {
  for (bool stream : {false, true}) {
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    sim->set_default("a", SimReply::error(503));
    sim->set_default("b", stream ? words() : SimReply::answer(all_words()));
    auto o = call(stream);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.served->model, "backup-model");
    const std::string text = o.text();
    EXPECT_NE(text.find(R"("model":"backup-model")"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("completion_tokens":)" + std::to_string(kWords.size())), std::string::npos) << text;
  }
}

// A primary down for `down` under a trickle of requests (one every `every`, or as soon as the last
// ended), then healthy: every request is answered; the primary is not hammered while it is down
// and serves again soon after it recovers (issue 11 "return after recovery"). The first call tries
// it three times (0, 270, 790 ms: backoff 250 and 500 ms) before the backup; the second call's two
// attempts are its 4th and 5th consecutive failures, which open its breaker for 5 s; then one
// half-open trial (one attempt) per open wait, 10 s from the second on (the cap; no jitter at the
// draw 0.5); the first trial after it recovered serves.
TEST_F(VirtualCatalogue, APrimaryDownForSecondsOrAMinuteServesAgainSoonAfter) {
  struct Case {
    Millis down, every;
    Ms during;    // the primary's attempts while it was down
    Millis back;  // from its recovery to the first answer it served
  };
  for (auto c : {Case{4s, 500ms, {0ms, 270ms, 790ms, 810ms, 1080ms}, 2310ms},
                 Case{20s, 1s, {0ms, 270ms, 790ms, 1000ms, 1270ms, 7000ms, 18000ms}, 9000ms},
                 Case{55s, 2s, {0ms, 270ms, 790ms, 2000ms, 2270ms, 8000ms, 20000ms, 32000ms, 44000ms}, 1000ms}}) {
    SCOPED_TRACE(std::to_string(c.down.count()) + " ms down");
    sim = std::make_shared<SimTransport>(clock);
    build(chain());
    const Millis t0 = sim->elapsed();
    int calls = 0, answered = 0;
    std::optional<Millis> back;
    while (sim->elapsed() - t0 < c.down + 30s) {
      const Millis now = sim->elapsed() - t0;
      sim->set_default("a", now < c.down ? SimReply::error(503, 20ms) : SimReply::answer("hi", 20ms));
      auto o = call(false);
      ++calls;
      answered += o.status() == 200;
      if (now >= c.down && !back && o.served && o.served->target == "primary") back = now - c.down;
      if (o.took < c.every) sim->advance(c.every - o.took);
    }
    Ms during;
    for (Millis t : since("a", t0))
      if (t < c.down) during.push_back(t);
    EXPECT_EQ(answered, calls);
    EXPECT_EQ(during, c.during);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c.back);
    EXPECT_LE(*back, 15s);
  }
}

// timeouts.first_token_factor / first_token_samples: the adaptive limit follows its config; 0 is
// off (the configured 30 s only), a larger sample count keeps it off until enough answers.
// The learnt normal of a plain answer is kept by requested output size (policy::ttft_kind): three
// short answers in 100 ms cut a short call at 7.5 s (a quarter of 30 s) but not a 4000-token one,
// whose size has no normal yet; once that size has its own, it is cut at 10 x its normal.
TEST_F(VirtualCatalogue, ALongAnswersLimitIsNotTheNormalOfShortOnes) {
  build(chain());
  warm(false);  // three default-size answers (256 tokens estimated) in 100 ms
  auto sized = [&](int max_tokens) {
    RouteRequest r = request(false);
    auto body = nlohmann::json::parse(r.call.body);
    body["max_tokens"] = max_tokens;
    r.call.body = body.dump();
    return r;
  };
  sim->script("a", {SimReply::answer(all_words(), 9s)});
  auto o = call(sized(4000));
  EXPECT_EQ(o.served->target, "primary");  // before the sizes were kept apart: cut at 7.5 s, served by the backup
  EXPECT_EQ(o.took, 9s);
  sim->script("a", {SimReply::answer(all_words(), 9s)});
  o = call(sized(100));  // the short size's normal still holds
  EXPECT_EQ(o.served->target, "backup");
  EXPECT_EQ(o.log[0].elapsed_ms, 7500.0);
  for (int i = 0; i < 2; ++i) {  // two more long answers of 1 s: that size's normal is 1 s
    sim->script("a", {SimReply::answer(all_words(), 1s)});
    ASSERT_EQ(call(sized(4000)).served->target, "primary");
  }
  sim->advance(1s);
  sim->script("a", {SimReply::answer(all_words(), 20s)});
  o = call(sized(4000));
  EXPECT_EQ(o.served->target, "backup");
  EXPECT_EQ(o.log[0].elapsed_ms, 10000.0);  // 10 x its own normal of 1 s
}

TEST_F(VirtualCatalogue, TheAdaptiveLimitFollowsItsConfig) {
  struct Case {
    double factor;
    int samples;
    Millis leaves;  // when the fallback is tried (a's first token would come at 20 s)
  };
  // 100 ms normal: x10 -> 1 s, raised to the floor 7.5 s; x100 -> 10 s; off -> 30 s (never: served at 20 s).
  for (auto c : {Case{10, 3, 7500ms}, Case{100, 3, 10s}, Case{0, 3, 0ms}, Case{10, 4, 0ms}}) {
    SCOPED_TRACE(std::to_string(c.factor) + " x, " + std::to_string(c.samples) + " samples");
    sim = std::make_shared<SimTransport>(clock);
    auto cfg = chain();
    cfg.defaults.timeouts.first_token_factor = c.factor;
    cfg.defaults.timeouts.first_token_samples = c.samples;
    build(cfg);
    warm(true);  // three answers at 100 ms
    sim->script("a", {words(20s, 10ms)});
    sim->set_default("b", words());
    const Millis t0 = sim->elapsed();
    auto o = call(true);
    ASSERT_EQ(o.status(), 200);
    EXPECT_EQ(o.content(), all_words());
    EXPECT_EQ(since("b", t0), c.leaves.count() ? Ms{c.leaves} : Ms{});
  }
}

}  // namespace
}  // namespace llmfailover
