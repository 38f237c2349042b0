// config_budgets.cpp — the `budgets:` list: spend caps per group, key or tag and period
// (policy/budget_cap.hpp; docs/config.md "Budgets").
//
// A list of flat entries rather than a map keyed by scope and name: each cap is one line a reader
// can grep for, several periods may cap one name (5 USD a day and 100 a month), and the same shape
// serves the three scopes, so a tag (any string a caller sends) never collides with a key.
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "config_detail.hpp"

namespace llmfailover::config_detail {

namespace {

// "<deployment>" for a deployment with one key, "<deployment>#key<N>" per key otherwise: the
// router's target ids, as the snapshot and the route log show them.
std::vector<std::string> target_ids(const RouterConfig& c) {
  std::vector<std::string> out;
  for (const auto& d : c.deployments) {
    const std::size_t keys = std::max<std::size_t>(1, d.api_keys.size());
    for (std::size_t k = 0; k < keys; ++k) out.push_back(keys > 1 ? d.id + "#key" + std::to_string(k) : d.id);
  }
  return out;
}

}  // namespace

std::vector<SpendBudgetConfig> parse_budgets(const Node& node, const RouterConfig& c) {
  std::vector<SpendBudgetConfig> out;
  const auto groups = c.groups();
  const auto targets = target_ids(c);
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const Node& item : node.items()) {
    item.expect_object().check_keys({"scope", "name", "usd", "period"});
    SpendBudgetConfig b;
    b.scope = item.require("scope").as_enum({"group", "key", "tag"});
    const Node name = item.require("name");
    b.name = name.as_nonempty_string();
    name.check_single_line(b.name);
    b.usd = item.require("usd").as_number(1e-9, 1e12);
    b.period = item.require("period").as_enum({"hour", "day", "month"});
    auto known = [&](const std::vector<std::string>& names) {
      return std::find(names.begin(), names.end(), b.name) != names.end();
    };
    if (b.scope == "group" && !known(groups)) name.fail("unknown group '" + b.name + "'");
    if (b.scope == "key" && !known(targets))
      name.fail("unknown key '" + b.name +
                "': expected a target id ('<deployment>', or '<deployment>#key<N>' for "
                "a deployment with several api_keys)");
    if (!seen.emplace(b.scope, b.name, b.period).second)
      item.fail("a second " + b.period + " budget for " + b.scope + " '" + b.name + "'");
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace llmfailover::config_detail
