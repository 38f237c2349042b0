// bindings.hpp — the pybind11 module's parts, one function per bound area.
// Rules (STYLE.md "The binding boundary and the GIL"): convert arguments while holding the GIL,
// release it only around waits, never keep py::object inside the core.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/validate.hpp"
#include "str_enum.hpp"

namespace llmfailover::bindings {

// Types for the signatures pybind11 writes into docstrings, which pybind11-stubgen turns into
// python/llmfailover/_core.pyi (scripts/stubgen.sh): `list[dict[str, typing.Any]]` rather than `list`.
// AnyValue is a py::object named `typing.Any` there (pybind11 names py::object `object`).
class AnyValue : public pybind11::object {
 public:
  using object::object;
};
using Record = pybind11::typing::Dict<pybind11::str, AnyValue>;  // one attempt, snapshot row, event
using Records = pybind11::typing::List<Record>;
using HeaderList = pybind11::typing::List<pybind11::typing::Tuple<pybind11::str, pybind11::str>>;
using PoolStatsDict = pybind11::typing::Dict<pybind11::str, pybind11::int_>;

// __eq__ of a bound value type, taking any object as Python's data model (and a type checker
// reading the stub) expects: False for another type. Each such type defines a __hash__ that
// agrees with it (equal values hash alike), so values work as set members and dict keys.
template <typename T>
bool value_equals(const T& a, const pybind11::object& other) {
  return pybind11::isinstance<T>(other) && a == other.cast<const T&>();
}

// Durations cross the binding as float seconds; every one goes through to_millis, which is the
// base layer's checked_seconds (validate.hpp: NaN, negatives and 0 refused naming the argument,
// inf and beyond kNoLimitSeconds saturated to "no limit").
inline std::optional<std::chrono::milliseconds> to_millis(double seconds, const char* name, bool allow_zero = false) {
  return checked_seconds(seconds, name, allow_zero);
}

// The connection pool's counters, as the Python side reads them.
inline PoolStatsDict pool_stats_dict(const transport::PoolStats& s) {
  PoolStatsDict d;
  d["connections_opened"] = s.connections_opened;
  d["reused"] = s.reused;
  d["idle"] = s.idle;
  d["active"] = s.active;
  return d;
}

// A duration where "no limit" has no encoding of its own: saturated to kNoLimit (validate.hpp).
inline std::chrono::milliseconds to_millis_or_forever(double seconds, const char* name, bool allow_zero = false) {
  return checked_seconds_or_no_limit(seconds, name, allow_zero);
}

void bind_call(pybind11::module_& m);     // bind_call.cpp: Timeouts, Upstream, ProxyOptions, Call, Notifier
void bind_fake(pybind11::module_& m);     // bind_fake.cpp: FakeProvider and its scripting
void bind_config(pybind11::module_& m);   // bind_config.cpp: parse_config, Config, ConfigError
void bind_metrics(pybind11::module_& m);  // bind_metrics.cpp: MetricsSnapshot, Prices, CallCost
void bind_router(pybind11::module_& m);   // bind_router.cpp: Router, RoutedCall
void bind_secrets(pybind11::module_& m);  // bind_secrets.cpp: scrub_text
}  // namespace llmfailover::bindings

template <>
struct pybind11::detail::handle_type_name<llmfailover::bindings::AnyValue> {
  static constexpr auto name = const_name("typing.Any");
};
