"""One call's events, accumulated: the head, the body or SSE events, and how it ended.

The native ``Call`` yields event tuples (see ``_core.pyi``); sync and async drivers both feed them
here, so what "finished", "failed" and "the body" mean is defined once.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Optional

from ._http import NO_HEADERS, Headers, Request, Response
from .errors import APIError, make_error

__all__ = ["Exchange"]


class Exchange:
    """Accumulates events. ``sse`` holds (event, data) pairs not yet consumed by a stream."""

    __slots__ = ("request", "status", "headers", "body", "sse", "errc", "detail", "done", "_secrets")

    def __init__(self, request: Request, secrets: tuple[str, ...] = ()) -> None:
        self.request = request
        self.status: Optional[int] = None
        self.headers = NO_HEADERS
        self.body: list[bytes] = []
        self.sse: deque[tuple[str, bytes]] = deque()
        self.errc = ""
        self.detail = ""
        self.done = False
        self._secrets = secrets

    def feed(self, events: list[Any]) -> None:
        for ev in events:
            kind = ev[0]
            if kind == "sse":
                self.sse.append((ev[1], ev[2]))
            elif kind == "body":
                self.body.append(ev[1])
            elif kind == "head":
                self.status = ev[1]
                self.headers = Headers(ev[2])
            elif kind == "end":
                self.done = True
            elif kind == "error":
                self.done = True
                self.errc, self.detail = ev[1], ev[2]

    @property
    def has_head(self) -> bool:
        return self.status is not None

    @property
    def content(self) -> bytes:
        if len(self.body) > 1:
            self.body[:] = [b"".join(self.body)]
        return self.body[0] if self.body else b""

    def response(self) -> Response:
        return Response(self.status or 0, self.headers, self.request, self.content)

    def failure(self) -> Optional[APIError]:
        """The exception for a call that failed, else None.

        An error status wins over a later transport error (the status is what the upstream said);
        a transport error after a 2xx head (a broken body or stream) is a connection error.
        """
        if self.status is not None and self.status >= 400:
            content = self.content or b"".join(data for _, data in self.sse)
            return make_error(
                self.request,
                status=self.status,
                headers=self.headers,
                content=content,
                secrets=self._secrets,
            )
        if self.errc:
            return make_error(self.request, errc=self.errc, detail=self.detail, secrets=self._secrets)
        return None
