// bind_fake.cpp — placeholder; the FakeProvider bindings land here.
#include "bindings.hpp"

namespace llmfailover::bindings {
void bind_fake(pybind11::module_&) {}
}  // namespace llmfailover::bindings
