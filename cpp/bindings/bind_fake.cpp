// bind_fake.cpp — _core.Fault, _core.AttemptRecord and _core.FakeProvider.
// Times cross this boundary as float seconds (Python) <-> milliseconds (C++). The public
// wrapper is python/llmfailover/testing; these classes are private.
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover::bindings {
namespace {

namespace py = pybind11;
using testing::AttemptRecord;
using testing::FakeProvider;
using testing::Fault;
using StrPairs = std::vector<std::pair<std::string, std::string>>;

Millis fake_ms(double seconds, const char* name) { return to_millis_or_forever(seconds, name, true); }

double to_seconds(Millis ms) { return static_cast<double>(ms.count()) / 1000.0; }

Fault::Action to_action(const std::string& name) {
  for (auto a : {Fault::Action::none, Fault::Action::no_response, Fault::Action::reset, Fault::Action::close}) {
    if (testing::to_string(a) == name) return a;
  }
  throw py::value_error("Fault action must be one of none, no_response, reset, close; got '" + name + "'");
}

Headers to_headers(const StrPairs& pairs) {
  Headers out;
  for (const auto& [name, value] : pairs) out.push_back({name, value});
  return out;
}

// Header bytes are not always UTF-8; latin-1 round-trips any byte.
HeaderList from_headers(const Headers& headers) {
  HeaderList out;
  for (const auto& h : headers) {
    out.append(py::make_tuple(
        py::reinterpret_steal<py::str>(PyUnicode_DecodeLatin1(h.name.data(), h.name.size(), nullptr)),
        py::reinterpret_steal<py::str>(PyUnicode_DecodeLatin1(h.value.data(), h.value.size(), nullptr))));
  }
  return out;
}

Fault make_fault(int status, const StrPairs& headers, std::string body, std::string error_code,
                 std::string error_message, double delay_before_headers, const std::string& action,
                 double first_token_delay, double chunk_delay, int stall_after, int cut_after, int malformed_at,
                 int error_event_at, bool omit_done, bool chunked, std::optional<std::string> content) {
  if (status < 100 || status > 999) throw py::value_error("status must be in [100, 999]");
  Fault f;
  f.status = status;
  f.headers = to_headers(headers);
  f.body = std::move(body);
  f.error_code = std::move(error_code);
  f.error_message = std::move(error_message);
  f.delay_before_headers = fake_ms(delay_before_headers, "delay_before_headers");
  f.action = to_action(action);
  f.first_token_delay = fake_ms(first_token_delay, "first_token_delay");
  f.chunk_delay = fake_ms(chunk_delay, "chunk_delay");
  f.stall_after = stall_after;
  f.cut_after = cut_after;
  f.malformed_at = malformed_at;
  f.error_event_at = error_event_at;
  f.omit_done = omit_done;
  f.chunked = chunked;
  f.content = std::move(content);
  return f;
}

void bind_fault(py::module_& m) {
  py::class_<Fault>(m, "Fault", "One attempt's fault (C++ value; use llmfailover.testing.Fault).")
      .def(py::init(&make_fault), py::kw_only(), py::arg("status") = 200, py::arg("headers") = StrPairs{},
           py::arg("body") = std::string(), py::arg("error_code") = std::string(),
           py::arg("error_message") = std::string(), py::arg("delay_before_headers") = 0.0,
           py::arg("action") = std::string("none"), py::arg("first_token_delay") = 0.0, py::arg("chunk_delay") = 0.0,
           py::arg("stall_after") = -1, py::arg("cut_after") = -1, py::arg("malformed_at") = -1,
           py::arg("error_event_at") = -1, py::arg("omit_done") = false, py::arg("chunked") = true,
           py::arg("content") = std::nullopt)
      .def_readonly("status", &Fault::status)
      .def_property_readonly("headers", [](const Fault& f) { return from_headers(f.headers); })
      .def_property_readonly("body", [](const Fault& f) { return py::bytes(f.body); })
      .def_readonly("error_code", &Fault::error_code)
      .def_readonly("error_message", &Fault::error_message)
      .def_property_readonly("delay_before_headers", [](const Fault& f) { return to_seconds(f.delay_before_headers); })
      .def_property_readonly("action", [](const Fault& f) { return std::string(testing::to_string(f.action)); })
      .def_property_readonly("first_token_delay", [](const Fault& f) { return to_seconds(f.first_token_delay); })
      .def_property_readonly("chunk_delay", [](const Fault& f) { return to_seconds(f.chunk_delay); })
      .def_readonly("stall_after", &Fault::stall_after)
      .def_readonly("cut_after", &Fault::cut_after)
      .def_readonly("malformed_at", &Fault::malformed_at)
      .def_readonly("error_event_at", &Fault::error_event_at)
      .def_readonly("omit_done", &Fault::omit_done)
      .def_readonly("chunked", &Fault::chunked)
      .def_readonly("content", &Fault::content)
      .def("__eq__", &value_equals<Fault>, py::arg("other"))
      .def("__hash__", [](const Fault& f) { return std::hash<std::string>{}(testing::to_string(f)); })
      .def("__repr__", [](const Fault& f) { return testing::to_string(f); });
}

void bind_record(py::module_& m) {
  py::class_<AttemptRecord>(m, "AttemptRecord", "One request the fake provider received.")
      .def_readonly("time", &AttemptRecord::time)
      .def_readonly("model", &AttemptRecord::model)
      .def_readonly("attempt", &AttemptRecord::attempt)
      .def_readonly("method", &AttemptRecord::method)
      .def_readonly("target", &AttemptRecord::target)
      .def_property_readonly("headers", [](const AttemptRecord& r) { return from_headers(r.headers); })
      .def_property_readonly("body", [](const AttemptRecord& r) { return py::bytes(r.body); })
      .def_readonly("stream", &AttemptRecord::stream)
      .def_readonly("request_id", &AttemptRecord::request_id)
      .def_readonly("status", &AttemptRecord::status)
      .def_readonly("outcome", &AttemptRecord::outcome)
      .def("__repr__", [](const AttemptRecord& r) {
        return "<AttemptRecord " + r.model + " #" + std::to_string(r.attempt) + " " + r.outcome + ">";
      });
}

// Destruction stops the io threads: let other Python threads run meanwhile (they never need ours).
struct ReleasingDelete {
  void operator()(FakeProvider* p) const {
    if (PyGILState_Check()) {
      py::gil_scoped_release release;
      delete p;
    } else {
      delete p;
    }
  }
};

std::unique_ptr<FakeProvider, ReleasingDelete> make_provider(std::string host, std::uint16_t port, unsigned threads,
                                                             unsigned reply_words, unsigned embedding_dimensions,
                                                             std::optional<std::vector<std::string>> models) {
  FakeProvider::Options o;
  o.host = std::move(host);
  o.port = port;
  o.threads = std::max(1u, threads);
  o.reply_words = reply_words;
  o.embedding_dimensions = std::max(1u, embedding_dimensions);
  if (models) o.models = std::move(*models);
  return std::unique_ptr<FakeProvider, ReleasingDelete>(new FakeProvider(std::move(o)));
}

void bind_provider(py::module_& m) {
  py::class_<FakeProvider, std::unique_ptr<FakeProvider, ReleasingDelete>>(
      m, "FakeProvider", "The fault-injecting fake provider (use llmfailover.testing.FakeProvider).")
      .def(py::init(&make_provider), py::kw_only(), py::arg("host") = "127.0.0.1", py::arg("port") = 0,
           py::arg("threads") = 1, py::arg("reply_words") = 3, py::arg("embedding_dimensions") = 8,
           py::arg("models") = std::nullopt)
      .def_property_readonly("port", &FakeProvider::port)
      .def_property_readonly("root_url", &FakeProvider::root_url)
      .def_property_readonly("base_url", &FakeProvider::base_url)
      .def("script", &FakeProvider::script, py::arg("model"), py::arg("faults"))
      .def("set_default", &FakeProvider::set_default, py::arg("model"), py::arg("fault"))
      .def("set_reply", &FakeProvider::set_reply, py::arg("model"), py::arg("content"))
      // std::invalid_argument (empty name, arguments not a JSON object) arrives as ValueError.
      .def("set_tool_call", &FakeProvider::set_tool_call, py::arg("model"), py::arg("name"), py::arg("arguments"),
           "The model's chat answer becomes a call of tool `name` with `arguments` (JSON text of an\n"
           "object) in each dialect's shape; ValueError for an empty name or other JSON.")
      .def(
          "outage",
          [](FakeProvider& fp, std::string model, double seconds, std::optional<Fault> fault) {
            fp.outage(std::move(model), fake_ms(seconds, "seconds"), fault ? *fault : Fault::unavailable());
          },
          py::arg("model"), py::arg("seconds"), py::arg("fault") = std::nullopt)
      .def(
          "attempts",
          [](const FakeProvider& fp, std::optional<std::string> model) {
            return model ? fp.attempts(std::string_view(*model)) : fp.attempts();
          },
          py::arg("model") = std::nullopt)
      .def("reset", &FakeProvider::reset)
      // stop() takes no Python objects, so releasing the GIL for the whole call is safe.
      .def("stop", &FakeProvider::stop, py::call_guard<py::gil_scoped_release>());
}

}  // namespace

void bind_fake(py::module_& m) {
  bind_fault(m);
  bind_record(m);
  bind_provider(m);
}

}  // namespace llmfailover::bindings
