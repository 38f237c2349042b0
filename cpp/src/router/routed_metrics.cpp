// routed_metrics.cpp — the router's metrics hooks and what they read (metrics.hpp): one at an
// attempt's end (end_attempt), one at the call's end (its terminal event, or its cancel), the call's
// cost, the slots made with the router, and Router::metrics() / set_prices().
#include <algorithm>
#include <string_view>

#include "routed_call_impl.hpp"

namespace llmfailover {

namespace {

constexpr std::string_view kRetries[] = {"retry", "retry_transparent", "retry_after"};
constexpr std::string_view kFailovers[] = {
    "failover", "next_group", "budget_exhausted", "context_window_fallback", "content_policy_fallback",
    "recover",  "to_hedge"};

bool any_of(std::string_view x, std::span<const std::string_view> set) {
  return std::find(set.begin(), set.end(), x) != set.end();
}

bool served_decision(std::string_view d) { return d == "served" || d == "served_recovered"; }
// A stream cut after its first token: the provider billed what it sent. The loser of a hedge race
// was sent too: its prompt is billed (nothing of its output is counted).
bool wasted_decision(std::string_view d) { return d == "recover" || d == "interrupted" || d == "hedge_cancelled"; }

constexpr double kPerMillion = 1e-6;

// The call's target with this id: the current one or one it tried.
const Target* tried_target(const std::set<const Target*>& tried, const Target* current, const std::string& id) {
  if (current && current->id == id) return current;
  for (const Target* t : tried)
    if (t->id == id) return t;
  return nullptr;
}

}  // namespace

void init_metrics(Router::Impl& r) {
  for (auto& [name, g] : r.groups) g.meters = &r.metrics.add_group(name);
  for (auto& t : r.targets) {
    const DeploymentConfig& d = *t->deployment;
    metrics::TargetLabels l{t->group, t->id, d.id, d.provider, d.model, "key" + std::to_string(t->key_index)};
    t->meters = &r.metrics.add_target(std::move(l));
    if (d.input_price_per_mtok > 0 || d.output_price_per_mtok > 0) {  // the config's price (0, 0 = none given)
      metrics::Prices& p = t->meters->prices;
      p.input = d.input_price_per_mtok * kPerMillion;
      p.output = d.output_price_per_mtok * kPerMillion;
      p.source = "config";
    }
  }
}

void RoutedCallImpl::meter_attempt(ErrorClass cls, const Target* t, const RouteAttempt& a) {
  metrics::TargetCounters* m = t ? t->meters : nullptr;
  // A pass-through call (a plain client's) is not metered.
  if (!m || req_.pass) return;
  const double seconds = a.elapsed_ms / 1000.0;  // a stream's attempt ends at its first token
  std::optional<double> ttft;
  if (cls == ErrorClass::none) ttft = req_.stream ? seconds : std::max(0.0, a.first_byte_ms) / 1000.0;
  metrics::record_attempt(*m, static_cast<std::size_t>(cls), seconds, ttft);
}

metrics::CallCost RoutedCallImpl::cost() const {
  std::lock_guard lock(mutex_);
  return cost_locked();
}

std::shared_ptr<const RouteCapture> RoutedCallImpl::capture() const {
  // final_route_ is written once, by meter_end() under mutex_, before the terminal event is
  // pushed (the channel's on_finish hook, or cancel_from_caller() before the channel's own
  // cancel event): a terminal event seen through the channel's lock makes that write visible.
  if (channel_.finished() && final_route_) return final_route_;
  std::lock_guard lock(mutex_);
  return std::make_shared<const RouteCapture>(RouteCapture{log_, served_, degraded_, cost_locked()});
}

metrics::CallCost RoutedCallImpl::cost_locked() const {
  metrics::CallCost c;
  const RouteAttempt* served = nullptr;
  for (const auto& a : log_)
    if (served_decision(a.decision)) served = &a;
  auto find = [&](const std::string& id) { return tried_target(tried_, target_, id); };
  // Waste: the prompt (estimated) and what was streamed before the cut (characters / 4).
  for (const auto& a : log_) {
    if (!wasted_decision(a.decision)) continue;
    ++c.wasted_attempts;
    c.waste_target = a.target;
    const Target* t = find(a.target);
    const std::int64_t out = a.decision == "hedge_cancelled"
                                 ? 0
                                 : static_cast<std::int64_t>(delivered_.empty() ? inspect_.estimated_output_tokens()
                                                                                : (delivered_.size() + 3) / 4);
    if (auto w = t && t->meters ? metrics::price(t->meters->prices, {est_.input, out, 0, 0}) : std::nullopt)
      c.waste_usd += w->total;
  }
  if (!served) {
    c.unknown_reason = degraded_ ? "a degraded answer: no upstream served it" : "no answer was served";
    return c;
  }
  const Target* t = find(served->target);
  c.deployment = served->deployment;
  c.target = served->target;
  const std::optional<Usage>& u = req_.stream ? inspect_.usage() : answer_usage_;
  if (u && (u->prompt || u->completion)) {
    c.usage_known = true;
    c.usage = {u->prompt.value_or(0), u->completion.value_or(0), u->cached.value_or(0), u->reasoning.value_or(0)};
  } else if (req_.stream) {  // no usage chunk (stream_options.include_usage unset): estimated
    c.usage = {est_.input, inspect_.estimated_output_tokens(), 0, 0};
  } else {
    c.unknown_reason = "the answer reported no usage";
    return c;
  }
  if (t && t->meters) c.cost = metrics::price(t->meters->prices, c.usage);
  if (!c.cost)
    c.unknown_reason = "no price known for model '" + served->model + "' (deployment '" + served->deployment +
                       "'): give the deployment a price in the config";
  return c;
}

void RoutedCallImpl::meter_end() {
  // A pass-through call is not metered; any other is counted once (a cancel, then the channel's
  // cancel event).
  if (req_.pass || metered_.exchange(true)) return;
  Group* asked = r_->group(req_.model);
  metrics::GroupCounters& g = asked && asked->meters ? *asked->meters : r_->metrics.other();
  metrics::CallRecord rec;
  for (const auto& a : log_) {
    if (served_decision(a.decision)) rec.outcome = metrics::CallOutcome::ok;
    if (any_of(a.decision, kRetries)) ++rec.retries;
    else if (any_of(a.decision, kFailovers)) ++rec.failovers;
    if (a.decision == "recover") ++rec.stream_recoveries;
    if (a.decision == "budget_exhausted") ++rec.budget_exhausted;
    if (a.pick == "hedge") ++rec.hedges;
  }
  if (degraded_) rec.outcome = metrics::CallOutcome::degraded;
  else if (rec.outcome != metrics::CallOutcome::ok && !log_.empty() && current_rec().decision == "cancelled")
    rec.outcome = metrics::CallOutcome::cancelled;
  rec.seconds = ms(r_->time->now() - t0_) / 1000.0;
  const metrics::CallCost c = cost_locked();
  // The route as it ends, for capture(): frozen here, so the caller reading it right after the
  // answer takes no lock the io thread may still hold (that wait was a sleep and a wake-up on
  // ~40 % of routed calls on one vCPU).
  final_route_ = std::make_shared<const RouteCapture>(RouteCapture{log_, served_, degraded_, c});
  const Target* served = tried_target(tried_, target_, c.target);
  metrics::record_call(g, served ? served->meters : nullptr, rec, c);
  if (r_->budgets.empty()) return;
  // Spend (budgets.hpp): the answer's cost to the serving target's caps, the waste to the caps of
  // the (last) target that billed it, both to the tag's. An answer of unknown price adds nothing.
  const std::string& tag = req_.overrides.tag;
  std::set<Group*> over;
  if (served && r_->budgets.charge(served, tag, c.cost ? c.cost->total : 0.0, c.cost.has_value()))
    over.insert(served->owner);
  if (c.waste_usd > 0) {
    const Target* billed = tried_target(tried_, target_, c.waste_target);
    if (r_->budgets.charge(billed, tag, c.waste_usd, true) && billed) over.insert(billed->owner);
  }
  for (Group* g : over)
    if (g)
      for (Target* t : g->targets) r_->sync(*t);  // over budget: out of the balancer now
}

metrics::Snapshot Router::metrics() const {
  metrics::Snapshot out;
  const std::vector<TargetSnapshot> now = snapshot();  // same order as impl_->targets
  for (std::size_t i = 0; i < impl_->targets.size(); ++i) {
    const Target& t = *impl_->targets[i];
    metrics::TargetSnapshot s = metrics::snapshot_of(*t.meters);
    s.state = now[i].state;
    s.in_flight = now[i].in_flight;
    s.requests_left = now[i].requests_left;
    s.tokens_left = now[i].tokens_left;
    out.targets.push_back(std::move(s));
  }
  for (const auto& name : impl_->config.groups()) {  // the config's order
    const Group& g = impl_->groups.at(name);
    metrics::GroupSnapshot s = metrics::snapshot_of(*g.meters);
    s.retry_budget_left = g.budget->balance();
    out.groups.push_back(std::move(s));
  }
  out.groups.push_back(metrics::snapshot_of(impl_->metrics.other()));
  out.budgets = impl_->budgets.snapshot();
  if (impl_->shared) out.state_fallbacks = impl_->shared->fallbacks();
  return out;
}

bool Router::set_prices(const std::string& deployment, const metrics::Prices& prices) {
  std::set<Group*> repriced;
  for (auto& t : impl_->targets) {
    if (t->deployment->id != deployment) continue;
    t->meters->prices = prices;
    repriced.insert(t->owner);
  }
  // One source of prices: lowest_cost ranks by the prices answers are billed at (per million
  // tokens; an unknown price ranks as 0, as a deployment without a `price` always has).
  for (Group* g : repriced) {
    std::vector<std::pair<double, double>> per_mtok;
    for (const Target* t : g->targets) {
      const metrics::Prices& p = t->meters->prices;
      per_mtok.emplace_back(p.input.value_or(0) / kPerMillion, p.output.value_or(0) / kPerMillion);
    }
    g->balancer->set_prices(per_mtok);
  }
  return !repriced.empty();
}

}  // namespace llmfailover
