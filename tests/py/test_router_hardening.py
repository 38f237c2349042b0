"""Routed mode against a hostile upstream that echoes the request it got (issue 10 item 8): the
key, an extra credential header and a ``?key=`` query value never reach ``str(e)``, ``e.body``,
the response text or the route log, plain or streamed. The router scrubs them in C++
(cpp/include/llmfailover/secret_set.hpp); this checks what the Python caller finally sees."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any, Iterator

import pytest
from llmfailover import APIStatusError, OpenAI

KEY = "sk-live-0123456789abcdefSECRET"
EXTRA = "extra-token-9876543210"
QUERY_KEY = "query-key-5555aaaa"


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    conn.settimeout(2)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def echo() -> Iterator[str]:
    """A server on 127.0.0.1:0 answering every request with a 503 whose body and x-echo header
    repeat the request (request line, headers, body)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    request = _read_request(conn).decode("latin-1")
                except OSError:
                    continue
                body = json.dumps({"error": {"message": request, "type": "server_error"}}).encode()
                head = (
                    f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nx-echo: {KEY}\r\nConnection: close\r\n\r\n"
                )
                try:
                    conn.sendall(head.encode() + body)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def _client(url: str) -> OpenAI:
    config: dict[str, Any] = {
        "groups": {
            "solo": {
                "deployments": [{"id": "s", "model": "m-s", "base_url": f"{url}/v1", "api_key": KEY}],
                "policy": {"retry": {"max_attempts": 1}, "timeouts": {"first_token": "2s", "deadline": "5s"}},
            }
        }
    }
    return OpenAI(config=config)


@pytest.mark.parametrize("stream", [False, True])
def test_an_echoed_key_never_reaches_the_caller(echo: str, stream: bool) -> None:
    client = _client(echo)
    try:
        with pytest.raises(APIStatusError) as err:
            result = client.chat.completions.create(
                model="solo",
                messages=[{"role": "user", "content": "hi"}],
                stream=stream,
                extra_headers={"X-Custom-Auth": EXTRA},
                extra_query={"key": QUERY_KEY},
            )
            if stream:
                list(result)
        e = err.value
        assert e.status_code == 503
        route = getattr(e, "route", None)
        seen = "\n".join([str(e), repr(e.body), e.response.text, str(dict(e.response.headers)), repr(route)])
        assert "***" in seen, seen  # the echo arrived, scrubbed
        for secret in (KEY, "0123456789abcdef", EXTRA, QUERY_KEY):
            assert secret not in seen, secret
    finally:
        client.close()
