// bind_router.cpp — the failover Router and its calls (RoutedCall extends Call).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "llmfailover/cache/router_cache.hpp"
#include "llmfailover/plain.hpp"
#include "llmfailover/router.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

namespace {

// A route log word the router wrote that decision.hpp does not list: a programming error (the
// enum is the one list), reported rather than handed to Python as a string nobody compares.
template <typename E>
E word_of(std::optional<E> e, const std::string& word, const char* what) {
  if (!e) throw std::logic_error(std::string("route log ") + what + " '" + word + "' is not in decision.hpp");
  return *e;
}

// "" (no error / no outcome yet) crosses as None; a word, as its enum member.
template <typename E>
std::optional<E> optional_word(const std::string& word, std::optional<E> (*parse)(std::string_view), const char* what) {
  if (word.empty()) return std::nullopt;
  return word_of(parse(word), word, what);
}

// A record class's FIELDS (its properties in definition order: the def_readonly calls are the one
// list) and read access by name, so row["state"] / attempt.get("provider") read like the dicts
// these records were before (code written against those keeps working).
template <typename C>
void add_field_access(C& c) {
  py::list fields;
  py::object property = py::module_::import("builtins").attr("property");
  for (auto item : c.attr("__dict__").attr("items")()) {
    auto pair = item.template cast<py::tuple>();
    if (py::isinstance(pair[1], property)) fields.append(pair[0]);
  }
  c.attr("FIELDS") = py::tuple(fields);
  auto lookup = [](const py::object& self, const std::string& field) -> std::optional<AnyValue> {
    py::tuple known = self.attr("FIELDS");
    for (auto f : known)
      if (f.cast<std::string>() == field)
        return py::reinterpret_steal<AnyValue>(py::object(self.attr(field.c_str())).release());
    return std::nullopt;
  };
  c.def(
      "__getitem__",
      [lookup](const py::object& self, const std::string& field) -> AnyValue {
        if (auto v = lookup(self, field)) return *v;
        throw py::key_error(field);
      },
      py::arg("field"), "record['field'] is record.field (KeyError for a name not in FIELDS).");
  c.def(
      "get",
      [lookup](const py::object& self, const std::string& field, const py::object& fallback) -> AnyValue {
        return lookup(self, field).value_or(py::reinterpret_borrow<AnyValue>(fallback));
      },
      py::arg("field"), py::arg("default") = py::none(), "record.field, or `default` for a name not in FIELDS.");
}

void bind_attempt(py::module_& m) {
  bind_str_enum<Decision>(m, "Decision",
                          "What the router did after an attempt (cpp/include/llmfailover/decision.hpp).\n"
                          "Members are str: Decision.failover == 'failover'; pending == '' (no outcome yet).",
                          all_decisions());
  bind_str_enum<Errc>(m, "Errc", "A local-origin failure code (cpp/include/llmfailover/error.hpp Errc).", all_errcs());
  bind_str_enum<ErrorClass>(m, "ErrorClass",
                            "The class the failover policy acts on (cpp/include/llmfailover/error.hpp).",
                            all_error_classes());
  py::class_<RouteAttempt> c(m, "Attempt",
                             "One attempt of a routed call (router.hpp RouteAttempt); times in ms since the\n"
                             "call started, first_byte_ms and retry_after_ms -1 when absent.");
  c.def_readonly("attempt", &RouteAttempt::attempt)
      .def_readonly("group", &RouteAttempt::group)
      .def_readonly("target", &RouteAttempt::target)
      .def_readonly("deployment", &RouteAttempt::deployment)
      .def_readonly("provider", &RouteAttempt::provider)
      .def_readonly("model", &RouteAttempt::model)
      .def_readonly("key_index", &RouteAttempt::key_index)
      .def_readonly("status", &RouteAttempt::status)
      .def_property_readonly(
          "error", [](const RouteAttempt& a) { return optional_word<Errc>(a.error, parse_errc, "error"); },
          "The local failure (None when the upstream answered).")
      .def_property_readonly(
          "error_class",
          [](const RouteAttempt& a) {
            return optional_word<ErrorClass>(a.error_class, parse_error_class, "error_class");
          },
          "None until the attempt has an outcome.")
      .def_readonly("reason", &RouteAttempt::reason)
      .def_readonly("message", &RouteAttempt::message)
      .def_property_readonly(
          "decision", [](const RouteAttempt& a) { return word_of(parse_decision(a.decision), a.decision, "decision"); })
      .def_readonly("started_ms", &RouteAttempt::started_ms)
      .def_readonly("first_byte_ms", &RouteAttempt::first_byte_ms)
      .def_readonly("elapsed_ms", &RouteAttempt::elapsed_ms)
      .def_readonly("waited_ms", &RouteAttempt::waited_ms)
      .def_readonly("retry_after_ms", &RouteAttempt::retry_after_ms)
      .def_readonly("pick", &RouteAttempt::pick)
      .def_readonly("skipped", &RouteAttempt::skipped)
      .def_readonly("replayed", &RouteAttempt::replayed);
  add_field_access(c);
}

// One row of Router.snapshot(); row["field"] reads like the dicts it replaces.
void bind_target_snapshot(py::module_& m) {
  using S = TargetSnapshot;
  py::class_<S> c(m, "TargetSnapshot",
                  "One target's state (router.hpp TargetSnapshot): probe is \"\" without active probes, else\n"
                  "\"unknown\", \"healthy\" or \"unhealthy\"; cooling: open for a 429's cooldown; the balancing\n"
                  "and quota fields are docs/balancing.md's.");
  c.def_readonly("target", &S::target)
      .def_readonly("group", &S::group)
      .def_readonly("deployment", &S::deployment)
      .def_readonly("model", &S::model)
      .def_readonly("provider", &S::provider)
      .def_readonly("key_index", &S::key_index)
      .def_readonly("state", &S::state)
      .def_readonly("probe", &S::probe)
      .def_readonly("ramp_step", &S::ramp_step)
      .def_readonly("cooling", &S::cooling)
      .def_readonly("share", &S::share)
      .def_readonly("failure_rate", &S::failure_rate)
      .def_readonly("slow_rate", &S::slow_rate)
      .def_readonly("in_flight", &S::in_flight)
      .def_readonly("available_in_ms", &S::available_in_ms)
      .def_readonly("strategy", &S::strategy)
      .def_readonly("balancer_share", &S::balancer_share)
      .def_readonly("available", &S::available)
      .def_readonly("weight", &S::weight)
      .def_readonly("priority", &S::priority)
      .def_readonly("pick_share", &S::pick_share)
      .def_readonly("blocked_for_ms", &S::blocked_for_ms)
      .def_readonly("ewma_ms", &S::ewma_ms)
      .def_readonly("cost", &S::cost)
      .def_readonly("balancer_in_flight", &S::balancer_in_flight)
      .def_readonly("header_share", &S::header_share)
      .def_readonly("deployment_in_flight", &S::deployment_in_flight)
      .def_readonly("max_concurrency", &S::max_concurrency)
      .def_readonly("shed", &S::shed)
      .def_readonly("rpm", &S::rpm)
      .def_readonly("tpm", &S::tpm)
      .def_readonly("requests_left", &S::requests_left)
      .def_readonly("tokens_left", &S::tokens_left)
      .def_readonly("key_rpm", &S::key_rpm)
      .def_readonly("key_tpm", &S::key_tpm)
      .def_readonly("key_requests_left", &S::key_requests_left)
      .def_readonly("key_tokens_left", &S::key_tokens_left);
  add_field_access(c);
}

// None: the config's value; inf or beyond kNoLimitSeconds: no limit (saturated to kNoLimit, validate.hpp).
std::optional<Millis> seconds(const std::optional<double>& s, const char* name) {
  if (!s) return std::nullopt;
  return to_millis_or_forever(*s, name);
}

// The HTTP client options both constructors (Router(...) and Router.plain(...)) take, checked.
transport::ClientOptions client_options(long long io_threads, bool verify, const std::string& ca_file,
                                        const std::string& user_agent, long long max_connections,
                                        const transport::ProxyOptions& proxy) {
  transport::ClientOptions o;
  o.pool.max_per_origin = checked_max_connections(max_connections);
  o.io_threads = checked_io_threads(io_threads);
  o.tls.verify = verify;
  o.tls.ca_file = ca_file;
  o.user_agent = user_agent;
  o.proxy = proxy;
  return o;
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
  bind_attempt(m);
  bind_target_snapshot(m);
  py::class_<RouteCapture, std::shared_ptr<RouteCapture>>(m, "RouteCapture",
                                                          "A finished call's route, copied out of it.")
      .def_readonly("served", &RouteCapture::served)
      .def_readonly("route_log", &RouteCapture::log)
      .def_readonly("degraded", &RouteCapture::degraded)
      .def_readonly("cost", &RouteCapture::cost);

  py::class_<RoutedCall, Call, std::shared_ptr<RoutedCall>>(
      m, "RoutedCall",
      "A call through the Router; ``served`` and ``route_log`` are Attempt records. Successful heads\n"
      "carry x-llmfailover-target, -deployment, -model and -attempts headers.")
      .def_property_readonly(
          "served", [](const RoutedCall& c) { return c.served(); }, "The attempt that answered (None until one did).")
      .def_property_readonly(
          "route_log", [](const RoutedCall& c) { return c.route_log(); }, "Every attempt so far, in order.")
      .def_property_readonly("degraded", &RoutedCall::degraded, "The answer is the config's degraded_answer.")
      .def_property_readonly("cost", &RoutedCall::cost, "What the answer cost (bind_metrics.cpp).")
      .def(
          "capture",
          [](const RoutedCall& c) {
            // Read-only in Python (def_readonly): the holder type is non-const.
            return std::const_pointer_cast<RouteCapture>(c.capture());
          },
          "The route of a finished call (what a lazy report holds), as it was when the call ended.")
      .def_property_readonly(
          "cache_hit",
          [](const RoutedCall& c) {
            auto s = c.served();  // a replayed answer's one log entry (cache/router_cache.hpp)
            return s && parse_decision(s->decision) == Decision::cache_hit;
          },
          "The answer was replayed from the exact cache (no upstream attempt).");

  py::class_<CacheSettings>(m, "CacheSettings")
      .def_property_readonly("groups",
                             [](const CacheSettings& s) {
                               std::vector<std::string> out;
                               for (const auto& [g, c] : s.groups) out.push_back(g);
                               return out;
                             })
      .def_property_readonly(
          "semantic",
          [](const CacheSettings& s) {
            py::dict out;  // group -> its semantic cache (python/llmfailover/_semantic.py)
            for (const auto& [g, c] : s.groups)
              if (c.type == "semantic")
                out[py::str(g)] =
                    py::dict(py::arg("embeddings") = c.embeddings, py::arg("threshold") = c.threshold,
                             py::arg("ttl") = std::chrono::duration<double>(c.ttl).count(),
                             py::arg("max_entries") = c.max_entries, py::arg("allow_tools") = c.allow_tools);
            return out;
          },
          "The groups with `cache: {type: semantic}`: embeddings, threshold, ttl (s), max_entries, allow_tools.");
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
                           "Raises ConfigError (a ValueError) for an inconsistent config (unknown groups in\n"
                           "chains), ValueError naming the argument for a bad io_threads or connection cap.")
      .def(py::init([](const RouterConfig& config, long long io_threads, bool verify, const std::string& ca_file,
                       const std::string& user_agent, long long max_connections, const transport::ProxyOptions& proxy,
                       const std::optional<CacheSettings>& cache) {
             transport::ClientOptions o =
                 client_options(io_threads, verify, ca_file, user_agent, max_connections, proxy);
             try {
               static SteadyTimeSource clock;
               std::shared_ptr<cache::RouterCache> answers;
               if (cache) answers = cache::RouterCache::make(cache->groups, clock);
               return RouterHandle{std::make_unique<Router>(config, std::move(o)), std::move(answers)};
             } catch (const ConfigError&) {
               throw;  // _core.ConfigError (bind_config.cpp)
             } catch (const std::invalid_argument& e) {
               throw ConfigError("", e.what());  // an inconsistency the parser could not see
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
             const providers::Query& query, bool stream, std::optional<double> deadline,
             const std::string& cache_namespace, std::optional<std::vector<std::string>> fallbacks,
             std::optional<double> first_token, std::optional<double> idle, std::optional<long long> max_attempts,
             bool cache, const std::string& tag) {
            RouteRequest r;
            r.model = model;
            r.call.method = method;
            r.call.path = path;
            if (body) r.call.body = std::string(*body);
            r.call.headers.reserve(headers.size());
            for (const auto& [k, v] : headers) {
              check_header("headers", k, v);  // validate.hpp, as send_plain() does
              r.call.headers.push_back({k, v});
            }
            r.call.query = query;
            r.stream = stream;
            r.overrides.fallbacks = std::move(fallbacks);
            r.overrides.deadline = seconds(deadline, "timeout");
            r.overrides.first_token = seconds(first_token, "first_token_timeout");
            r.overrides.idle = seconds(idle, "idle_timeout");
            if (max_attempts) r.overrides.max_attempts = checked_max_attempts(*max_attempts);
            r.overrides.tag = tag;
            Router& router = h.get();
            if (!h.cache) return router.send(std::move(r));
            py::gil_scoped_release release;  // a Redis lookup may wait up to its timeout
            return h.cache->route(std::move(r), cache, cache_namespace,
                                  [&router](RouteRequest req) { return router.send(std::move(req)); });
          },
          // The arguments every call has may come by position (the client's hot path: pybind11 matches
          // keywords by name, with a copy of the keyword dict, per call); the per-request overrides
          // stay keyword-only.
          py::arg("model"), py::arg("method"), py::arg("path"), py::arg("body") = py::none(),
          py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
          py::arg("query") = providers::Query{}, py::arg("stream") = false, py::arg("deadline") = py::none(),
          py::arg("cache_namespace") = "", py::kw_only(), py::arg("fallbacks") = py::none(),
          py::arg("first_token") = py::none(), py::arg("idle") = py::none(), py::arg("max_attempts") = py::none(),
          py::arg("cache") = true, py::arg("tag") = "",
          "Starts a call to group `model` (times in seconds; max_attempts 1..5). Returns at once.")
      .def_static(
          "plain",
          [](long long io_threads, bool verify, const std::string& ca_file, const std::string& user_agent,
             long long max_connections, const transport::ProxyOptions& proxy) {
            transport::ClientOptions o =
                client_options(io_threads, verify, ca_file, user_agent, max_connections, proxy);
            PlainUpstream u;  // each call names its own upstream (send_plain): this one is never used
            u.base_url = "https://api.openai.com/v1";
            try {
              return RouterHandle{std::make_unique<Router>(plain_router_config(u), std::move(o)), nullptr};
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
          },
          py::kw_only(), py::arg("io_threads") = 1, py::arg("verify") = true, py::arg("ca_file") = "",
          py::arg("user_agent") = std::string("llmfailover/") + LLMFAILOVER_VERSION,
          py::arg("max_connections_per_origin") = 256, py::arg_v("proxy", transport::ProxyOptions{}, "ProxyOptions()"),
          "A plain client's router (plain.hpp): one group of one deployment, openai-python's retries, no\n"
          "breaker; its calls are send_plain()'s.")
      .def(
          "send_plain",
          [](RouterHandle& h, std::shared_ptr<providers::Upstream> upstream, const std::string& method,
             const std::string& path, std::optional<py::bytes> body,
             const std::vector<std::pair<std::string, std::string>>& headers, const providers::Query& query,
             const std::string& model, const Timeouts& timeouts, long long max_retries, bool stream) {
            if (!upstream) throw py::type_error("upstream must be an Upstream, not None");
            RouteRequest r;
            r.model = kPlainGroup;
            r.call.method = method;
            r.call.path = path;
            if (body) r.call.body = std::string(*body);
            r.call.headers.reserve(headers.size());
            for (const auto& [k, v] : headers) {
              check_header("headers", k, v);  // validate.hpp
              r.call.headers.push_back({k, v});
            }
            r.call.query = query;
            r.call.model = model;
            r.stream = stream;
            // openai's max_retries; the router's openai style caps attempts at kMaxOpenAiAttempts.
            r.overrides.max_attempts = std::min(checked_max_retries(max_retries), kMaxOpenAiAttempts - 1) + 1;
            r.pass = PassThrough{timeouts, std::move(upstream)};
            return h.get().send(std::move(r));
          },
          py::arg("upstream"), py::kw_only(), py::arg("method"), py::arg("path"), py::arg("body") = py::none(),
          py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
          py::arg("query") = providers::Query{}, py::arg("model") = "", py::arg_v("timeouts", Timeouts{}, "Timeouts()"),
          py::arg("max_retries") = 2, py::arg("stream") = false,
          "Starts a plain client's request in pass-through mode (router.hpp PassThrough): sent to `upstream`\n"
          "as given, the answer as it comes, with openai-python's retry rules (408/409/429/5xx, time-outs\n"
          "and connection errors; x-should-retry; retry-after-ms/retry-after within 60 s; otherwise\n"
          "min(0.5*2^n, 8)*(1-0.25*rand) s). Returns at once.")
      .def(
          "has_group", [](RouterHandle& h, const std::string& name) { return h.get().has_group(name); },
          py::arg("name"))
      .def(
          "snapshot", [](RouterHandle& h) { return h.get().snapshot(); },
          "One TargetSnapshot per target (breaker state, probes, ramp, balancing and quota fields).")
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
