"""``Timeout`` (httpx-shaped) and its mapping onto the engine's per-attempt limits.

openai-python takes ``timeout: float | httpx.Timeout | None``; the engine has connect, first-byte,
idle (between body bytes) and total limits. A float ``t`` bounds connect, first byte and every
idle gap by ``t`` (as httpx bounds connect and each read by ``t``); httpx's ``read`` maps to
first-byte and idle. ``write`` and ``pool`` have no engine counterpart and are ignored.
``None`` means no limit, except connect, which the engine always bounds (5 s by default).
Huge values (``1e17``, ``1e308``, ``inf``) mean no limit too (the binding saturates them); NaN,
zero and negative values raise ValueError naming the limit.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from ._native import core

__all__ = ["Timeout", "DEFAULT_TIMEOUT", "TimeoutTypes", "seconds", "to_native"]

_UNSET: Any = object()


class Timeout:
    """``Timeout(600, connect=5.0)``, ``Timeout(None)``, ``Timeout(connect=2, read=30, write=30, pool=5)``."""

    connect: Optional[float]
    read: Optional[float]
    write: Optional[float]
    pool: Optional[float]

    def __init__(
        self,
        timeout: Union[float, "Timeout", None] = _UNSET,
        *,
        connect: Optional[float] = _UNSET,
        read: Optional[float] = _UNSET,
        write: Optional[float] = _UNSET,
        pool: Optional[float] = _UNSET,
    ) -> None:
        default: Optional[float] = None
        if isinstance(timeout, Timeout):
            connect, read, write, pool = timeout.connect, timeout.read, timeout.write, timeout.pool
        elif timeout is not _UNSET:
            default = timeout
        elif _UNSET in (connect, read, write, pool):
            raise ValueError("Timeout needs a default, or all four of connect, read, write and pool")
        self.connect = default if connect is _UNSET else connect
        self.read = default if read is _UNSET else read
        self.write = default if write is _UNSET else write
        self.pool = default if pool is _UNSET else pool

    def as_dict(self) -> dict[str, Optional[float]]:
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        values = set(self.as_dict().values())
        if len(values) == 1:
            return f"Timeout(timeout={self.connect})"
        return "Timeout({})".format(", ".join(f"{k}={v}" for k, v in self.as_dict().items()))


DEFAULT_TIMEOUT = Timeout(600, connect=5.0)
TimeoutTypes = Union[float, Timeout, None]
_DEFAULT_CONNECT = 5.0


def seconds(value: Any) -> float:
    """A number of seconds as a float; an int too large for a float (``10**400``) is infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def to_native(timeout: Any, timeouts_cls: Any) -> Any:
    """The engine's ``Timeouts`` for a float, an httpx-like timeout (any object with
    ``connect``/``read``) or None."""
    if timeout is None:
        return timeouts_cls(connect=_DEFAULT_CONNECT)
    if isinstance(timeout, (int, float)):
        t = seconds(timeout)
        core().check_seconds("timeout", t)  # named as the routed client names it (validate.hpp)
        return timeouts_cls(connect=t, first_byte=t, idle=t, total=None)
    connect = getattr(timeout, "connect", None)
    read = getattr(timeout, "read", None)
    return timeouts_cls(
        connect=_DEFAULT_CONNECT if connect is None else seconds(connect),
        first_byte=None if read is None else seconds(read),
        idle=None if read is None else seconds(read),
        total=None,
    )
