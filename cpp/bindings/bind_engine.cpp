// bind_engine.cpp — placeholder until the engine lands.
#include "bindings.hpp"

namespace llmfailover::bindings {
void bind_engine(pybind11::module_&) {}
}  // namespace llmfailover::bindings
