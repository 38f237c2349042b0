"""``AsyncOpenAI``: the asyncio drop-in client.

No Python thread per request: each call is awaited through the event loop's notifier
(``_async_io``). Cancelling the awaiting task cancels the native call.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Optional

from ._async_io import CallWaiter
from ._base import BaseClient, RequestSpec
from ._client import ResourcesMixin
from ._exchange import Exchange
from ._streaming import AsyncStream

__all__ = ["AsyncOpenAI"]


async def _apump(waiter: CallWaiter, exchange: Exchange, *, until_head: bool) -> None:
    while not exchange.done and not (until_head and exchange.has_head):
        exchange.feed(await waiter.events())


class AsyncClientMixin:
    """The asyncio request driver, shared by ``AsyncOpenAI`` and ``AsyncAzureOpenAI``."""

    _is_async = True
    _stream_cls: type[AsyncStream[Any]] = AsyncStream  # with openai installed, also an openai.AsyncStream

    async def _request(self: Any, spec: RequestSpec, *, raw: bool = False) -> Any:
        auth = await self._async_auth()
        request = self._request_for(spec)
        started = time.monotonic()
        call = self._send(spec, auth, request)
        exchange = Exchange(request, self._secrets(auth))
        try:
            waiter = CallWaiter(call)
            await _apump(waiter, exchange, until_head=spec.stream)
            if exchange.status is not None and exchange.status >= 400:
                await _apump(waiter, exchange, until_head=False)
        except BaseException:
            call.cancel()
            raise
        strict = self._strict_response_validation

        def make_stream(call: Any, exchange: Exchange, report: Any) -> AsyncStream[Any]:
            return self._stream_cls(  # type: ignore[no-any-return]
                waiter=waiter, call=call, exchange=exchange, cast_to=spec.chunk_cls, strict=strict, report=report
            )

        return self._outcome(spec, call, exchange, raw=raw, started=started, make_stream=make_stream)

    async def close(self: Any) -> None:
        """Closes the native engine if this client created it (copies share it). Idempotent."""
        if self._owns_engine:
            self._engine.close()

    async def __aenter__(self: Any) -> Any:
        return self

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()


class AsyncOpenAI(AsyncClientMixin, ResourcesMixin, BaseClient):
    """Drop-in for ``openai.AsyncOpenAI``; same arguments as ``llmfailover.OpenAI``.

    ``api_key`` may be a callable returning a key or an awaitable of one. With ``config=`` calls
    go through the failover router (as ``OpenAI``); callbacks run on the event loop.
    """
