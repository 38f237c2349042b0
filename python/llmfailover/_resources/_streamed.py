"""What ``with_streaming_response`` yields for the look-alike clients: the raw response plus
openai's body iterators (``iter_bytes``, ``iter_text``, ``iter_lines``) and ``read``/``text``/
``json``/``parse``, as openai's ``APIResponse`` and ``AsyncAPIResponse`` have them (coroutines and
async iterators on the async one).

A streamed call's body is read as it arrives; its events are re-serialised (``_sse``), as the
engine keeps no raw bytes. A stream that breaks raises its error from the iterator. Everything
else (``headers``, ``status_code``, ``http_request``, ...) is the wrapped ``LegacyAPIResponse``'s.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional

from .._sse import serialise_sse
from .._streaming import WAIT_SLICE

__all__ = ["StreamedResponse", "AsyncStreamedResponse"]


def _split(pending: str) -> tuple[list[str], str]:
    """Complete lines (without their LF or CRLF) and what is left of an unfinished one."""
    *complete, rest = pending.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in complete], rest


def _lines(text_chunks: Iterator[str]) -> Iterator[str]:
    pending = ""
    for text in text_chunks:
        complete, pending = _split(pending + text)
        yield from complete
    if pending:
        yield pending


class _Base:
    def __init__(self, legacy: Any) -> None:
        self._legacy = legacy
        self._consumed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._legacy, name)

    def _stream(self) -> Optional[Any]:
        """The native stream of a streamed call, else None (the body is already whole)."""
        if "text/event-stream" not in (self._legacy.headers.get("content-type") or ""):
            return None
        return self._legacy.parse()

    def _start(self) -> Optional[Any]:
        if self._consumed:
            raise RuntimeError("The response body has already been consumed")
        self._consumed = True
        return self._stream()

    @staticmethod
    def _take(stream: Any) -> list[bytes]:
        ex = stream._exchange
        out = [serialise_sse(event, data) for event, data in ex.sse]
        ex.sse.clear()
        return out

    @staticmethod
    def _end(stream: Any) -> None:
        exc = stream._exchange.failure()  # a stream that broke after its head
        if exc is not None:
            raise exc


class StreamedResponse(_Base):
    def iter_bytes(self) -> Iterator[bytes]:
        stream = self._start()
        if stream is None:
            if self._legacy.content:
                yield self._legacy.content
            return
        try:
            while True:
                yield from self._take(stream)
                if stream._exchange.done:
                    break
                stream._exchange.feed(stream._call.wait(WAIT_SLICE))
        finally:
            stream._finish(drain=False)
        self._end(stream)

    def iter_text(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in self.iter_bytes():
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def iter_lines(self) -> Iterator[str]:
        return _lines(self.iter_text())

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def text(self) -> str:  # type: ignore[override]
        return self.read().decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.read())

    def parse(self, **kwargs: Any) -> Any:
        return self._legacy.parse(**kwargs)


class AsyncStreamedResponse(_Base):
    async def iter_bytes(self) -> AsyncIterator[bytes]:
        stream = self._start()
        if stream is None:
            if self._legacy.content:
                yield self._legacy.content
            return
        try:
            while True:
                for chunk in self._take(stream):
                    yield chunk
                if stream._exchange.done:
                    break
                stream._exchange.feed(await stream._waiter.events())
        finally:
            stream._finish(drain=False)
        self._end(stream)

    async def iter_text(self) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        async for chunk in self.iter_bytes():
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    async def iter_lines(self) -> AsyncIterator[str]:
        pending = ""
        async for text in self.iter_text():
            complete, pending = _split(pending + text)
            for line in complete:
                yield line
        if pending:
            yield pending

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def text(self) -> str:  # type: ignore[override]
        return (await self.read()).decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return json.loads(await self.read())

    async def parse(self, **kwargs: Any) -> Any:
        return self._legacy.parse(**kwargs)
