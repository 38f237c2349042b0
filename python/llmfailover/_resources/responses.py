"""``responses.create`` (plain and ``stream=True``) and ``responses.stream`` for the look-alike
clients, without openai.

With openai installed the clients are openai's subclasses and ``responses`` is openai's own code
over ``llmfailover.Transport``; this serves the look-alikes. Results are ``types._responses``
models; arguments are sent as given (the Responses API has too many to list here).

``responses.stream(...)`` is used as openai's (``openai/lib/streaming/responses/_responses.py``):
a context manager (``with`` / ``async with``) whose value iterates the events and has
``get_final_response()`` (the ``response.completed`` event's response as a ``Response``),
``until_done()`` and ``close()``. A stream that ends without ``response.completed`` raises
``APIError`` from ``get_final_response()`` instead of returning a truncated response.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Optional

from .._http import Response
from .._response import parse_model
from ..types._responses import Response as ResponseModel
from ..types._responses import ResponseStreamEvent
from . import Resource

__all__ = ["Responses", "AsyncResponses", "ResponseStream", "AsyncResponseStream"]


def _parse(response: Response, strict: bool) -> Any:
    return parse_model(ResponseModel, response.content, response, strict=strict)


def _final(completed: Any, events: Any) -> ResponseModel:
    if completed is None:
        from ..errors import APIError

        message = "the Responses stream ended without a response.completed event"
        raise APIError(message, events.response.request, body=None)
    response = getattr(completed, "response", None)
    if isinstance(response, ResponseModel):
        return response
    return ResponseModel.model_validate(response or {})


class ResponseStream:
    """The value of ``with client.responses.stream(...) as stream``: iterate it for the events."""

    def __init__(self, events: Any) -> None:
        self._events = events
        self._completed: Any = None

    def __iter__(self) -> Any:
        for event in self._events:
            if getattr(event, "type", None) == "response.completed":
                self._completed = event
            yield event

    def until_done(self) -> "ResponseStream":
        for _ in self:
            pass
        return self

    def get_final_response(self) -> ResponseModel:
        self.until_done()
        return _final(self._completed, self._events)

    def close(self) -> None:
        self._events.close()


class _ResponseStreamManager:
    def __init__(self, responses: "Responses", params: dict[str, Any]) -> None:
        self._responses = responses
        self._params = params
        self._stream: Any = None

    def __enter__(self) -> ResponseStream:
        self._stream = ResponseStream(self._responses._create(params=self._params, raw=False))
        return self._stream  # type: ignore[no-any-return]

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if self._stream is not None:
            self._stream.close()

    async def __aenter__(self) -> "AsyncResponseStream":
        self._stream = AsyncResponseStream(await self._responses._create(params=self._params, raw=False))
        return self._stream  # type: ignore[no-any-return]

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if self._stream is not None:
            await self._stream.close()


class AsyncResponseStream:
    """The value of ``async with client.responses.stream(...) as stream``."""

    def __init__(self, events: Any) -> None:
        self._events = events
        self._completed: Any = None

    async def __aiter__(self) -> Any:
        async for event in self._events:
            if getattr(event, "type", None) == "response.completed":
                self._completed = event
            yield event

    async def until_done(self) -> "AsyncResponseStream":
        async for _ in self:
            pass
        return self

    async def get_final_response(self) -> ResponseModel:
        await self.until_done()
        return _final(self._completed, self._events)

    async def close(self) -> None:
        await self._events.close()


class Responses(Resource):
    def create(self, **params: Any) -> Any:
        """POST /responses -> Response; with ``stream=True`` a ``Stream`` of ResponseStreamEvent."""
        return self._create(params=params, raw=False)

    def stream(self, **params: Any) -> _ResponseStreamManager:
        """POST /responses with ``stream=True``, as a context manager (openai's ``responses.stream``)."""
        if params.get("stream") is not None:
            raise TypeError("responses.stream() sets stream=True itself; do not pass stream=")
        return _ResponseStreamManager(self, {**params, "stream": True})

    def _create(self, params: dict[str, Any], raw: bool) -> Any:
        spec = self._client._spec("POST", "/responses", params, parse=_parse, chunk_cls=ResponseStreamEvent)
        return self._client._request(spec, raw=raw)


class AsyncResponses(Responses):
    async def create(self, **params: Any) -> Any:  # type: ignore[override]
        """POST /responses; with ``stream=True`` an ``AsyncStream`` of ResponseStreamEvent."""
        return await self._create(params=params, raw=False)
