// bind_router.cpp — the failover Router and its calls (RoutedCall extends Call).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "llmfailover/cache/router_cache.hpp"
#include "llmfailover/router.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

namespace {

Record attempt_dict(const RouteAttempt& a) {
  Record d;
  d["attempt"] = a.attempt;
  d["group"] = a.group;
  d["target"] = a.target;
  d["deployment"] = a.deployment;
  d["provider"] = a.provider;
  d["model"] = a.model;
  d["key_index"] = a.key_index;
  d["status"] = a.status;
  d["error"] = a.error;
  d["error_class"] = a.error_class;
  d["reason"] = a.reason;
  d["message"] = a.message;
  d["decision"] = a.decision;
  d["started_ms"] = a.started_ms;
  d["first_byte_ms"] = a.first_byte_ms;
  d["elapsed_ms"] = a.elapsed_ms;
  d["waited_ms"] = a.waited_ms;
  d["retry_after_ms"] = a.retry_after_ms;
  d["pick"] = a.pick;
  d["skipped"] = a.skipped;
  d["replayed"] = a.replayed;
  return d;
}

// None: the config's value; inf or beyond kForeverSeconds: no limit (saturated to kForever).
std::optional<Millis> seconds(const std::optional<double>& s, const char* name) {
  if (!s) return std::nullopt;
  return to_millis_or_forever(*s, name);
}

// A finished call's route, copied out of it: a lazy report holds this, not the call (whose
// request, parsed body and router would otherwise live as long as the answer).
struct RouteCapture {
  std::vector<RouteAttempt> log;
  std::optional<RouteAttempt> served;
  bool degraded = false;
  metrics::CallCost cost;
};

std::optional<Record> served_dict(const std::optional<RouteAttempt>& s) {
  if (!s) return std::nullopt;
  return attempt_dict(*s);
}

Records log_list(const std::vector<RouteAttempt>& log) {
  Records out;
  for (const auto& a : log) out.append(attempt_dict(a));
  return out;
}

struct CacheSettings {
  std::map<std::string, cache::CacheConfig> groups;
};

struct RouterHandle {
  std::unique_ptr<Router> router;
  std::shared_ptr<cache::RouterCache> cache;  // null when no group caches
  Router& get() {
    if (!router) throw py::value_error("the client is closed");
    return *router;
  }
};

}  // namespace

