// sim_fixture.hpp — a Router over the simulated transport on a ManualClock (virtual time): the
// default policy, group "main" = deployment "primary" (host a) falling back to group "backup"
// (host b), every random draw 0.5 (full jitter on retry n = 250 ms * 2^(n-1); a hint h waits
// 1.25 h). call() runs one call to its end in virtual time and says how long it took.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/router.hpp"
#include "llmfailover/testing/sim_transport.hpp"
#include "router/router_fixture.hpp"

namespace llmfailover {
namespace {

using testing::SimReply;
using testing::SimTransport;

// Recovery needs identical words from the fallback's restart: every target streams these.
inline const std::vector<std::string> kWords = {"one", "two", "three", "four", "five", "six", "seven", "eight"};
inline std::string all_words() { return "one two three four five six seven eight"; }

// A stream of kWords from `first`, `gap` apart: head at 0, role chunk, then word i at first + i * gap.
inline SimReply words(Millis first = Millis{100}, Millis gap = Millis{50}) {
  return SimReply::stream(kWords, first, gap);
}
// The step index of word `i` in words(): head, role, then the words.
constexpr std::size_t word_step(std::size_t i) { return 2 + i; }

class SimWorld : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<SimTransport> sim = std::make_shared<SimTransport>(clock);
  std::unique_ptr<Router> router;

  static DeploymentConfig deployment(const std::string& id, const std::string& group, const std::string& host,
                                     const std::string& provider = "openai") {
    DeploymentConfig d;
    d.id = id;
    d.group = group;
    d.model = id + "-model";
    d.provider = provider;
    d.base_url = "http://" + host + "/v1";
    d.api_keys = {Secret("sk-sim")};
    return d;
  }

  // The default policy: main (primary on a) -> backup (backup on b).
  static RouterConfig chain() {
    RouterConfig c;
    c.deployments = {deployment("primary", "main", "a"), deployment("backup", "backup", "b")};
    c.fallbacks["main"] = {"backup"};
    return c;
  }

  void build(RouterConfig c) {
    router = std::make_unique<Router>(sim, std::move(c), clock, std::make_shared<SequenceRandom>(std::vector{0.5}));
  }

  static RouteRequest request(bool stream, std::optional<Millis> deadline = std::nullopt) {
    RouteRequest r;
    r.model = "main";
    r.call.path = "/chat/completions";
    nlohmann::json body = {{"model", "main"}, {"messages", {{{"role", "user"}, {"content", "count to eight"}}}}};
    if (stream) body["stream"] = true, body["stream_options"] = {{"include_usage", true}};
    r.call.body = body.dump();
    r.stream = stream;
    r.overrides.deadline = deadline;
    return r;
  }

  struct Call : Outcome {
    Millis took{0};  // virtual time from send to the terminal event
  };

  // One call to its end (at most `limit` of virtual time).
  Call call(RouteRequest r, Millis limit = std::chrono::minutes(30)) {
    const Millis t0 = sim->elapsed();
    auto c = router->send(std::move(r));
    sim->run_until([&] { return c->channel().finished(); }, limit);
    Call out;
    c->channel().poll(out.events);
    out.took = sim->elapsed() - t0;
    out.log = c->route_log();
    out.served = c->served();
    return out;
  }
  Call call(bool stream, std::optional<Millis> deadline = std::nullopt) { return call(request(stream, deadline)); }

  // Three healthy answers from the primary, `ttft` each: its normal time to first token is known
  // (the adaptive limit's samples), then `gap` of idle virtual time.
  void warm(bool stream, Millis ttft = Millis{100}) {
    for (int i = 0; i < 3; ++i) {
      sim->script("a", {stream ? words(ttft, Millis{0}) : SimReply::answer(all_words(), ttft)});
      ASSERT_EQ(call(stream).served->target, "primary");
    }
    sim->advance(Millis{1000});
  }

  // Attempt times for `host` relative to the call that began at `t0`.
  std::vector<Millis> since(const std::string& host, Millis t0) const {
    std::vector<Millis> out;
    for (Millis t : sim->times(host))
      if (t >= t0) out.push_back(t - t0);
    return out;
  }
};

using Ms = std::vector<Millis>;

}  // namespace
}  // namespace llmfailover
