// bind_config.cpp — parse_config and the parsed Config for Python (llmfailover/config.py wraps them).
//
// _core.parse_config(json_text, env=None) -> Config; a bad config raises _core.ConfigError (a
// ValueError) whose .path names the place in the document. Config shows no secret: deployments
// and to_json() are the redacted dump_config.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <map>
#include <nlohmann/json.hpp>

#include "bindings.hpp"
#include "llmfailover/config.hpp"
#include "llmfailover/json.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

namespace {

using Json = nlohmann::ordered_json;

py::object to_python(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      py::dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = to_python(it.value());
      return d;  // C++20: an implicit move into py::object
    }
    case Json::value_t::array: {
      py::list l;
      for (const auto& item : j) l.append(to_python(item));
      return l;
    }
    case Json::value_t::string: return py::str(j.get<std::string>());
    case Json::value_t::boolean: return py::bool_(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return py::int_(j.get<long long>());
    case Json::value_t::number_float: return py::float_(j.get<double>());
    default: return py::none();
  }
}

Json dump(const RouterConfig& c) { return parse_json<Json>(dump_config(c)); }

Records deployments(const RouterConfig& c) {
  Records out;
  auto groups = dump(c)["groups"];
  for (const auto& d : c.deployments)
    for (const auto& item : groups[d.group]["deployments"])
      if (item["id"] == d.id) {
        auto row = to_python(item);
        row[py::str("group")] = d.group;
        out.append(row);
      }
  return out;
}

Record policy_for(const RouterConfig& c, const std::string& group) {
  RouterConfig one;
  one.defaults = c.policy_for(group);
  return to_python(dump(one)["defaults"]);
}

}  // namespace

void bind_config(py::module_& m) {
  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> error_type;
  error_type.call_once_and_store_result(
      [&]() { return py::object(py::exception<ConfigError>(m, "ConfigError", PyExc_ValueError)); });
  error_type.get_stored().attr("__doc__") =
      "A bad config (a ValueError); its ``path`` (str) names the place in the document.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      py::object type = error_type.get_stored();
      py::object error = type(py::str(e.what()));
      error.attr("path") = py::str(e.path());
      PyErr_SetObject(type.ptr(), error.ptr());
    }
  });

  py::class_<RouterConfig>(m, "Config", "A parsed router config (llmfailover schema; secrets redacted on output)")
      .def_property_readonly("groups", &RouterConfig::groups)
      .def_property_readonly("deployments", &deployments, "One dict per deployment, its group included; no secret")
      .def_readonly("warnings", &RouterConfig::warnings)
      .def_readonly("fallbacks", &RouterConfig::fallbacks)
      .def_readonly("context_window_fallbacks", &RouterConfig::context_window_fallbacks)
      .def_readonly("content_policy_fallbacks", &RouterConfig::content_policy_fallbacks)
      .def_readonly("default_fallbacks", &RouterConfig::default_fallbacks)
      .def_readonly("degraded_answer", &RouterConfig::degraded_answer)
      .def_readonly("stream_recovery", &RouterConfig::stream_recovery)
      .def_readonly("routing_strategy", &RouterConfig::routing_strategy)
      .def("policy_for", &policy_for, py::arg("group"), "The group's policy (its own, else the defaults)")
      .def("to_json", &dump_config, "The config in llmfailover's schema, secrets redacted")
      .def("__eq__", &value_equals<RouterConfig>, py::arg("other"))
      .def("__hash__", [](const RouterConfig& c) { return std::hash<std::string>{}(dump_config(c)); })
      .def("__repr__", [](const RouterConfig& c) {
        return "<_core.Config groups=" + std::to_string(c.groups().size()) +
               " deployments=" + std::to_string(c.deployments.size()) +
               " warnings=" + std::to_string(c.warnings.size()) + ">";
      });

  m.def(
      "parse_config",
      [](const std::string& json_text, std::optional<std::map<std::string, std::string>> env) {
        EnvLookup lookup = process_env();
        if (env)
          lookup = [vars = std::move(*env)](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
          };
        return parse_config(json_text, lookup);
      },
      py::arg("json_text"), py::arg("env") = py::none(),
      "Parse a config (llmfailover schema, or LiteLLM when it has model_list). `env` replaces the "
      "process environment for os.environ/NAME and ${NAME} references.");
  // The checks both Python clients ask rather than repeat (llmfailover/validate.hpp): a bad value
  // raises ValueError naming the field (InvalidArgument is a std::invalid_argument).
  m.def(
      "header_problem", [](const std::string& name, const std::string& value) { return header_problem(name, value); },
      py::arg("name"), py::arg("value"),
      "Why a header cannot be sent (names the header, never shows the value), or None (RFC 9110).");
  m.def(
      "check_base_url", [](const std::string& field, const std::string& url) { check_base_url(field, url); },
      py::arg("field"), py::arg("url"), "Raises ValueError for a URL with a control character or not http(s).");
  m.def(
      "check_url_characters",
      [](const std::string& field, const std::string& url) { check_url_characters(field, url); }, py::arg("field"),
      py::arg("url"), "Raises ValueError naming `field` for a URL (part) with a control character (as httpx).");
  m.def(
      "check_seconds",
      [](const std::string& field, double seconds) { static_cast<void>(checked_seconds(seconds, field)); },
      py::arg("field"), py::arg("seconds"), "Raises ValueError naming `field` for a NaN, zero or negative duration.");
  m.def("checked_max_retries", &checked_max_retries, py::arg("max_retries"),
        "max_retries itself, or ValueError when it is outside 0..1000000.");
  m.def("max_json_depth", &max_json_depth, "The nesting limit of every JSON document the core parses");
  m.def("set_max_json_depth", &set_max_json_depth, py::arg("depth"),
        "Set the nesting limit (1..10000) for parses that start afterwards; ValueError outside it");
}

}  // namespace llmfailover::bindings
