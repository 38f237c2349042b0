// bindings.hpp — the pybind11 module's parts, one function per bound area.
// Rules (STYLE.md "The binding boundary and the GIL"): convert arguments while holding the GIL,
// release it only around waits, never keep py::object inside the core.
#pragma once

#include <pybind11/pybind11.h>

namespace llmfailover::bindings {
void bind_engine(pybind11::module_& m);  // bind_engine.cpp: Timeouts, Upstream, Engine, Call, Notifier
void bind_fake(pybind11::module_& m);    // bind_fake.cpp: FakeProvider and its scripting
void bind_config(pybind11::module_& m);  // bind_config.cpp: parse_config, Config, ConfigError
void bind_router(pybind11::module_& m);  // bind_router.cpp: Router, RoutedCall
}  // namespace llmfailover::bindings
