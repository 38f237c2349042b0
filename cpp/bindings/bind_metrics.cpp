// bind_metrics.cpp — the router's metrics snapshot and a call's cost as read-only classes
// (metrics.hpp); Router.metrics(), Router.set_prices() and RoutedCall.cost are in bind_router.cpp.
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.hpp"
#include "llmfailover/error.hpp"
#include "llmfailover/metrics.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

namespace {

template <class T, std::size_t N>
std::vector<T> as_list(const std::array<T, N>& xs) {
  return {xs.begin(), xs.end()};
}

}  // namespace

void bind_metrics(py::module_& m) {
  using namespace metrics;
  py::class_<HistogramSnapshot>(m, "HistogramSnapshot")
      .def_readonly("bounds", &HistogramSnapshot::bounds)
      .def_readonly("buckets", &HistogramSnapshot::buckets, "per bucket (not cumulative); the last is +Inf")
      .def_readonly("sum", &HistogramSnapshot::sum)
      .def_readonly("count", &HistogramSnapshot::count)
      .def("__repr__", [](const HistogramSnapshot& h) {
        return "HistogramSnapshot(count=" + std::to_string(h.count) + ", sum=" + std::to_string(h.sum) + ")";
      });

  py::class_<Prices>(m, "Prices")
      .def(py::init([](std::optional<double> input, std::optional<double> output, std::optional<double> cached_input,
                       std::optional<double> reasoning, std::string source) {
             for (const auto& [name, v] : {std::pair{"input", input}, std::pair{"output", output},
                                           std::pair{"cached_input", cached_input}, std::pair{"reasoning", reasoning}})
               if (v && !(std::isfinite(*v) && *v >= 0))
                 throw py::value_error(std::string("Prices.") + name + " must be a finite number >= 0 (USD per token)");
             return Prices{input, output, cached_input, reasoning, std::move(source)};
           }),
           py::kw_only(), py::arg("input") = py::none(), py::arg("output") = py::none(),
           py::arg("cached_input") = py::none(), py::arg("reasoning") = py::none(), py::arg("source") = "")
      .def_readonly("input", &Prices::input)
      .def_readonly("output", &Prices::output)
      .def_readonly("cached_input", &Prices::cached_input)
      .def_readonly("reasoning", &Prices::reasoning)
      .def_readonly("source", &Prices::source)
      .def("__eq__", &value_equals<Prices>, py::arg("other"))
      .def("__hash__", [](const Prices& p) {
        std::size_t h = std::hash<std::string>{}(p.source);
        for (const auto& v : {p.input, p.output, p.cached_input, p.reasoning})
          h = h * 1000003u ^ (v ? std::hash<double>{}(*v) : 0x9e3779b9u);
        return h;
      });

  py::class_<TokenUsage>(m, "TokenUsage")
      .def_readonly("input", &TokenUsage::input)
      .def_readonly("output", &TokenUsage::output)
      .def_readonly("cached", &TokenUsage::cached)
      .def_readonly("reasoning", &TokenUsage::reasoning);

  py::class_<CostBreakdown>(m, "CostBreakdown")
      .def_readonly("input", &CostBreakdown::input)
      .def_readonly("output", &CostBreakdown::output)
      .def_readonly("cached", &CostBreakdown::cached)
      .def_readonly("reasoning", &CostBreakdown::reasoning)
      .def_readonly("total", &CostBreakdown::total);

  py::class_<CallCost>(m, "CallCost")
      .def_readonly("usage_known", &CallCost::usage_known)
      .def_readonly("usage", &CallCost::usage)
      .def_readonly("cost", &CallCost::cost)
      .def_readonly("unknown_reason", &CallCost::unknown_reason)
      .def_readonly("deployment", &CallCost::deployment)
      .def_readonly("target", &CallCost::target)
      .def_readonly("waste_usd", &CallCost::waste_usd)
      .def_readonly("wasted_attempts", &CallCost::wasted_attempts);

  py::class_<TargetLabels>(m, "TargetLabels")
      .def_readonly("group", &TargetLabels::group)
      .def_readonly("target", &TargetLabels::target)
      .def_readonly("deployment", &TargetLabels::deployment)
      .def_readonly("provider", &TargetLabels::provider)
      .def_readonly("model", &TargetLabels::model)
      .def_readonly("key", &TargetLabels::key);

  py::class_<TargetSnapshot>(m, "TargetMetrics")
      .def_readonly("labels", &TargetSnapshot::labels)
      .def_readonly("prices", &TargetSnapshot::prices)
      .def_property_readonly(
          "attempts", [](const TargetSnapshot& s) { return as_list(s.attempts); },
          "by error class, in ERROR_CLASSES order")
      .def_readonly("served", &TargetSnapshot::served)
      .def_readonly("tokens_input", &TargetSnapshot::tokens_input)
      .def_readonly("tokens_output", &TargetSnapshot::tokens_output)
      .def_readonly("tokens_cached", &TargetSnapshot::tokens_cached)
      .def_readonly("tokens_reasoning", &TargetSnapshot::tokens_reasoning)
      .def_readonly("priced", &TargetSnapshot::priced)
      .def_readonly("unpriced", &TargetSnapshot::unpriced)
      .def_readonly("cost_usd", &TargetSnapshot::cost_usd)
      .def_readonly("waste_usd", &TargetSnapshot::waste_usd)
      .def_property_readonly(
          "transitions", [](const TargetSnapshot& s) { return as_list(s.transitions); },
          "breaker transitions by the state entered, in BREAKER_STATES order")
      .def_readonly("attempt_duration", &TargetSnapshot::attempt_duration)
      .def_readonly("time_to_first_token", &TargetSnapshot::time_to_first_token)
      .def_readonly("input_tokens", &TargetSnapshot::input_tokens)
      .def_readonly("output_tokens", &TargetSnapshot::output_tokens)
      .def_readonly("state", &TargetSnapshot::state)
      .def_readonly("in_flight", &TargetSnapshot::in_flight)
      .def_readonly("requests_left", &TargetSnapshot::requests_left)
      .def_readonly("tokens_left", &TargetSnapshot::tokens_left);

  py::class_<GroupSnapshot>(m, "GroupMetrics")
      .def_readonly("group", &GroupSnapshot::group)
      .def_property_readonly(
          "requests", [](const GroupSnapshot& s) { return as_list(s.requests); }, "by outcome, in CALL_OUTCOMES order")
      .def_readonly("retries", &GroupSnapshot::retries)
      .def_readonly("failovers", &GroupSnapshot::failovers)
      .def_readonly("stream_recoveries", &GroupSnapshot::stream_recoveries)
      .def_readonly("budget_exhausted", &GroupSnapshot::budget_exhausted)
      .def_readonly("hedges", &GroupSnapshot::hedges)
      .def_readonly("cost_usd", &GroupSnapshot::cost_usd)
      .def_readonly("waste_usd", &GroupSnapshot::waste_usd)
      .def_property_readonly(
          "duration", [](const GroupSnapshot& s) { return as_list(s.duration); }, "by outcome, in CALL_OUTCOMES order")
      .def_readonly("retry_budget_left", &GroupSnapshot::retry_budget_left);

  py::class_<BudgetSnapshot>(m, "BudgetMetrics")
      .def_readonly("scope", &BudgetSnapshot::scope, "group | key | tag")
      .def_readonly("name", &BudgetSnapshot::name)
      .def_readonly("period", &BudgetSnapshot::period, "hour | day | month (calendar, UTC)")
      .def_readonly("limit_usd", &BudgetSnapshot::limit_usd)
      .def_readonly("spent_usd", &BudgetSnapshot::spent_usd, "this period: priced answers plus waste")
      .def_readonly("unpriced", &BudgetSnapshot::unpriced, "calls this period whose price is unknown (not counted)")
      .def_readonly("period_start", &BudgetSnapshot::period_start)
      .def_readonly("resets_at", &BudgetSnapshot::resets_at)
      .def_readonly("reached", &BudgetSnapshot::reached)
      .def("__repr__", [](const BudgetSnapshot& b) {
        return "BudgetMetrics(" + b.scope + " '" + b.name + "', " + std::to_string(b.spent_usd) + " of " +
               std::to_string(b.limit_usd) + " USD this " + b.period + ")";
      });

  py::class_<CacheSnapshot>(m, "CacheMetrics")
      .def_readonly("group", &CacheSnapshot::group)
      .def_readonly("backend", &CacheSnapshot::backend, "memory | redis")
      .def_readonly("hits", &CacheSnapshot::hits)
      .def_readonly("misses", &CacheSnapshot::misses);

  py::class_<Snapshot>(m, "MetricsSnapshot")
      .def_readonly("targets", &Snapshot::targets)
      .def_readonly("groups", &Snapshot::groups)
      .def_readonly("budgets", &Snapshot::budgets)
      .def_readonly("cache", &Snapshot::cache, "exact cache lookups per group (empty without a cache)")
      .def_readonly("state_fallbacks", &Snapshot::state_fallbacks,
                    "times `state: redis` fell back to local state (once per outage)");

  py::list classes, outcomes, states;
  for (int i = 0; i < static_cast<int>(kErrorClasses); ++i) classes.append(to_string(static_cast<ErrorClass>(i)));
  for (int i = 0; i < static_cast<int>(kCallOutcomes); ++i) outcomes.append(to_string(static_cast<CallOutcome>(i)));
  for (const char* s : kBreakerStates) states.append(s);
  m.attr("ERROR_CLASSES") = py::tuple(classes);
  m.attr("CALL_OUTCOMES") = py::tuple(outcomes);
  m.attr("BREAKER_STATES") = py::tuple(states);
}

}  // namespace llmfailover::bindings
