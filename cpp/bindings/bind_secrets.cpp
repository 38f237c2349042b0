// bind_secrets.cpp — the masking rule of llmfailover/secret_set.hpp for the Python client
// (errors.py masks its own key in messages and bodies with it).
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "llmfailover/secret_set.hpp"

namespace py = pybind11;

namespace llmfailover::bindings {

void bind_secrets(py::module_& m) {
  m.def(
      "scrub_text",
      [](std::string text, const std::vector<std::string>& secrets) {
        SecretSet set;
        for (const auto& s : secrets) set.add(s);
        return set.scrub_text(std::move(text));
      },
      py::arg("text"), py::arg("secrets"),
      "``text`` with each of ``secrets`` replaced by ``***``: one of 8 characters or more everywhere, a shorter one "
      "only where it stands as a whole token (the router's rule, llmfailover/secret_set.hpp).");
}

}  // namespace llmfailover::bindings
