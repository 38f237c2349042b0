"""Native handles that survive ``os.fork()``: the child rebuilds them on first use.

A forked child has the parent's memory but none of its threads: the engine's io threads, which
drive every socket and timer, are gone, so a call from the child would wait forever. An
``os.register_at_fork(after_in_child=...)`` hook bumps a generation counter; a ``ForkSafe``
handle compares its generation (and pid) on each use and, in a child, builds a fresh native
object from its recipe. The parent's object is abandoned, never destroyed: its destructor would
join threads that do not exist in the child, and the mutexes those threads held at the fork may
stay locked. Connections, breaker state and calls in flight are not inherited.
"""

from __future__ import annotations

import os
from typing import Any, Callable

__all__ = ["ForkSafe", "abandon", "generation", "on_fork"]

_generation = 0
_hooks: list[Callable[[], None]] = []
_abandoned: list[Any] = []  # kept alive so that nothing tries to destroy them in the child


def _after_fork_in_child() -> None:
    global _generation
    _generation += 1
    for hook in _hooks:
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def generation() -> int:
    return _generation


def on_fork(hook: Callable[[], None]) -> None:
    """Runs ``hook()`` in every forked child (e.g. to drop per-process caches)."""
    _hooks.append(hook)


def abandon(obj: Any) -> None:
    """Keeps ``obj`` alive for the rest of the (child) process, releasing its native part if it can."""
    release = getattr(obj, "abandon", None)
    if callable(release):
        release()
    _abandoned.append(obj)


class ForkSafe:
    """A native object built by ``make()``, rebuilt by it in a forked child on first use."""

    __slots__ = ("_make", "_obj", "_generation", "_pid")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._obj = make()
        self._generation = _generation
        self._pid = os.getpid()

    def get(self) -> Any:
        if self._generation != _generation:
            self._rebuild()
        return self._obj

    def close(self) -> None:
        """Closes the native object; a parent's object in a child is abandoned instead."""
        if self._pid != os.getpid():
            abandon(self._obj)
        else:
            self._obj.close()

    def _rebuild(self) -> None:
        if self._pid != os.getpid():  # a child: the parent's object has no threads here
            abandon(self._obj)
            self._obj = self._make()
            self._pid = os.getpid()
        self._generation = _generation
