// module.cpp — llmfailover._core, the private native module behind the Python package.
#include "bindings.hpp"

#ifndef LLMFAILOVER_VERSION
#define LLMFAILOVER_VERSION "0.0.0"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "llmfailover native core (private: use the llmfailover package)";
  m.attr("__version__") = LLMFAILOVER_VERSION;
  llmfailover::bindings::bind_engine(m);
  llmfailover::bindings::bind_fake(m);
  llmfailover::bindings::bind_config(m);
  llmfailover::bindings::bind_metrics(m);
  llmfailover::bindings::bind_router(m);  // after engine (Call) and config (Config)
}
