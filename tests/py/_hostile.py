"""A raw-socket HTTP/1.1 server that misbehaves on purpose, for the hostile-upstream tests.

``HostileServer`` listens on 127.0.0.1:0; a thread per connection reads each request (head, then
a Content-Length body) and answers by the ``model`` of its JSON body: ``"ok"`` (or an unknown
name) gets a well-formed chat completion (SSE when ``"stream": true``); a name registered in
``BEHAVIOURS`` gets that behaviour, a function ``(conn, request) -> keep_alive`` that writes
whatever it wants (or nothing), may sleep, reset or close. Every request is recorded
(``requests``) so tests can see what reached the wire.

Nothing here uses an HTTP library: the point is to send what no library would.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["HostileServer", "Req", "BEHAVIOURS", "completion", "sse_chunk", "SSE_HEAD"]


@dataclass
class Req:
    head: bytes
    body: bytes
    model: str = ""
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)


Behaviour = Callable[[socket.socket, Req], bool]


def completion(text: str = "hello", model: str = "ok") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-h",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


def sse_chunk(text: Optional[str], finish: Optional[str] = None, model: str = "ok") -> bytes:
    delta = {} if text is None else {"content": text}
    obj = {
        "id": "chatcmpl-h",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def ok_response(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 "
        + status.encode()
        + b"\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n" % len(body)
        + extra
        + b"\r\n"
        + body
    )


def healthy(conn: socket.socket, req: Req) -> bool:
    if req.stream:
        conn.sendall(
            SSE_HEAD
            + chunked(sse_chunk("hel") + sse_chunk("lo"))
            + chunked(sse_chunk(None, "stop"))
            + chunked(b"data: [DONE]\n\n")
            + b"0\r\n\r\n"
        )
    else:
        conn.sendall(ok_response(completion()))
    return True


def reset(conn: socket.socket) -> None:
    """Closes with RST instead of FIN (SO_LINGER with a zero timeout)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def send_then(data: bytes, end: str = "close", wait: float = 0.0) -> Behaviour:
    """Sends ``data``, then "close" (FIN), "reset" (RST), "silent" (keeps it open, says nothing)
    or "keep" (keep-alive: the next request on the connection is served)."""

    def run(conn: socket.socket, req: Req) -> bool:
        if data:
            conn.sendall(data)
        if wait:
            time.sleep(wait)
        if end == "reset":
            reset(conn)
            return False
        if end == "silent":
            _hold(conn, 5.0)
            return False
        return end == "keep"

    return run


def _hold(conn: socket.socket, seconds: float) -> None:
    """Says nothing until the peer goes away or ``seconds`` pass."""
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def drip(data: bytes, every: float, limit: float = 4.0) -> Behaviour:
    """Slow loris: one byte of ``data`` (repeated) every ``every`` seconds, for ``limit`` seconds."""

    def run(conn: socket.socket, req: Req) -> bool:
        end = time.monotonic() + limit
        i = 0
        try:
            while time.monotonic() < end:
                conn.sendall(data[i % len(data) : i % len(data) + 1])
                i += 1
                time.sleep(every)
        except OSError:
            pass
        return False

    return run


def echo_key_error(conn: socket.socket, req: Req, status: str = "401 Unauthorized", extra: bytes = b"") -> bool:
    """A 401 whose message and body echo the Authorization header (as some proxies do)."""
    key = req.headers.get("authorization", "")
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {key}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
                "echo": key,
            }
        }
    ).encode()
    conn.sendall(ok_response(body, status, extra))
    return True


def _stream(*events: bytes, tail: bytes = b"0\r\n\r\n", end: str = "close") -> Behaviour:
    return send_then(SSE_HEAD + b"".join(chunked(e) for e in events) + tail, end)


_DEEP = b"[" * 100_000 + b"]" * 100_000
_FIRST = sse_chunk("par")

