"""Waiting for native calls from asyncio without a thread per request.

One native ``Notifier`` (an eventfd) per event loop, watched with ``loop.add_reader``. Each call
in flight is registered with ``call.set_notify(notifier, token)``; io threads write the token when
the call has new events. The reader callback drains all ready tokens in one batch and wakes the
matching futures; the awaiting coroutine then takes the events with ``call.poll()``.

No wake-up is lost: ``events()`` polls before it parks a future, and both that and the reader
callback run on the loop's thread, so an event that lands after the poll finds the future parked.
Loops are keys of a WeakKeyDictionary; when a loop is collected its notifier is closed.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Any

from . import _fork, _native

__all__ = ["CallWaiter", "waiter_for"]


class _LoopNotifier:
    """The notifier of one event loop and the futures parked on it (token -> future)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.notifier = _native.core().Notifier()
        self.parked: dict[int, asyncio.Future[None]] = {}
        self._tokens = itertools.count(1)
        loop.add_reader(self.notifier.fileno(), self._on_ready)
        # Not a method: the finalizer must not keep this object alive.
        self.finalizer = weakref.finalize(self, self.notifier.close)

    def next_token(self) -> int:
        return next(self._tokens)

    def _on_ready(self) -> None:
        for token in self.notifier.drain():
            fut = self.parked.pop(token, None)
            if fut is not None and not fut.done():
                fut.set_result(None)


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopNotifier]" = weakref.WeakKeyDictionary()


def _forget_notifiers() -> None:
    """In a forked child: the parent's notifiers share their eventfd with the parent (draining one
    would steal the parent's wake-ups); keep them untouched and unclosed, and start afresh."""
    global _by_loop
    for ln in list(_by_loop.values()):
        ln.finalizer.detach()
        _fork.abandon(ln)
    _by_loop = weakref.WeakKeyDictionary()


_fork.on_fork(_forget_notifiers)


def _loop_notifier() -> tuple[asyncio.AbstractEventLoop, _LoopNotifier]:
    loop = asyncio.get_running_loop()
    ln = _by_loop.get(loop)
    if ln is None:
        ln = _by_loop[loop] = _LoopNotifier(loop)
    return loop, ln


class CallWaiter:
    """Awaits the events of one native call on the running loop."""

    __slots__ = ("_loop", "_ln", "_token", "_call")

    def __init__(self, call: Any) -> None:
        self._loop, self._ln = _loop_notifier()
        self._token = self._ln.next_token()
        self._call = call
        call.set_notify(self._ln.notifier, self._token)

    async def events(self) -> list[Any]:
        """The next batch of events (never empty). Cancelling the awaiting task cancels the call."""
        call = self._call
        while True:
            events = call.poll()
            if events:
                return events  # type: ignore[no-any-return]
            fut: asyncio.Future[None] = self._loop.create_future()
            self._ln.parked[self._token] = fut
            try:
                await fut
            except asyncio.CancelledError:
                call.cancel()
                raise
            finally:
                if self._ln.parked.get(self._token) is fut:
                    del self._ln.parked[self._token]


def waiter_for(call: Any) -> CallWaiter:
    return CallWaiter(call)
