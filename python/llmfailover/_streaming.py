"""``Stream`` and ``AsyncStream``: server-sent chunks as result objects, pulled on demand.

Iteration pulls batches of native events (``call.wait_stream()`` with the GIL released: the SSE
data of a batch as one list of bytes; or the event loop's notifier and ``poll()`` for
``AsyncStream``) and buffers the data. It stops at ``data: [DONE]``; a stream that
ends without it just ends; a data object containing "error" raises ``APIError`` and a broken
connection ``APIConnectionError``/``APITimeoutError``, as openai's ``Stream`` does. Closing, or
garbage-collecting, a stream that has not finished cancels the native call.

Routed streams (``config=``) carry ``_llmfailover`` (the route so far) and keep the text
delivered so far: a committed stream that breaks raises ``StreamInterrupted`` with ``.partial``
and ``.route``. The client's callbacks hear the end when the stream finishes or is closed.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Any, AsyncIterator, Generic, Iterator, Optional, TypeVar

import pydantic

from ._exchange import Exchange
from ._http import Response
from ._response import decode_json, parse_model
from ._routing import CallReport, RouteInfo
from .errors import StreamInterrupted, make_stream_error

__all__ = ["Stream", "AsyncStream", "WAIT_SLICE"]

T = TypeVar("T")
WAIT_SLICE = 0.5  # seconds; bounded native waits let Ctrl-C through between slices

_MODEL_VALIDATE_JSON = pydantic.BaseModel.model_validate_json.__func__  # type: ignore[attr-defined]


def _json_validator(cls: Any) -> Any:
    """``cls.model_validate_json`` minus its classmethod wrapper: the class's pydantic validator's
    ``validate_json`` (what pydantic's ``BaseModel.model_validate_json`` calls with every option at
    its default), or None when ``cls`` is no pydantic model or defines its own
    ``model_validate_json``. Looked up per stream: a rebuilt model gets a new validator."""
    method = getattr(cls, "model_validate_json", None)
    if getattr(method, "__func__", None) is not _MODEL_VALIDATE_JSON:
        return None
    try:
        return cls.__pydantic_validator__.validate_json  # builds a deferred model (defer_build) now
    except Exception:  # a model that cannot be built yet: parse_model reports it per chunk
        return None


class _StreamBase(Generic[T]):
    response: Response

    def __init__(
        self, *, call: Any, exchange: Exchange, cast_to: Any, strict: bool, report: Optional[CallReport] = None
    ) -> None:
        self.response = exchange.response()
        self._call = call
        self._exchange = exchange
        self._cast_to = cast_to
        self._strict = strict
        self._finished = False
        self._report = report
        self._partial: list[str] = []
        self._route: Optional[RouteInfo] = report.live_info() if report is not None else None
        self._validate_json = _json_validator(cast_to)
        self._fast = self._validate_json is not None and report is None  # routed streams keep their text
        # The data of the SSE events not yet consumed: the exchange's (event, data) pairs move here
        # when the stream is read (a raw reader, ``_resources/_streamed.py``, takes them from the
        # exchange with their names instead), and a native call hands over each batch's data as a
        # list of bytes (``Call.wait_stream``).
        self._sse: deque[bytes] = deque()
        self._wait_stream = getattr(call, "wait_stream", None)  # None: a call double (FinishedCall, ...)

    def _take(self, events: list[Any]) -> None:
        """Events in the ``wait()``/``poll()`` form: the exchange takes them, the SSE data comes here."""
        ex = self._exchange
        ex.feed(events)
        if ex.sse:
            self._sse.extend([data for _, data in ex.sse])
            ex.sse.clear()

    def _take_batch(self, batch: tuple[list[Any], list[bytes]]) -> None:
        """A ``wait_stream()`` batch: (the events that are not SSE, the SSE data)."""
        events, data = batch
        self._sse.extend(data)
        if events:
            self._take(events)

    @property
    def _llmfailover(self) -> Optional[RouteInfo]:
        """The route of a routed stream (updated when it ends), else None."""
        return self._route

    @property
    def retries_taken(self) -> int:
        return int(self._call.retries_taken)

    def _next_item(self) -> tuple[bool, Any]:
        """(True, item) for a buffered chunk; (False, None) when more events are needed.

        Raises StopIteration at the end, or the stream's error."""
        ex = self._exchange
        sse = self._sse
        if ex.sse:  # what create() fed with the head, or a call double's events
            sse.extend([data for _, data in ex.sse])
            ex.sse.clear()
        while sse:
            data = sse.popleft()
            if data[:1] != b"{":  # a chunk is a JSON object; anything else is looked at closer
                if data.startswith(b"[DONE]"):
                    self._finish(drain=True)
                    raise StopIteration
                if not data.strip():
                    continue
            return True, self._decode(data)
        if ex.done or self._finished:
            exc = None if self._finished else ex.failure()
            self._finish(drain=False)
            if exc is not None:
                if isinstance(exc, StreamInterrupted):
                    exc.partial = "".join(self._partial)
                exc.route = self._route
                raise exc
            raise StopIteration
        return False, None

    def _decode(self, data: bytes) -> Any:
        if b'"error"' in data:
            obj = decode_json(data)  # not JSON: parse_model below raises the validation error
            if isinstance(obj, dict) and obj.get("error"):
                self._finish(drain=False)
                raise make_stream_error(obj, self.response.request)
        item = None
        if self._validate_json is not None:
            try:
                item = self._validate_json(data)
            except pydantic.ValidationError:
                pass  # parse_model: the tolerant fallback, or APIResponseValidationError when strict
        if item is None:
            item = parse_model(self._cast_to, data, self.response, strict=self._strict, request_id=False)
        if self._report is not None:
            for choice in getattr(item, "choices", None) or ():
                delta = getattr(choice, "delta", None)
                text = getattr(delta, "content", None)
                if text and getattr(choice, "index", 0) == 0 and isinstance(text, str):
                    self._partial.append(text)
        return item

    def _finish(self, *, drain: bool, report: bool = True) -> None:
        """Marks the stream finished; cancels the call unless it has already ended; tells the
        callbacks (not from ``__del__``: a collection may run on any thread).

        After [DONE] the upstream ends the body at once: take the end if it is already here so
        the connection goes back to the pool instead of being cut."""
        if self._finished:
            return
        self._finished = True
        self._fast = False
        self._sse.clear()
        self._exchange.sse.clear()
        if drain and not self._exchange.done:
            self._take(self._call.poll())
            self._sse.clear()
        if not self._exchange.done and not self._call.finished:
            self._call.cancel()
        if self._report is not None and report:
            self._route = self._report.result_info()
            self._report.end_trace(self._route, error=self._exchange.failure(), stream=True)

    def __del__(self) -> None:
        try:
            self._finish(drain=False, report=False)
        except Exception:  # interpreter shutdown, half-built object
            pass


