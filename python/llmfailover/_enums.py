"""The base of the native module's str-valued enums (``_core.Decision``, ``Errc``, ``ErrorClass``).

The binding (``cpp/bindings/str_enum.hpp``) builds each from the C++ enum's names, so the values
Python sees are the C++ ``to_string`` words ("failover", "connection_reset", "retryable"). A
member is a ``str``: ``attempt.decision == "failover"``, ``str(attempt.decision)``, f-strings, JSON
and dict lookups by the plain word all behave as they did when the binding handed out strings
(``enum.StrEnum`` is Python 3.11+; this works from 3.9).
"""

from __future__ import annotations

import enum

__all__ = ["NativeStrEnum"]


class NativeStrEnum(str, enum.Enum):
    """A str-valued enum whose ``str()`` and ``format()`` are the value, not ``Class.member``."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(str.__str__(self), spec)
