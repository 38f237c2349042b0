// bind_call.cpp — Timeouts, Upstream, ProxyOptions, Call and Notifier for the Python clients (the
// Router and its calls: bind_router.cpp).
//
// Arguments become C++ values while the GIL is held; the GIL is released only around waits and
// shutdown; io threads reach Python only through the Notifier's eventfd, never through objects.
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <mutex>

#include "bindings.hpp"
#include "llmfailover/call.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/transport/proxy.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

namespace {

using providers::Query;
using providers::Upstream;

// Wakes an asyncio loop: the loop watches fileno() and drains the tokens of calls with events.
class Notifier {
 public:
  Notifier() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~Notifier() { close(); }
  int fileno() const { return fd_; }

  void post(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) return;
    tokens_.push_back(token);
    if (!signalled_) {  // one write per batch: the loop drains everything at once
      signalled_ = true;
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
  }

  std::vector<std::uint64_t> drain() {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> out;
    out.swap(tokens_);
    signalled_ = false;
    std::uint64_t count;
    if (fd_ >= 0) [[maybe_unused]]
      auto n = ::read(fd_, &count, sizeof count);
    return out;
  }

  void close() {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  std::mutex mutex_;
  int fd_;
  std::vector<std::uint64_t> tokens_;
  bool signalled_ = false;
};

// Timeouts encode "no limit" as 0 (http.hpp); connect has no such value, so it saturates to kForever.
Millis optional_ms(const std::optional<double>& seconds, const char* name) {
  if (!seconds) return Millis{0};
  return to_millis(*seconds, name).value_or(Millis{0});
}

// "https://user:pass@host/v1" -> "https://host/v1" (for reprs and messages).
std::string without_userinfo(std::string url) {
  auto start = url.find("//");
  if (start == std::string::npos) return url;
  start += 2;
  auto end = url.find_first_of("/?#", start);
  auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at != std::string::npos && at >= start) url.erase(start, at + 1 - start);
  return url;
}

std::optional<double> seconds_or_none(Millis ms) {
  if (ms.count() == 0) return std::nullopt;
  return ms.count() / 1000.0;
}

Headers to_headers(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Headers h;
  h.reserve(pairs.size());
  for (auto& [k, v] : pairs) {
    check_header("headers", k, v);  // validate.hpp
    h.push_back({k, v});
  }
  return h;
}

// One event as the stub types it (the module docstring, module.cpp, says which comes when).
namespace pt = py::typing;
using PyEvent = pt::Union<pt::Tuple<py::str, py::int_, HeaderList>, pt::Tuple<py::str, py::bytes>,
                          pt::Tuple<py::str, py::str, py::bytes, py::str>, pt::Tuple<py::str>,
                          pt::Tuple<py::str, py::str, py::str>>;
using PyEvents = pt::List<PyEvent>;

py::object event_to_python(Event& e) {
  switch (e.kind) {
    case Event::Kind::head: {
      py::list headers(e.headers.size());
      for (std::size_t i = 0; i < e.headers.size(); ++i)
        headers[i] = py::make_tuple(e.headers[i].name, e.headers[i].value);
      return py::make_tuple("head", e.status, headers);
    }
    case Event::Kind::body: return py::make_tuple("body", py::bytes(e.data));
    case Event::Kind::sse: return py::make_tuple("sse", e.event, py::bytes(e.data), e.id);
    case Event::Kind::end: return py::make_tuple("end");
    case Event::Kind::error: return py::make_tuple("error", e.error.code, e.error.message);
  }
  return py::none();
}

PyEvents events_to_python(std::vector<Event>& events) {
  PyEvents out(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) out[i] = event_to_python(events[i]);
  return out;
}

// A stream's batch as (the events that are not SSE, in order; the data of every SSE event, in
// order): a reader of chunks takes a list of bytes per wake-up instead of a 4-tuple per event and
// a Python loop over them (issue 14: the hand-off was ~1 us of the caller's CPU per chunk).
using PyStreamBatch = pt::Tuple<PyEvents, pt::List<py::bytes>>;

PyStreamBatch stream_batch_to_python(std::vector<Event>& events) {
  std::size_t sse = 0;
  for (const Event& e : events) sse += e.kind == Event::Kind::sse;
  PyEvents rest(events.size() - sse);
  py::list data(sse);
  std::size_t r = 0, d = 0;
  for (Event& e : events) {
    if (e.kind != Event::Kind::sse) {
      rest[r++] = event_to_python(e);
      continue;
    }
    PyObject* bytes = PyBytes_FromStringAndSize(e.data.data(), static_cast<Py_ssize_t>(e.data.size()));
    if (!bytes) throw py::error_already_set();
    PyList_SET_ITEM(data.ptr(), static_cast<Py_ssize_t>(d++), bytes);  // steals the new reference
  }
  return py::make_tuple(std::move(rest), std::move(data));
}

Record attempt_to_python(const AttemptRecord& a) {
  Record d;
  d["attempt"] = a.attempt;
  d["url"] = a.url;
  d["status"] = a.status;
  d["error"] = a.error ? std::string(to_string(a.error.code)) : std::string();
  d["error_message"] = a.error.message;
  d["error_class"] = std::string(to_string(a.error_class));
  d["started_ms"] = a.started_ms;
  d["elapsed_ms"] = a.elapsed_ms;
  d["waited_ms"] = a.waited_ms;
  d["retry_after_ms"] = a.retry_after_ms;
  return d;
}

}  // namespace

