// module.cpp — llmfailover._core, the private native module behind the Python package.
#include "bindings.hpp"

#ifndef LLMFAILOVER_VERSION
#define LLMFAILOVER_VERSION "0.0.0"
#endif

PYBIND11_MODULE(_core, m) {
  // The stub's module docstring (python/llmfailover/_core.pyi is generated from these docstrings).
  m.doc() = R"(llmfailover native core (private: use the llmfailover package).

Events returned by ``Call.wait``/``Call.poll`` are tuples, in this order for one call:
  ("head", status: int, headers: list[tuple[str, str]])      exactly once, first
  ("body", data: bytes)                                        non-streaming: the whole body
  ("sse", event: str, data: bytes, id: str)                    text/event-stream: one per event
  ("end",)  or  ("error", code: str, message: str)            exactly one, last
A call that fails before any response has no "head": just ("error", code, message).
Error codes are the C++ ``Errc`` names: bad_url, resolve_failed, connect_refused, connect_failed,
connect_timeout, tls_failed, write_failed, connection_reset, connection_closed,
first_byte_timeout, idle_timeout, deadline_exceeded, cancelled, protocol_error, body_too_large,
stream_error; from a ``Router`` also stream_interrupted (a committed stream broke: never a
success) and no_target (nothing available; the message says why).)";
  m.attr("__version__") = LLMFAILOVER_VERSION;
  llmfailover::bindings::bind_call(m);
  llmfailover::bindings::bind_fake(m);
  llmfailover::bindings::bind_config(m);
  llmfailover::bindings::bind_metrics(m);
  llmfailover::bindings::bind_router(m);  // after call (Call) and config (Config)
  llmfailover::bindings::bind_secrets(m);
}
