// str_enum.hpp — C++ enums that reach Python as str-valued enum members.
//
// A route log record's decision, error code and error class (decision.hpp) cross the binding as
// members of Python enums built here from the C++ enumerators (python/llmfailover/_enums.py
// NativeStrEnum): each member's value is the C++ to_string word, so Python compares members or
// the plain words alike, and there is one list of words (the C++ enum), not one per side.
// pybind11's own enums (py::native_enum) carry int values, which would make "failover" != the
// member. Output only: these types are never taken as arguments.
#pragma once

#include <pybind11/pybind11.h>

#include <span>
#include <string>
#include <vector>

#include "llmfailover/decision.hpp"

namespace llmfailover::bindings {

// The Python members of enum E by underlying value (owned for the process's lifetime: the module
// is never unloaded, and a member outliving the interpreter is never touched).
template <typename E>
struct StrEnumMembers {
  static inline std::vector<PyObject*> by_value;
};

// Defines m.<name>: NativeStrEnum(name, [(member, word), ...]) for every enumerator in `all`;
// the member named for an empty word ("" = no value yet) is `empty_name`.
template <typename E>
void bind_str_enum(pybind11::module_& m, const char* name, const char* doc, std::span<const E> all,
                   const char* empty_name = "pending") {
  namespace py = pybind11;
  py::list pairs;
  for (E e : all) {
    std::string word(to_string(e));
    pairs.append(py::make_tuple(word.empty() ? std::string(empty_name) : word, word));
  }
  py::object base = py::module_::import("llmfailover._enums").attr("NativeStrEnum");
  py::object cls = base(name, pairs, py::arg("module") = m.attr("__name__"), py::arg("qualname") = name);
  cls.attr("__doc__") = doc;
  m.attr(name) = cls;
  auto& members = StrEnumMembers<E>::by_value;
  for (E e : all) {
    auto i = static_cast<std::size_t>(e);
    if (members.size() <= i) members.resize(i + 1, nullptr);
    members[i] = cls(std::string(to_string(e))).release().ptr();
  }
}

template <typename E>
pybind11::handle str_enum_member(E e) {
  auto i = static_cast<std::size_t>(e);
  const auto& members = StrEnumMembers<E>::by_value;
  if (i >= members.size() || members[i] == nullptr) throw pybind11::cast_error("enum value not bound");
  return pybind11::handle(members[i]).inc_ref();
}

}  // namespace llmfailover::bindings

#define LLMF_STR_ENUM_CASTER(E, PY_NAME)                                                                       \
  template <>                                                                                                  \
  class pybind11::detail::type_caster<E> {                                                                     \
   public:                                                                                                     \
    PYBIND11_TYPE_CASTER(E, const_name(PY_NAME));                                                              \
    bool load(handle, bool) { return false; }                                                                  \
    static handle cast(E e, return_value_policy, handle) { return llmfailover::bindings::str_enum_member(e); } \
  };

LLMF_STR_ENUM_CASTER(llmfailover::Decision, "llmfailover._core.Decision")
LLMF_STR_ENUM_CASTER(llmfailover::Errc, "llmfailover._core.Errc")
LLMF_STR_ENUM_CASTER(llmfailover::ErrorClass, "llmfailover._core.ErrorClass")