void bind_call(py::module_& m) {
  // Proxy settings cross as one value; a proxy URL never comes back out (it may hold a password).
  py::class_<transport::ProxyOptions>(m, "ProxyOptions")
      .def(py::init([](std::string http, std::string https, std::string no_proxy, std::string ca_pem) {
             transport::ProxyOptions o{std::move(http), std::move(https), std::move(no_proxy), std::move(ca_pem)};
             try {
               transport::ProxyRoutes check(o);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
             return o;
           }),
           py::kw_only(), py::arg("http") = "", py::arg("https") = "", py::arg("no_proxy") = "",
           py::arg("ca_pem") = "");
  // "http://host:port" of a proxy URL (no credentials); ValueError starting with `name` when malformed.
  m.def(
      "check_proxy_url",
      [](const std::string& url, const std::string& name) {
        try {
          return transport::parse_proxy_url(url, name).display();
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("url"), py::arg("name"));
  py::class_<Timeouts>(m, "Timeouts",
                       "Per-attempt limits in seconds; None means no limit (connect always has one). Values of\n"
                       "1e9 s or more (inf included) saturate to no limit (connect: ~31.7 years); NaN, zero and\n"
                       "negatives raise ValueError naming the limit.")
      .def(py::init([](double connect, std::optional<double> first_byte, std::optional<double> idle,
                       std::optional<double> total) {
             Timeouts t;
             t.connect = to_millis_or_forever(connect, "timeout 'connect'");
             t.first_byte = optional_ms(first_byte, "timeout 'first_byte'");
             t.idle = optional_ms(idle, "timeout 'idle'");
             t.total = optional_ms(total, "timeout 'total'");
             return t;
           }),
           py::arg("connect") = 5.0, py::arg("first_byte") = py::none(), py::arg("idle") = py::none(),
           py::arg("total") = py::none())
      .def_property_readonly("connect", [](const Timeouts& t) { return t.connect.count() / 1000.0; })
      .def_property_readonly("first_byte", [](const Timeouts& t) { return seconds_or_none(t.first_byte); })
      .def_property_readonly("idle", [](const Timeouts& t) { return seconds_or_none(t.idle); })
      .def_property_readonly("total", [](const Timeouts& t) { return seconds_or_none(t.total); })
      .def("__eq__", &value_equals<Timeouts>, py::arg("other"))
      .def("__hash__",
           [](const Timeouts& t) {
             std::size_t h = 0;
             for (Millis ms : {t.connect, t.first_byte, t.idle, t.total})
               h = h * 1000003u ^ std::hash<long long>{}(ms.count());
             return h;
           })
      .def("__repr__", [](const Timeouts& t) {
        auto f = [](Millis ms) { return ms.count() ? std::to_string(ms.count() / 1000.0) : std::string("None"); };
        return "Timeouts(connect=" + f(t.connect) + ", first_byte=" + f(t.first_byte) + ", idle=" + f(t.idle) +
               ", total=" + f(t.total) + ")";
      });

  py::class_<Upstream, std::shared_ptr<Upstream>>(
      m, "Upstream",
      "One OpenAI-compatible endpoint (provider \"openai\" or \"azure\") with its credentials.\n"
      "The key never appears in repr.")
      .def(py::init([](const std::string& provider, const std::string& base_url, const std::string& api_key,
                       const std::string& organization, const std::string& project, const std::string& api_version,
                       const std::string& azure_deployment,
                       const std::vector<std::pair<std::string, std::string>>& default_headers,
                       const Query& default_query) {
             Upstream u;
             try {
               u.kind = providers::upstream_kind(provider);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
             check_base_url("base_url", base_url);  // validate.hpp
             u.base_url = base_url;
             if (!azure_deployment.empty()) {
               while (!u.base_url.empty() && u.base_url.back() == '/') u.base_url.pop_back();
               u.base_url += "/deployments/" + azure_deployment;
             }
             u.api_key = api_key;
             u.organization = organization;
             u.project = project;
             u.api_version = api_version;
             u.default_headers = to_headers(default_headers);
             u.default_query = default_query;
             return u;
           }),
           py::kw_only(), py::arg("provider") = "openai", py::arg("base_url"), py::arg("api_key") = "",
           py::arg("organization") = "", py::arg("project") = "", py::arg("api_version") = "",
           py::arg("azure_deployment") = "",
           py::arg("default_headers") = std::vector<std::pair<std::string, std::string>>{},
           py::arg("default_query") = Query{})
      .def_property_readonly("provider",
                             [](const Upstream& u) { return u.kind == Upstream::Kind::azure ? "azure" : "openai"; })
      .def_property_readonly("base_url", [](const Upstream& u) { return u.base_url; })
      .def(
          "url_for",
          [](const Upstream& u, const std::string& path, const Query& query, const std::string& model) {
            return providers::url_for(u, path, query, model);
          },
          py::arg("path"), py::arg("query") = Query{}, py::arg("model") = "")
      .def("__repr__", [](const Upstream& u) {  // never the key, nor userinfo in the URL
        return std::string("Upstream(provider='") + (u.kind == Upstream::Kind::azure ? "azure" : "openai") +
               "', base_url='" + without_userinfo(u.base_url) + "')";
      });

  py::class_<Notifier, std::shared_ptr<Notifier>>(
      m, "Notifier", "An eventfd an event loop watches; drain() returns the tokens of calls with new events.")
      .def(py::init<>())
      .def("fileno", &Notifier::fileno)
      .def("drain", &Notifier::drain)
      .def("close", &Notifier::close);

  py::class_<Call, std::shared_ptr<Call>>(m, "Call", "One request in flight; its events in order (module docstring).")
      .def(
          "wait",
          [](Call& c, std::optional<double> timeout, bool until_end) {
            std::vector<Event> events;
            {
              py::gil_scoped_release release;
              std::optional<Clock::time_point> until;
              std::optional<Millis> slice =
                  timeout ? to_millis(std::max(0.0, *timeout), "wait timeout", true) : std::nullopt;
              if (slice) until = Clock::now() + *slice;
              // until_end: one crossing of the binding, and one wake-up, for a whole non-streaming
              // response (Channel::wait_end); a paused producer's events are taken on the way.
              do {
                std::optional<Millis> left;
                if (until) left = std::max(Millis{0}, std::chrono::duration_cast<Millis>(*until - Clock::now()));
                bool got = until_end ? c.channel().wait_end(events, left) : c.channel().wait(events, left);
                if (!got || (until && left->count() == 0)) break;
              } while (until_end && !events.back().terminal());
            }
            return events_to_python(events);
          },
          py::arg("timeout") = py::none(), py::arg("until_end") = false,
          "Blocks (GIL released) until at least one event (with `until_end`: until the terminal\n"
          "event), or `timeout` seconds; returns what arrived ([] on time-out).")
      .def(
          "poll",
          [](Call& c) {
            std::vector<Event> events;
            c.channel().poll(events);
            return events_to_python(events);
          },
          "The events that arrived, without waiting ([] if none).")
      .def(
          "wait_stream",
          [](Call& c, std::optional<double> timeout) -> PyStreamBatch {
            std::vector<Event> events;
            {
              py::gil_scoped_release release;
              std::optional<Millis> slice =
                  timeout ? to_millis(std::max(0.0, *timeout), "wait timeout", true) : std::nullopt;
              c.channel().wait(events, slice);
            }
            return stream_batch_to_python(events);
          },
          py::arg("timeout") = py::none(),
          "wait() for a reader of SSE data: (the other events, the data of every SSE event as bytes),\n"
          "each in order; the SSE events' names and ids are dropped. ([], []) on time-out.")
      .def("cancel", [](Call& c) { c.cancel(); })
      .def(
          "set_notify",
          [](Call& c, std::shared_ptr<Notifier> n, std::uint64_t token) {
            c.channel().set_notify([n = std::move(n), token] { n->post(token); });
          },
          py::arg("notifier"), py::arg("token"), "Posts `token` to `notifier` whenever events arrive.")
      .def_property_readonly("finished", [](Call& c) { return c.channel().finished(); })
      .def_property_readonly("retries_taken", &Call::retries_taken)
      .def_property_readonly(
          "attempts",
          [](Call& c) {
            Records out;
            for (const auto& a : c.attempts()) out.append(attempt_to_python(a));
            return out;
          },
          "One dict per attempt: attempt, url, status, error, error_message, error_class, started_ms,\n"
          "elapsed_ms, waited_ms (backoff before it), retry_after_ms (what the upstream asked).");
}

}  // namespace llmfailover::bindings
