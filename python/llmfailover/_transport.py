"""``Transport`` and ``AsyncTransport``: httpx transports that send through the native engine.

    import httpx2, openai, llmfailover
    client = openai.OpenAI(http_client=httpx2.Client(transport=llmfailover.Transport()))

Any httpx-based SDK (openai, anthropic, ...) then gets the engine's connection pools and retries
(``Transport()``, each request to its own URL) or, with ``config=``, the failover router (chat
completions, embeddings and the Responses API on every provider, and the OpenAI-family-only
endpoints ``completions``, ``moderations``, ``images``, ``audio``: routed by the body's ``model``;
``/responses/{id}`` calls go to the deployment that holds that response, see docs/responses.md). Both ``httpx`` and ``httpx2``
(openai >= 3 and anthropic >= 2 use httpx2) are served: the response and exception classes are
taken from the module of the request, and the transports subclass both modules' base classes.

A request body (JSON, multipart uploads, any byte stream) is read in full before it is sent, so
a retry or a failover can send it again. An event stream reaches the caller as it arrives, read
with the GIL released; other bodies arrive whole (the engine delivers a non-SSE body at its end,
up to ``ClientOptions::max_body_bytes``, 64 MiB: large downloads fail with ``body_too_large``).
The engine parses ``text/event-stream`` bodies into events and does not keep the raw bytes, so
event streams are re-serialised (``event:``/``id:``/``data:`` lines and a blank line, per the
WHATWG SSE grammar, https://html.spec.whatwg.org/multipage/server-sent-events.html); comments and
``retry:`` fields of the upstream are not passed on.

Errors before a response head raise the httpx exception the failure is (``ConnectError``,
``ConnectTimeout``, ``ReadTimeout``, ...), naming the engine's code (``connect_refused: ...``);
a body that breaks after the head raises ``ReadError`` (``RemoteProtocolError`` for a malformed
or interrupted stream) from the byte stream, as an httpx transport does.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, AsyncIterator, Iterator, Optional

from ._async_io import CallWaiter
from ._proxy import proxy_options
from ._routing import DEFAULT_MAX_CONNECTIONS, RouterHandle, names_unknown_group, unknown_model
from ._sse import serialise_sse
from ._timeouts import Timeout, to_native

__all__ = ["Transport", "AsyncTransport"]

_WAIT_SLICE = 0.5  # seconds; bounded native waits let Ctrl-C through between slices
# Hop-by-hop and framing headers (RFC 9110 section 7.6.1): the engine frames the body itself, and
# sends no Accept-Encoding, as it does not decode compressed bodies.
_DROP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "proxy-authorization",
        "accept-encoding",
    }
)
_CREDENTIALS = frozenset({"authorization", "api-key", "x-api-key"})  # router mode: targets bring keys
# What the router routes, by the path's ending ("/v1/chat/completions" -> "/chat/completions");
# /chat/completions before /completions, which it ends with.
_ROUTED_PATHS = (
    "/chat/completions",
    "/embeddings",
    "/responses",
    "/responses/input_tokens",
    "/completions",
    "/moderations",
    "/images/generations",
    "/images/edits",
    "/images/variations",
    "/audio/speech",
    "/audio/transcriptions",
    "/audio/translations",
)
# GET / DELETE /responses/{id}, POST /responses/{id}/cancel, GET /responses/{id}/input_items: no
# model; the router sends them to the deployment that served that response.
_STATEFUL = re.compile(r"/responses/(?!input_tokens$)[^/]+(?:/cancel|/input_items)?$")
_FORM_MODEL = re.compile(rb'\r\nContent-Disposition: form-data; name="model"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]*)\r\n')
_ERRC_TO_EXC = {
    "connect_timeout": "ConnectTimeout",
    "first_byte_timeout": "ReadTimeout",
    "idle_timeout": "ReadTimeout",
    "deadline_exceeded": "ReadTimeout",
    "bad_url": "UnsupportedProtocol",
    "write_failed": "WriteError",
    "connection_reset": "ReadError",
    "connection_closed": "RemoteProtocolError",
    "protocol_error": "RemoteProtocolError",
    "stream_error": "RemoteProtocolError",
    "stream_interrupted": "RemoteProtocolError",
    "body_too_large": "ReadError",
    "cancelled": "ReadError",
}


def _loaded(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_HTTPX = [m for m in (_loaded("httpx2"), _loaded("httpx")) if m is not None]
if not _HTTPX:  # pragma: no cover - llmfailover's test extra installs both
    raise ImportError("llmfailover.Transport needs httpx or httpx2: pip install httpx")


def _module_of(request: Any) -> Any:
    """httpx or httpx2: the module whose Request (and so Response and exceptions) this is."""
    return sys.modules[type(request).__module__.split(".")[0]]


def _exception(request: Any, errc: str, detail: str, *, after_head: bool) -> Exception:
    name = _ERRC_TO_EXC.get(errc, "ReadError" if after_head else "ConnectError")
    cls = getattr(_module_of(request), name)
    return cls(f"{errc}: {detail}" if detail else errc, request=request)  # type: ignore[no-any-return]


class _Pending:
    """The events of one call turned into body bytes: what a byte stream yields next."""

    def __init__(self, request: Any, call: Any) -> None:
        self.request = request
        self.call = call
        self.status: Optional[int] = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.done = False
        self.error: Optional[Exception] = None

    def feed(self, events: list[Any]) -> None:
        for ev in events:
            kind = ev[0]
            if kind == "body":
                self.chunks.append(ev[1])
            elif kind == "sse":
                self.chunks.append(serialise_sse(ev[1], ev[2], ev[3]))
            elif kind == "head":
                self.status, self.headers = ev[1], ev[2]
            elif kind == "end":
                self.done = True
            elif kind == "error":
                self.done = True
                self.error = _exception(self.request, ev[1], ev[2], after_head=self.status is not None)

    def take(self) -> list[bytes]:
        chunks, self.chunks = self.chunks, []
        return chunks

    def response(self, stream: Any) -> Any:
        if self.status is None:  # ended before a head: the error is the whole outcome
            raise self.error or _exception(self.request, "protocol_error", "no response", after_head=False)
        headers = [(k, v) for k, v in self.headers if k.lower() not in ("content-length", "transfer-encoding")]
        # The body is re-framed (and SSE re-serialised): a length from upstream would not match.
        return _module_of(self.request).Response(
            self.status,
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1"},
        )


def _bases(kind: str) -> tuple[type, ...]:
    return tuple(getattr(m, kind) for m in _HTTPX)


class _SyncBody(*_bases("SyncByteStream")):  # type: ignore[misc]
    def __init__(self, pending: _Pending) -> None:
        self._p = pending

    def __iter__(self) -> Iterator[bytes]:
        p = self._p
        while True:
            yield from p.take()
            if p.done:
                break
            p.feed(p.call.wait(_WAIT_SLICE, False))
        if p.error is not None:
            raise p.error

    def close(self) -> None:
        if not self._p.done:
            self._p.call.cancel()


class _AsyncBody(*_bases("AsyncByteStream")):  # type: ignore[misc]
    def __init__(self, pending: _Pending, waiter: CallWaiter) -> None:
        self._p = pending
        self._waiter = waiter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        p = self._p
        while True:
            for chunk in p.take():
                yield chunk
            if p.done:
                break
            p.feed(await self._waiter.events())
        if p.error is not None:
            raise p.error

    async def aclose(self) -> None:
        if not self._p.done:
            self._p.call.cancel()


class _Sender:
    """What both transports share: the native handle, and turning a request into a call."""

    def __init__(
        self,
        config: Any = None,
        *,
        io_threads: int = 1,
        verify: bool = True,
        ca_file: Optional[str] = None,
        max_retries: int = 2,
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS,
        proxy: Any = None,
        trust_env: bool = True,
        _engine: Any = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self._owns = _engine is None
        if _engine is None:
            options: dict[str, Any] = {
                "io_threads": io_threads,
                "verify": verify,
                "ca_file": ca_file,
                "max_connections_per_origin": max_connections_per_origin,
                "proxy": proxy_options(proxy, trust_env=trust_env),
            }
            _engine = RouterHandle(config, **options)  # config None: a plain router (pass-through)
        self._handle = _engine
        self._max_retries = max_retries
        self._upstreams: dict[str, Any] = {}

    @property
    def _routed(self) -> bool:
        return bool(self._handle.routed)

    def _send(self, request: Any, body: bytes) -> Any:
        if self._handle.closed:
            raise RuntimeError("Cannot send a request, as the transport has been closed.")
        routed = self._routed
        drop = _DROP | _CREDENTIALS if routed else _DROP
        # .raw keeps the names as the caller spelled them (multi_items() lowercases them).
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        headers = [(k, v) for k, v in headers if k.lower() not in drop]
        url = request.url
        target = url.raw_path.decode("ascii")  # path and query, as the client encoded them
        if routed:
            return self._route(request, url.path, headers, body)
        from . import _native

        if url.scheme not in ("http", "https"):
            raise _module_of(request).UnsupportedProtocol(
                f"llmfailover.Transport sends http:// and https:// URLs, not {url.scheme or 'a relative'!r} URLs",
                request=request,
            )
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        upstream = self._upstreams.get(origin)
        if upstream is None:
            upstream = self._upstreams[origin] = _native.core().Upstream(provider="openai", base_url=origin)
        return self._handle.router.send_plain(
            upstream,
            method=request.method,
            path=target,
            body=body or None,
            headers=headers,
            timeouts=to_native(_timeout_of(request), _native.core().Timeouts),
            max_retries=self._max_retries,
        )

    def _route(self, request: Any, path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        from .errors import NoTargetAvailable

        stateful = _STATEFUL.search(path)
        endpoint = stateful.group(0) if stateful else next((p for p in _ROUTED_PATHS if path.endswith(p)), None)
        doc = _json_body(body) if endpoint and not stateful else None
        model = doc.get("model") if isinstance(doc, dict) else _form_model(request, body) if endpoint else None
        if endpoint is None or (not stateful and not isinstance(model, str)):
            what = f"{request.method} {path}" if endpoint is None else f"a {endpoint} body without a string 'model'"
            raise NoTargetAvailable(
                message="llmfailover's router routes chat completions, embeddings, responses, completions, "
                f"moderations, images and audio by their 'model', not {what}; send it with a client that has "
                "a base_url instead",
                request=request,
            )
        if not stateful and names_unknown_group(self._handle.router, model, doc):
            return _Canned(unknown_model(str(model), list(self._handle.config.groups)))
        # No deadline from httpx's read timeout: that bounds a gap, the router's deadline a call.
        return self._handle.router.send(
            model or "",
            method=request.method,
            path=endpoint,
            body=body,
            headers=headers,
            # input_items' pagination; other routed calls carry nothing in the query the targets need
            # (an AzureOpenAI client's api-version is each Azure target's own).
            query=[(k, v) for k, v in request.url.params.multi_items() if k != "api-version"] if stateful else [],
            stream=isinstance(doc, dict) and doc.get("stream") is True,
        )

    def close(self) -> None:
        if self._owns:
            self._handle.close()

    def __repr__(self) -> str:
        mode = f"groups={self._handle.config.groups!r}" if self._routed else f"max_retries={self._max_retries}"
        return f"<{type(self).__name__} {mode}>"


class _Canned:
    """A call answered here, without the engine: its events at once (the native call's interface)."""

    def __init__(self, events: list[Any]) -> None:
        self._events = events

    def wait(self, timeout: float, release: bool) -> list[Any]:
        events, self._events = self._events, []
        return events

    def poll(self) -> list[Any]:
        return self.wait(0, False)

    def set_notify(self, notifier: Any, token: Any) -> None:
        pass

    def cancel(self) -> None:
        pass


def _json_body(body: bytes) -> Any:
    import json

    try:
        return json.loads(body) if body else None
    except ValueError:  # not JSON: a multipart upload, or a bad body the router will refuse
        return None


def _form_model(request: Any, body: bytes) -> Optional[str]:
    """The ``model`` field of a multipart/form-data body (audio uploads), if it has one."""
    if b"multipart/form-data" not in request.headers.get("content-type", "").encode():
        return None
    found = _FORM_MODEL.search(body)
    return found.group(1).decode("utf-8", "replace") if found else None


def _timeout_of(request: Any) -> Timeout:
    """httpx's per-request timeouts (``extensions["timeout"]``, a dict); the engine bounds the first
    byte and each gap between body bytes by ``read`` (``_timeouts.to_native``)."""
    t = request.extensions.get("timeout") or {}
    return Timeout(connect=t.get("connect"), read=t.get("read"), write=t.get("write"), pool=t.get("pool"))


class Transport(_Sender, *_bases("BaseTransport")):  # type: ignore[misc]
    """A synchronous httpx transport on the native engine (``config=`` for the failover router).

    Arguments: ``config`` (a path, dict or ``Config``: route chat completions, embeddings,
    responses and the other model endpoints by model), ``io_threads``, ``verify``, ``ca_file``,
    ``max_connections_per_origin``, ``max_retries`` (engine retries with openai's rules when not
    routed; give 0 when the SDK above retries itself), ``proxy`` (an http, https, socks5 or
    socks5h proxy URL for every request) and ``trust_env`` (default True: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY are
    read as httpx reads them; an httpx client given ``transport=`` does not mount proxies itself)."""

    def handle_request(self, request: Any) -> Any:
        call = self._send(request, request.read())
        pending = _Pending(request, call)
        try:
            while pending.status is None and not pending.done:
                pending.feed(call.wait(_WAIT_SLICE, False))
        except BaseException:
            call.cancel()
            raise
        return pending.response(_SyncBody(pending))


class AsyncTransport(_Sender, *_bases("AsyncBaseTransport")):  # type: ignore[misc]
    """The asyncio twin of ``Transport``: no thread per request (the loop's notifier wakes it)."""

    async def handle_async_request(self, request: Any) -> Any:
        call = self._send(request, await request.aread())
        pending = _Pending(request, call)
        try:
            waiter = CallWaiter(call)
            while pending.status is None and not pending.done:
                pending.feed(await waiter.events())
        except BaseException:
            call.cancel()
            raise
        return pending.response(_AsyncBody(pending, waiter))

    async def aclose(self) -> None:
        self.close()