class Stream(_StreamBase[T]):
    """Iterator over chunks; also a context manager. ``close()`` releases the call."""

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        # The usual chunk (a JSON object naming no error, plain stream, pydantic class): taken here.
        sse = self._sse
        if sse and self._fast:  # _fast is cleared when the stream finishes
            data = sse[0]
            if data[:1] == b"{" and b'"error"' not in data:
                sse.popleft()
                try:
                    return self._validate_json(data)  # type: ignore[no-any-return]
                except pydantic.ValidationError:
                    return self._decode(data)  # type: ignore[no-any-return]  # tolerant fallback or strict error
        while True:
            ready, item = self._next_item()
            if ready:
                return item  # type: ignore[no-any-return]
            try:
                if self._wait_stream is not None:
                    self._take_batch(self._wait_stream(WAIT_SLICE))
                else:
                    self._take(self._call.wait(WAIT_SLICE))
            except BaseException:
                self._finish(drain=False)
                raise

    def close(self) -> None:
        self._finish(drain=False)

    def __enter__(self) -> "Stream[T]":
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class AsyncStream(_StreamBase[T]):
    """Async iterator over chunks; also an async context manager. ``await close()`` releases it."""

    def __init__(self, *, waiter: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._waiter = waiter

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            try:
                ready, item = self._next_item()
            except StopIteration:
                raise StopAsyncIteration from None
            if ready:
                return item  # type: ignore[no-any-return]
            try:
                self._take(await self._waiter.events())
            except BaseException:  # CancelledError included: cancel the native call too
                self._finish(drain=False)
                raise

    async def close(self) -> None:
        self._finish(drain=False)

    async def __aenter__(self) -> "AsyncStream[T]":
        return self

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()
