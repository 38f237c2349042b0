"""``Fault``: what the fake provider does with one attempt (a value; times in seconds)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

__all__ = ["Fault", "HeadersLike"]

HeadersLike = Union[Mapping[str, str], Sequence[Tuple[str, str]]]
_ACTIONS = ("none", "no_response", "reset", "close")


def _headers(value: Optional[HeadersLike]) -> Tuple[Tuple[str, str], ...]:
    if not value:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


@dataclass(frozen=True)
class Fault:
    """One attempt's behaviour. Fields combine; ``Fault()`` is a healthy answer.

    status / headers / body
        ``status != 200`` answers with that status; a non-empty ``body`` (str or bytes) is sent
        verbatim and whole, with any status (200 too), else an OpenAI-style error body is built
        from ``error_code`` / ``error_message`` (or defaults). ``headers`` are added to every
        response of the attempt (also healthy ones) and replace the fake's own of the same name
        (``Content-Type``, ``x-request-id``): ``Fault(body=b"data: {...}\\n\\n", headers={"Content-Type":
        "text/event-stream"})`` answers exactly that event stream.
    delay_before_headers
        seconds before anything is sent (also delays ``action``).
    action
        ``"none"``, ``"no_response"`` (read the request, never answer, hold the socket),
        ``"reset"`` (TCP RST), ``"close"`` (FIN without a response).
    first_token_delay, chunk_delay
        streaming: seconds after the headers before the first chunk, and between chunks.
    stall_after, cut_after, malformed_at, error_event_at
        streaming, chunk indices from 0 ([DONE] excluded); None = off. Stall: send that many
        chunks then hold the connection. Cut: send that many then close with no terminator.
        Malformed: that chunk is ``data: {not json``. Error event: that chunk is an error event,
        then the stream ends. On a non-streaming reply, cut/stall send half the body and
        malformed sends ``{not json``.
    omit_done
        end the stream cleanly but without ``data: [DONE]``.
    chunked
        False: stream without Transfer-Encoding (the end is the connection's close).
    content
        the reply text for this attempt.

    Factories: ``Fault.ok()``, ``Fault.status(code, retry_after=...)`` (= ``http_status``), ``Fault.rate_limited()``,
    ``Fault.server_error()``, ``Fault.overloaded()``, ``Fault.unauthorized()``,
    ``Fault.context_length_exceeded()``, ``Fault.content_policy()``, ``Fault.reset()``,
    ``Fault.close()``, ``Fault.no_response()``, ``Fault.slow_headers(s)``,
    ``Fault.slow_first_token(s)``, ``Fault.cut_after(n)`` (= ``cut``), ``Fault.stall_after(n)``
    (= ``stall``), ``Fault.malformed_at(i)`` (= ``malformed``), ``Fault.error_event_at(i)``
    (= ``error_event``), ``Fault.no_done()``. Combine with
    ``.replace(**fields)``, e.g. ``Fault.cut_after(2).replace(chunk_delay=0.05)``.
    """

    status: int = 200
    headers: Tuple[Tuple[str, str], ...] = ()
    body: Union[str, bytes] = ""
    error_code: str = ""
    error_message: str = ""
    delay_before_headers: float = 0.0
    action: str = "none"
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    stall_after: Optional[int] = None
    cut_after: Optional[int] = None
    malformed_at: Optional[int] = None
    error_event_at: Optional[int] = None
    omit_done: bool = False
    chunked: bool = True
    content: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _headers(self.headers))
        if self.action not in _ACTIONS:
            raise ValueError(f"Fault.action must be one of {_ACTIONS}, got {self.action!r}")
        if not 100 <= self.status <= 999:
            raise ValueError(f"Fault.status must be in [100, 999], got {self.status}")
        for name in ("delay_before_headers", "first_token_delay", "chunk_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"Fault.{name} must be >= 0 seconds")

    def replace(self, **changes: Any) -> "Fault":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def _to_core(self, core: Any) -> Any:
        def index(value: Optional[int]) -> int:
            return -1 if value is None else int(value)

        body = self.body.encode() if isinstance(self.body, str) else bytes(self.body)
        return core.Fault(
            status=self.status,
            headers=list(self.headers),
            body=body,
            error_code=self.error_code,
            error_message=self.error_message,
            delay_before_headers=float(self.delay_before_headers),
            action=self.action,
            first_token_delay=float(self.first_token_delay),
            chunk_delay=float(self.chunk_delay),
            stall_after=index(self.stall_after),
            cut_after=index(self.cut_after),
            malformed_at=index(self.malformed_at),
            error_event_at=index(self.error_event_at),
            omit_done=self.omit_done,
            chunked=self.chunked,
            content=self.content,
        )

    # --- factories whose names are not also field names ---------------------------------------

    @classmethod
    def ok(cls, content: Optional[str] = None) -> "Fault":
        """A healthy answer (optionally with this reply text)."""
        return cls(content=content)

    @classmethod
    def rate_limited(cls, retry_after: Optional[float] = 1.0, retry_after_ms: Optional[float] = None) -> "Fault":
        """429 with ``Retry-After: <seconds>`` and/or ``retry-after-ms: <ms>`` (None omits it)."""
        return cls.http_status(
            429, retry_after=retry_after, retry_after_ms=retry_after_ms, error_code="rate_limit_exceeded"
        )

    @classmethod
    def server_error(cls, status: int = 500) -> "Fault":
        return cls(status=status)

    @classmethod
    def unavailable(cls) -> "Fault":
        return cls(status=503)

    @classmethod
    def overloaded(cls) -> "Fault":
        """529, Anthropic's "overloaded"."""
        return cls(status=529, error_code="overloaded_error")

    @classmethod
    def unauthorized(cls) -> "Fault":
        return cls(status=401, error_code="invalid_api_key")

    @classmethod
    def context_length_exceeded(cls) -> "Fault":
        return cls(status=400, error_code="context_length_exceeded")

    @classmethod
    def content_policy(cls) -> "Fault":
        return cls(status=400, error_code="content_policy_violation")

    @classmethod
    def reset(cls) -> "Fault":
        """TCP RST before any byte of the response."""
        return cls(action="reset")

    @classmethod
    def close(cls) -> "Fault":
        """Clean close (FIN) without a response."""
        return cls(action="close")

    @classmethod
    def no_response(cls) -> "Fault":
        """Read the request and never answer; the socket stays open until the client leaves."""
        return cls(action="no_response")

    @classmethod
    def slow_headers(cls, seconds: float) -> "Fault":
        return cls(delay_before_headers=seconds)

    @classmethod
    def slow_first_token(cls, seconds: float) -> "Fault":
        return cls(first_token_delay=seconds)

    @classmethod
    def no_done(cls) -> "Fault":
        return cls(omit_done=True)

    @classmethod
    def http_status(
        cls,
        code: int,
        *,
        retry_after: Optional[float] = None,
        retry_after_ms: Optional[float] = None,
        headers: Optional[HeadersLike] = None,
        body: Union[str, bytes] = "",
        error_code: str = "",
        error_message: str = "",
    ) -> "Fault":
        """A response with status ``code``; ``retry_after`` (s) / ``retry_after_ms`` add those headers.
        Also spelled ``Fault.status(...)``."""
        extra = list(_headers(headers))
        if retry_after is not None:
            extra.append(("Retry-After", _seconds_text(retry_after)))
        if retry_after_ms is not None:
            extra.append(("retry-after-ms", _seconds_text(retry_after_ms)))
        return cls(status=code, headers=tuple(extra), body=body, error_code=error_code, error_message=error_message)

    @classmethod
    def cut(cls, chunks: int) -> "Fault":
        """Send ``chunks`` chunks, then close with no terminator (a truncated chunked body).
        Also spelled ``Fault.cut_after(n)``."""
        return cls(cut_after=chunks)

    @classmethod
    def stall(cls, chunks: int) -> "Fault":
        """Send ``chunks`` chunks, then nothing; the connection stays open. Also ``Fault.stall_after(n)``."""
        return cls(stall_after=chunks)

    @classmethod
    def malformed(cls, index: int) -> "Fault":
        """Chunk ``index`` is sent as ``data: {not json``. Also ``Fault.malformed_at(i)``."""
        return cls(malformed_at=index)

    @classmethod
    def error_event(cls, index: int) -> "Fault":
        """Chunk ``index`` is an in-stream error event; the stream then ends without [DONE].
        Also ``Fault.error_event_at(i)``."""
        return cls(error_event_at=index)


# The factories named like fields (Fault.status(429), Fault.cut_after(2), ...) are attached after
# the dataclass is built: its __init__ has captured the field defaults by then, and an instance's
# field values live in its __dict__, which wins over these non-data descriptors. Type checkers see
# the fields, so typed code may prefer the other spellings (http_status, cut, stall, ...).
for _alias, _factory in (
    ("status", "http_status"),
    ("cut_after", "cut"),
    ("stall_after", "stall"),
    ("malformed_at", "malformed"),
    ("error_event_at", "error_event"),
):
    setattr(Fault, _alias, vars(Fault)[_factory])
del _alias, _factory