BEHAVIOURS: dict[str, Behaviour] = {
    # before or inside the status line and headers
    "reset-before-head": send_then(b"", "reset"),
    "close-before-head": send_then(b"", "close"),
    "silent": send_then(b"", "silent"),
    "garbage-status": send_then(b"HELLO WORLD\r\n\r\n"),
    "bad-status-code": send_then(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
    "huge-status-line": send_then(b"HTTP/1.1 200 " + b"A" * (1 << 20) + b"\r\n\r\n"),
    "header-without-colon": send_then(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nGarbage\r\n\r\n{}"),
    "huge-header": send_then(b"HTTP/1.1 200 OK\r\nX-Big: " + b"v" * (1 << 20) + b"\r\nContent-Length: 2\r\n\r\n{}"),
    "many-headers": send_then(b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 50_000 + b"Content-Length: 2\r\n\r\n{}"),
    "reset-mid-head": send_then(b"HTTP/1.1 200 OK\r\nContent-Type: appl", "reset"),
    "close-mid-head": send_then(b"HTTP/1.1 200 OK\r\nContent-Type: appl", "close"),
    "silent-mid-head": send_then(b"HTTP/1.1 200 OK\r\nContent-Type: appl", "silent"),
    "slow-loris-head": drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"s" * 64, 0.05),
    "bad-content-length": send_then(b"HTTP/1.1 200 OK\r\nContent-Length: banana\r\n\r\n{}"),
    "negative-content-length": send_then(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}"),
    "huge-content-length": send_then(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}"),
    # bodies
    "short-body-close": send_then(ok_response(completion())[:-20], "close"),
    "short-body-reset": send_then(ok_response(completion())[:-20], "reset"),
    "short-body-silent": send_then(ok_response(completion())[:-20], "silent"),
    "slow-loris-body": drip(b" ", 0.05),  # headers never end: a space at a time is still the head
    "bad-chunk-size": send_then(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n"),
    "chunk-missing-crlf": send_then(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"),
    "huge-chunk-size": send_then(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}", "close"
    ),
    "overflow-chunk-size": send_then(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" + b"0" * 40 + b"\r\n{}\r\n0\r\n\r\n"
    ),
    "not-json-200": send_then(ok_response(b"<html>oops</html>"), "keep"),
    "wrong-types-200": send_then(ok_response(b'{"id": 5, "choices": "many", "usage": []}'), "keep"),
    "deep-json-200": send_then(ok_response(_DEEP), "keep"),
    "deep-json-500": send_then(ok_response(_DEEP, "500 Internal Server Error"), "keep"),
    "echo-key-401": echo_key_error,
    # Retryable (openai-python retries a 503), and soon: a key echoed by every attempt.
    "echo-key-503": lambda conn, req: echo_key_error(conn, req, "503 Service Unavailable", b"Retry-After-Ms: 1\r\n"),
    "delayed-ok": lambda conn, req: time.sleep(0.3) or healthy(conn, req),
    "huge-retry-after": send_then(
        ok_response(
            b'{"error": {"message": "slow down"}}',
            "429 Too Many Requests",
            b"Retry-After: 99999999999999999999\r\nRetry-After-Ms: 1e308\r\n",
        ),
        "keep",
    ),
    # SSE streams
    "sse-garbage": _stream(b"data: this is not json\n\n"),
    "sse-garbage-after-token": _stream(_FIRST, b"data: {{{{\n\n"),
    "sse-no-done": _stream(_FIRST, sse_chunk("tial")),
    "sse-reset-mid-stream": send_then(SSE_HEAD + chunked(_FIRST), "reset", wait=0.05),
    "sse-silent-after-head": send_then(SSE_HEAD, "silent"),
    "sse-silent-mid-stream": send_then(SSE_HEAD + chunked(_FIRST), "silent"),
    "sse-huge-line": _stream(b"data: " + b"x" * (16 << 20)),
    "sse-bad-chunking": send_then(SSE_HEAD + b"ZZ\r\ndata: {}\n\n\r\n0\r\n\r\n"),
    "sse-wrong-types": _stream(
        b'data: {"id": 1, "choices": [{"index": 0, "delta": {"content": 5}}]}\n\n', b"data: [DONE]\n\n"
    ),
    "sse-string-index": _stream(
        b'data: {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",'
        b' "choices": [{"index": "0", "delta": {"content": "x"}, "finish_reason": null}]}\n\n',
        b"data: [DONE]\n\n",
    ),
    # framing that smuggles or that clients must tolerate (RFC 9112 §6.3, RFC 9110 §15.2)
    "length-and-chunked": send_then(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(completion("te"))
        + b"0\r\n\r\n",
        "keep",
    ),
    "two-content-lengths": send_then(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 500\r\n\r\n" + completion("dup"), "close"
    ),
    "http10-close-delimited": send_then(
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + completion("http10"), "close"
    ),
    "folded-header": send_then(
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: %d\r\n\r\n" % len(completion("fold"))
        + completion("fold"),
        "keep",
    ),
    "interim-100": send_then(b"HTTP/1.1 100 Continue\r\n\r\n" + ok_response(completion("after100")), "keep"),
    "no-content-with-body": send_then(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", "keep"),
    # after a complete response: bytes nobody asked for on a keep-alive connection
    "extra-response": send_then(ok_response(completion("first")) + ok_response(completion("SMUGGLED")), "keep"),
    "length-shorter-than-body": send_then(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(completion()) - 1)
        + completion()
        + ok_response(completion("SMUGGLED")),
        "keep",
    ),
}


class HostileServer:
    """Serves ``BEHAVIOURS`` by model name on 127.0.0.1 (an ephemeral port); a context manager."""

    def __init__(self, behaviours: Optional[dict[str, Behaviour]] = None) -> None:
        self.behaviours = dict(BEHAVIOURS if behaviours is None else behaviours)
        self.requests: list[Req] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(512)
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True, name="hostile-accept")
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="hostile-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while True:
                req, buf = _read_request(conn, buf)
                if req is None:
                    break
                with self._lock:
                    self.requests.append(req)
                if not self.behaviours.get(req.model, healthy)(conn, req):
                    break
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def __enter__(self) -> "HostileServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_request(conn: socket.socket, buf: bytes) -> tuple[Optional[Req], bytes]:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        rest += data
    body, rest = rest[:length], rest[length:]
    model, stream = "", False
    try:
        obj = json.loads(body) if body else {}
        model, stream = str(obj.get("model", "")), bool(obj.get("stream"))
    except (ValueError, AttributeError):
        pass
    target = head.split(b" ")[1].decode("latin-1") if head.count(b" ") >= 2 else ""
    if not model and "/models/" in target:  # Gemini: POST .../models/{model}:generateContent
        model = target.split("/models/", 1)[1].split(":", 1)[0]
        stream = "streamGenerateContent" in target
    return Req(head, body, model, stream, headers), rest
