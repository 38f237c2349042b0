"""Rewrites the str-valued enums of a generated ``_core.pyi`` (scripts/stubgen.sh).

pybind11-stubgen prints a Python enum the binding built (``_core.Decision``, ``Errc``,
``ErrorClass``; cpp/bindings/str_enum.hpp) as a plain class: ``member: ClassVar[Decision]``
plus the enum module's internals, which type checkers refuse in a stub ("Enum members must be
left unannotated"). Each such class body becomes its docstring and ``member = "value"`` lines
(the typing spec's enum members: https://typing.readthedocs.io/en/latest/spec/enums.html).

    python scripts/stub_enums.py STUB.pyi    rewrites STUB.pyi in place
"""

from __future__ import annotations

import re
import sys

from llmfailover import _core, _enums

_CLASS = re.compile(r"^class (\w+)\(llmfailover\._enums\.NativeStrEnum\):\n(?:(?:    .*|)\n)*", re.M)


def _body(match: re.Match[str]) -> str:
    cls = getattr(_core, match.group(1))
    assert issubclass(cls, _enums.NativeStrEnum), cls
    doc = "\n    ".join((cls.__doc__ or "").strip().splitlines())
    lines = [f"class {cls.__name__}(llmfailover._enums.NativeStrEnum):", f'    """\n    {doc}\n    """', ""]
    lines += [f"    {m.name} = {m.value!r}" for m in cls]
    return "\n".join(lines) + "\n\n"


def main(path: str) -> None:
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(_CLASS.sub(_body, text))


if __name__ == "__main__":
    main(sys.argv[1])