void bind_router(py::module_& m) {
  py::class_<RouteCapture, std::shared_ptr<RouteCapture>>(m, "RouteCapture",
                                                          "A finished call's route, copied out of it.")
      .def_property_readonly("served", [](const RouteCapture& c) { return served_dict(c.served); })
      .def_property_readonly("route_log", [](const RouteCapture& c) { return log_list(c.log); })
      .def_readonly("degraded", &RouteCapture::degraded)
      .def_readonly("cost", &RouteCapture::cost);

  py::class_<RoutedCall, Call, std::shared_ptr<RoutedCall>>(
      m, "RoutedCall",
      "A call through the Router. Attempt dicts (``served``, ``route_log``) have: attempt, group,\n"
      "target, deployment, provider, model, key_index, status, error, error_class, reason, message,\n"
      "decision (served, retry, retry_transparent, failover, next_group, context_window_fallback,\n"
      "content_policy_fallback, budget_exhausted, interrupted, give_up), started_ms, first_byte_ms,\n"
      "elapsed_ms, waited_ms, retry_after_ms, pick, skipped, replayed. Successful heads carry\n"
      "x-llmfailover-target, -deployment, -model and -attempts headers.")
      .def_property_readonly(
          "served", [](const RoutedCall& c) { return served_dict(c.served()); },
          "The attempt that answered (None until one did).")
      .def_property_readonly(
          "route_log", [](const RoutedCall& c) { return log_list(c.route_log()); }, "Every attempt so far, in order.")
      .def_property_readonly("degraded", &RoutedCall::degraded, "The answer is the config's degraded_answer.")
      .def_property_readonly("cost", &RoutedCall::cost, "What the answer cost (bind_metrics.cpp).")
      .def(
          "capture",
          [](const RoutedCall& c) {
            return std::make_shared<RouteCapture>(RouteCapture{c.route_log(), c.served(), c.degraded(), c.cost()});
          },
          "A copy of the route of a finished call (what a lazy report holds).")
      .def_property_readonly(
          "cache_hit",
          [](const RoutedCall& c) {
            auto s = c.served();  // a replayed answer's one log entry (cache/router_cache.hpp)
            return s && s->decision == "cache_hit";
          },
          "The answer was replayed from the exact cache (no upstream attempt).");

  py::class_<CacheSettings>(m, "CacheSettings").def_property_readonly("groups", [](const CacheSettings& s) {
    std::vector<std::string> out;
    for (const auto& [g, c] : s.groups) out.push_back(g);
    return out;
  });
  m.def(
      "parse_cache_config",
      [](const std::string& json_text, std::optional<std::map<std::string, std::string>> env) {
        EnvLookup lookup = process_env();
        if (env)
          lookup = [vars = std::move(*env)](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
          };
        return CacheSettings{cache::parse_cache_config(json_text, lookup)};
      },
      py::arg("json_text"), py::arg("env") = py::none(),
      "The `cache` objects of a config parse_config accepted (cache/cache_config.hpp).");

  py::class_<RouterHandle>(m, "Router",
                           "The failover engine over a Config (cpp/include/llmfailover/router.hpp).\n"
                           "Raises ValueError for an inconsistent config (unknown groups in chains).")
      .def(py::init([](const RouterConfig& config, long long io_threads, bool verify, const std::string& ca_file,
                       const std::string& user_agent, long long max_connections, const transport::ProxyOptions& proxy,
                       const std::optional<CacheSettings>& cache) {
             transport::ClientOptions o;
             o.pool.max_per_origin = checked_max_connections(max_connections);
             o.io_threads = checked_io_threads(io_threads);
             o.tls.verify = verify;
             o.tls.ca_file = ca_file;
             o.user_agent = user_agent;
             o.proxy = proxy;
             try {
               static SteadyTimeSource clock;
               std::shared_ptr<cache::RouterCache> answers;
               if (cache) answers = cache::RouterCache::make(cache->groups, clock);
               return RouterHandle{std::make_unique<Router>(config, std::move(o)), std::move(answers)};
             } catch (const ConfigError& e) {
               throw py::value_error(e.what());
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("config"), py::kw_only(), py::arg("io_threads") = 1, py::arg("verify") = true,
           py::arg("ca_file") = "", py::arg("user_agent") = std::string("llmfailover/") + LLMFAILOVER_VERSION,
           py::arg("max_connections_per_origin") = 256, py::arg_v("proxy", transport::ProxyOptions{}, "ProxyOptions()"),
           py::arg("cache") = py::none())
      .def(
          "send",
          [](RouterHandle& h, const std::string& model, const std::string& method, const std::string& path,
             std::optional<py::bytes> body, const std::vector<std::pair<std::string, std::string>>& headers,
             const providers::Query& query, bool stream, std::optional<std::vector<std::string>> fallbacks,
             std::optional<double> deadline, std::optional<double> first_token, std::optional<double> idle,
             std::optional<int> max_attempts, bool cache, const std::string& cache_namespace, const std::string& tag) {
            RouteRequest r;
            r.model = model;
            r.call.method = method;
            r.call.path = path;
            if (body) r.call.body = std::string(*body);
            for (const auto& [k, v] : headers) r.call.headers.push_back({k, v});
            r.call.query = query;
            r.stream = stream;
            r.overrides.fallbacks = std::move(fallbacks);
            r.overrides.deadline = seconds(deadline, "timeout");
            r.overrides.first_token = seconds(first_token, "first_token_timeout");
            r.overrides.idle = seconds(idle, "idle_timeout");
            if (max_attempts && (*max_attempts < 1 || *max_attempts > 5))
              throw py::value_error("max_attempts must be between 1 and 5");
            r.overrides.max_attempts = max_attempts;
            r.overrides.tag = tag;
            Router& router = h.get();
            if (!h.cache) return router.send(std::move(r));
            py::gil_scoped_release release;  // a Redis lookup may wait up to its timeout
            return h.cache->route(std::move(r), cache, cache_namespace,
                                  [&router](RouteRequest req) { return router.send(std::move(req)); });
          },
          py::arg("model"), py::kw_only(), py::arg("method"), py::arg("path"), py::arg("body") = py::none(),
          py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
          py::arg("query") = providers::Query{}, py::arg("stream") = false, py::arg("fallbacks") = py::none(),
          py::arg("deadline") = py::none(), py::arg("first_token") = py::none(), py::arg("idle") = py::none(),
          py::arg("max_attempts") = py::none(), py::arg("cache") = true, py::arg("cache_namespace") = "",
          py::arg("tag") = "", "Starts a call to group `model` (times in seconds; max_attempts 1..5). Returns at once.")
      .def(
          "has_group", [](RouterHandle& h, const std::string& name) { return h.get().has_group(name); },
          py::arg("name"))
      .def(
          "snapshot",
          [](RouterHandle& h) {
            Records out;
            for (const auto& s : h.get().snapshot()) {
              Record d;
              d["target"] = s.target;
              d["group"] = s.group;
              d["deployment"] = s.deployment;
              d["model"] = s.model;
              d["provider"] = s.provider;
              d["key_index"] = s.key_index;
              d["state"] = s.state;
              d["probe"] = s.probe;
              d["ramp_step"] = s.ramp_step;
              d["cooling"] = s.cooling;
              d["share"] = s.share;
              d["failure_rate"] = s.failure_rate;
              d["slow_rate"] = s.slow_rate;
              d["in_flight"] = s.in_flight;
              d["available_in_ms"] = s.available_in_ms;
              d["strategy"] = s.strategy;
              d["balancer_share"] = s.balancer_share;
              d["available"] = s.available;
              d["weight"] = s.weight;
              d["priority"] = s.priority;
              d["pick_share"] = s.pick_share;
              d["blocked_for_ms"] = s.blocked_for_ms;
              d["ewma_ms"] = s.ewma_ms;
              d["cost"] = s.cost;
              d["balancer_in_flight"] = s.balancer_in_flight;
              d["header_share"] = s.header_share;
              d["deployment_in_flight"] = s.deployment_in_flight;
              d["max_concurrency"] = s.max_concurrency;
              d["shed"] = s.shed;
              d["rpm"] = s.rpm;
              d["tpm"] = s.tpm;
              d["requests_left"] = s.requests_left;
              d["tokens_left"] = s.tokens_left;
              d["key_rpm"] = s.key_rpm;
              d["key_tpm"] = s.key_tpm;
              d["key_requests_left"] = s.key_requests_left;
              d["key_tokens_left"] = s.key_tokens_left;
              out.append(d);
            }
            return out;
          },
          "Per target: target, group, deployment, model, provider, key_index, state, probe (\"\" without\n"
          "active probes, else \"unknown\", \"healthy\" or \"unhealthy\"), ramp_step, cooling (open for a\n"
          "429's cooldown), share, failure_rate, slow_rate, in_flight, available_in_ms, and the balancing\n"
          "and quota fields (docs/balancing.md).")
      .def(
          "drain_events",
          [](RouterHandle& h) {
            Records out;
            for (const auto& e : h.get().drain_events()) {
              Record d;
              d["kind"] = e.kind;
              d["target"] = e.target;
              d["from"] = e.from;
              d["to"] = e.to;
              d["reason"] = e.reason;
              d["time_ms"] = e.time_ms;
              out.append(d);
            }
            return out;
          },
          "Breaker state changes and active probe changes since the last drain: kind (\"breaker\" or\n"
          "\"probe\"), target, from, to, reason, time_ms.")
      .def("pool_stats", [](RouterHandle& h) { return pool_stats_dict(h.get().pool_stats()); })
      .def("metrics",
           [](RouterHandle& h) {  // bind_metrics.cpp
             metrics::Snapshot s = h.get().metrics();
             if (h.cache) s.cache = h.cache->stats();
             return s;
           })
      .def("set_prices", [](RouterHandle& h, const std::string& deployment,
                            const metrics::Prices& p) { return h.get().set_prices(deployment, p); })
      .def("close",
           [](RouterHandle& h) {
             std::unique_ptr<Router> router = std::move(h.router);
             h.cache.reset();
             py::gil_scoped_release release;
             router.reset();
           })
      // In a forked child: the router's io threads do not exist here and the locks they held may
      // stay locked, so it is leaked on purpose rather than destroyed (python/llmfailover/_fork.py).
      .def(
          "abandon",
          [](RouterHandle& h) {
            static_cast<void>(h.router.release());
            if (h.cache) static_cast<void>(new std::shared_ptr<cache::RouterCache>(std::move(h.cache)));
          },
          "Forked child only: drops the router without destroying it (its threads are gone).")
      .def_property_readonly("closed", [](const RouterHandle& h) { return !h.router; });
}

}  // namespace llmfailover::bindings
