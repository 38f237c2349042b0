// router_fixture.hpp — the router tests' fixture: a FakeProvider, deployments on it, a config
// with short limits, and run() collecting one call's events and route log.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmfailover/router.hpp"
#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::vector<Event> events;
  std::vector<RouteAttempt> log;
  std::optional<RouteAttempt> served;
  int status() const { return !events.empty() && events[0].kind == Event::Kind::head ? events[0].status : 0; }
  const Event& last() const { return events.back(); }
  bool ended() const { return !events.empty() && events.back().terminal(); }
  std::size_t count_heads() const {
    std::size_t n = 0;
    for (auto& e : events) n += e.kind == Event::Kind::head;
    return n;
  }
  // The streamed answer's content: every chunk's delta.content, in order.
  std::string content() const {
    std::string out;
    for (auto& e : events) {
      if (e.kind != Event::Kind::sse || e.data == "[DONE]") continue;
      auto j = nlohmann::json::parse(e.data);
      for (auto& ch : j["choices"])
        if (ch["delta"].contains("content") && ch["delta"]["content"].is_string())
          out += ch["delta"]["content"].get<std::string>();
    }
    return out;
  }
  std::string text() const {
    std::string out;
    for (auto& e : events)
      if (e.kind == Event::Kind::body || e.kind == Event::Kind::sse) out += e.data;
    return out;
  }
};

class RouterTest : public ::testing::Test {
 protected:
  testing::FakeProvider fp;

  DeploymentConfig deployment(const std::string& group, const std::string& model) {
    DeploymentConfig d;
    d.id = group + "/" + model;
    d.group = group;
    d.model = model;
    d.base_url = fp.base_url();
    d.api_keys = {Secret("sk-test")};
    return d;
  }

  RouterConfig config(std::vector<DeploymentConfig> deps) {
    RouterConfig c;
    c.deployments = std::move(deps);
    c.defaults.timeouts.first_token = 300ms;
    c.defaults.timeouts.idle = 300ms;
    c.defaults.timeouts.deadline = 5s;
    c.defaults.retry.backoff_base = 10ms;
    c.defaults.retry.backoff_cap = 50ms;
    return c;
  }

  // Picks are weighted random: u = 0 always takes the first listed target, so tests know who is
  // tried first (and backoff jitter draws zero).
  static std::shared_ptr<Random> first() { return std::make_shared<SequenceRandom>(std::vector<double>{0.0}); }

  static RouteRequest request(const std::string& model, bool stream = false) {
    RouteRequest r;
    r.model = model;
    r.call.path = "/chat/completions";
    r.call.body = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" +
                  (stream ? R"(,"stream":true})" : "}");
    r.stream = stream;
    return r;
  }

  static Outcome run(Router& router, const std::string& model, bool stream = false) {
    return run(router, request(model, stream));
  }

  // Waits at most `limit` for the call's terminal event (a call that hangs returns without one).
  static Outcome run(Router& router, RouteRequest r, Millis limit = 10s) {
    auto call = router.send(std::move(r));
    Outcome o;
    auto until = Clock::now() + limit;
    while ((o.events.empty() || !o.events.back().terminal()) && Clock::now() < until)
      call->channel().wait(o.events, 1s);
    o.log = call->route_log();
    o.served = call->served();
    return o;
  }
};

}  // namespace
}  // namespace llmfailover
