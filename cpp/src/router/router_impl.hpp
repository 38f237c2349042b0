// router_impl.hpp (private) — the router's targets and groups, shared by router.cpp and
// routed_call.cpp.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "llmfailover/policy/budget.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/policy/health.hpp"
#include "llmfailover/router.hpp"

namespace llmfailover {

// One deployment x API key: the unit of health, cooldown and balancing.
struct Target {
  std::string id;
  std::string group;
  const DeploymentConfig* deployment = nullptr;
  int key_index = 0;
  const providers::Provider* provider = nullptr;  // the dialect (registry-owned)
  providers::Endpoint endpoint;                   // URL, key, model for this target
  std::unique_ptr<policy::TargetHealth> health;
  std::atomic<int> in_flight{0};
};

struct Group {
  std::string name;
  std::vector<Target*> targets;
  const GroupPolicy* policy = nullptr;
  std::unique_ptr<policy::RetryBudget> budget;
};

struct Router::Impl {
  Impl(RouterConfig cfg, transport::ClientOptions options, std::shared_ptr<TimeSource> time,
       std::shared_ptr<Random> random);

  // A target of `group` able to take a call now, never one in `exclude`, preferring those not in
  // `tried`; weighted random by weight x share (the ramp). Takes the target's health permit.
  // nullptr when none.
  Target* pick(Group& group, const std::set<const Target*>& tried, const std::set<const Target*>& exclude);
  Group* group(const std::string& name);
  std::vector<std::string> chain(const std::string& first, const RouteOverrides& overrides) const;
  double ms_since_start(Clock::time_point t) const;
  void record_event(RouterEvent event);

  RouterConfig config;
  std::shared_ptr<TimeSource> time;
  std::shared_ptr<Random> random;
  std::shared_ptr<transport::HttpClient> http;
  std::vector<std::unique_ptr<Target>> targets;
  std::map<std::string, Group> groups;
  Clock::time_point started;

  std::mutex events_mutex;
  std::vector<RouterEvent> events;
};

// Builds and starts one call (routed_call.cpp).
std::shared_ptr<RoutedCall> start_routed_call(std::shared_ptr<Router::Impl> router, RouteRequest request);

}  // namespace llmfailover
