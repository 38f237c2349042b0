// budgets.cpp — the router's spend caps (budgets.hpp), the refusal of a call over budget and
// Router::budgets in the metrics snapshot.
#include "budgets.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "router_impl.hpp"

namespace llmfailover {

using nlohmann::json;

namespace {

std::string usd(double x) {
  char out[48];
  std::snprintf(out, sizeof out, "$%.4f", x);
  return out;
}

}  // namespace

std::string Budget::describe() const {
  const policy::SpendState s = cap.state();
  return config.scope + " '" + config.name + "' spent " + usd(s.spent_usd) + " of " + usd(s.limit_usd) + " this " +
         config.period + " (" + policy::format_utc(s.start) + " to " + policy::format_utc(s.end) + ")";
}

Budgets::Budgets(const std::vector<SpendBudgetConfig>& budgets, const TimeSource& time,
                 std::chrono::system_clock::time_point anchor)
    : wall_(time, anchor) {
  for (const auto& c : budgets) {
    Budget& b = all_.emplace_back(c, wall_);
    auto& index = c.scope == "group" ? group_ : c.scope == "key" ? key_ : tag_;
    index[c.name].push_back(&b);
  }
}

std::vector<Budget*> Budgets::of(const Target& t) const {
  std::vector<Budget*> out;
  if (auto it = group_.find(t.group); it != group_.end()) out = it->second;
  if (auto it = key_.find(t.id); it != key_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  return out;
}

const Budget* Budgets::reached(const Target& t) const {
  if (all_.empty()) return nullptr;
  for (const Budget* b : of(t))
    if (b->cap.reached()) return b;
  return nullptr;
}

const Budget* Budgets::reached_tag(const std::string& tag) const {
  auto it = tag_.find(tag);
  if (tag.empty() || it == tag_.end()) return nullptr;
  for (const Budget* b : it->second)
    if (b->cap.reached()) return b;
  return nullptr;
}

Clock::time_point Budgets::period_end(const Budget& b) const { return wall_.steady_at(b.cap.state().end); }

bool Budgets::charge(const Target* t, const std::string& tag, double usd, bool priced) {
  if (all_.empty()) return false;
  std::vector<Budget*> caps = t ? of(*t) : std::vector<Budget*>{};
  const std::size_t own = caps.size();
  if (auto it = tag_.find(tag); !tag.empty() && it != tag_.end())
    caps.insert(caps.end(), it->second.begin(), it->second.end());
  bool newly = false;
  for (std::size_t i = 0; i < caps.size(); ++i) {
    const bool was = i < own && caps[i]->cap.reached();
    caps[i]->cap.add(usd);
    if (!priced) caps[i]->cap.add_unpriced();
    newly = newly || (i < own && !was && caps[i]->cap.reached());
  }
  return newly;
}

std::vector<metrics::BudgetSnapshot> Budgets::snapshot() const {
  std::vector<metrics::BudgetSnapshot> out;
  for (const Budget& b : all_) {
    const policy::SpendState s = b.cap.state();
    out.push_back({b.config.scope, b.config.name, b.config.period, s.limit_usd, s.spent_usd, s.unpriced,
                   policy::format_utc(s.start), policy::format_utc(s.end), s.reached});
  }
  return out;
}

bool refuse_over_budget(Router::Impl& r, const RouteRequest& req, const std::vector<std::string>& chain,
                        Channel& channel) {
  if (r.budgets.empty()) return false;
  const Budget* over = r.budgets.reached_tag(req.overrides.tag);
  std::string why;
  if (over) {
    why = "budget exceeded: tag " + over->describe().substr(4);
  } else {
    for (const auto& name : chain) {
      const Group* g = r.group(name);
      if (!g) continue;
      for (const Target* t : g->targets) {
        const Budget* b = r.budgets.reached(*t);
        if (!b) return false;  // this target may serve
        if (!over) over = b;
      }
    }
    if (!over) return false;
    why = "budget exceeded: " + over->describe() + "; every target of '" + req.model + "'" +
          (chain.size() > 1 ? " and its fallbacks" : "") + " is over its budget";
  }
  const policy::SpendState s = over->cap.state();
  const auto wait = std::chrono::duration_cast<std::chrono::seconds>(r.budgets.period_end(*over) - r.time->now());
  const json err = {{"error",
                     {{"message", why},
                      {"type", "budget_exceeded"},
                      {"param", nullptr},
                      {"code", "budget_exceeded"},
                      {"budget",
                       {{"scope", over->config.scope},
                        {"name", over->config.name},
                        {"period", over->config.period},
                        {"limit_usd", s.limit_usd},
                        {"spent_usd", s.spent_usd},
                        {"period_start", policy::format_utc(s.start)},
                        {"resets_at", policy::format_utc(s.end)}}}}}};
  channel.push(Event::head(429, {{"content-type", "application/json"},
                                 {"x-llmfailover-budget", over->config.scope + ":" + over->config.name},
                                 {"retry-after", std::to_string(std::max<long long>(1, wait.count()))},
                                 {"x-should-retry", "false"}}));
  channel.push(Event::body(err.dump(-1, ' ', false, json::error_handler_t::replace)));
  channel.push(Event::end());
  return true;
}

}  // namespace llmfailover
