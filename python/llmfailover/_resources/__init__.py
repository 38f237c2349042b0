"""Resources (``chat.completions``, ``embeddings``, ``models``) and their raw/streaming views.

A resource method ``name`` is implemented once as ``_name(params, raw)``: it builds a
``RequestSpec`` and hands it to the client's driver, which returns the result (sync client) or an
awaitable of it (async client). ``with_raw_response`` and ``with_streaming_response`` are views
that call the same ``_name`` with ``raw=True``, at resource or client level:
``client.chat.completions.with_raw_response.create(...)`` and
``client.with_raw_response.chat.completions.create(...)`` both work.
"""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Any, Callable, Optional

__all__ = ["Resource", "RawResponseView", "StreamingResponseView"]


class Resource:
    def __init__(self, client: Any) -> None:
        self._client = client

    @cached_property
    def with_raw_response(self) -> "RawResponseView":
        return RawResponseView(self)

    @cached_property
    def with_streaming_response(self) -> "StreamingResponseView":
        return StreamingResponseView(self)


def _raw_call(target: Any, name: str) -> Optional[Callable[..., Any]]:
    impl = getattr(target, "_" + name, None)
    if impl is None or isinstance(target, type) or not isinstance(target, Resource):
        return None

    def call(*args: Any, **params: Any) -> Any:
        return impl(*args, params=params, raw=True)

    call.__name__ = name
    return call


class RawResponseView:
    """Methods return ``LegacyAPIResponse`` (``.parse()``, ``.headers``, ``.status_code``, ...)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._target, name)
        if isinstance(attr, Resource):
            return type(self)(attr)
        call = _raw_call(self._target, name)
        if call is None:
            raise AttributeError(f"{type(self._target).__name__}.{name} has no raw-response form")
        return self._wrap(call)

    def _wrap(self, call: Callable[..., Any]) -> Any:
        return call


class StreamingResponseView(RawResponseView):
    """Methods return a context manager (``with`` or ``async with``) around the raw response, with
    openai's body iterators (``_streamed.StreamedResponse``)."""

    def _wrap(self, call: Callable[..., Any]) -> Any:
        def open_(*args: Any, **params: Any) -> _ResponseContext:
            return _ResponseContext(lambda: call(*args, **params))

        return open_


class _ResponseContext:
    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._response: Any = None

    def __enter__(self) -> Any:
        from ._streamed import StreamedResponse

        self._response = StreamedResponse(self._make())
        return self._response

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self._close_stream()

    async def __aenter__(self) -> Any:
        from ._streamed import AsyncStreamedResponse

        self._response = AsyncStreamedResponse(await self._make())
        return self._response

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self._close_stream()

    def _close_stream(self) -> None:
        parsed = getattr(self._response, "_parsed", None)
        finish = getattr(parsed, "_finish", None)
        if finish is not None:
            finish(drain=False)
