"""A toy OpenAI embeddings server whose vectors the tests control (the semantic cache's tests and
bench/cache_bench.py). FakeProvider's embeddings are a hash of the text, so paraphrases are not
similar; here each known word adds 1 to its concept's axis (synonyms share an axis) and the
vector is normalised by the cache, so "What is the capital of France?" and "Tell me the French
capital, please" embed alike (cosine 1.0) and "... of Germany?" does not (cosine 0.5).

``fail_with = 503`` makes every request fail, ``delay`` delays each; ``requests`` counts them. Stdlib only, threaded,
127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

CONCEPTS: dict[str, int] = {
    "capital": 0,
    "city": 0,
    "france": 1,
    "french": 1,
    "germany": 2,
    "german": 2,
    "weather": 3,
    "forecast": 3,
    "not": 4,
    "hello": 5,
    "hi": 5,
}
DIMENSIONS = 8  # the last axis: texts with no known word


def embed(text: str) -> list[float]:
    v = [0.0] * DIMENSIONS
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in CONCEPTS:
            v[CONCEPTS[word]] += 1.0
    if not any(v):
        v[-1] = 1.0
    return v


class Embedder:
    """``with Embedder() as e:`` serves ``POST /v1/embeddings`` at ``e.base_url``."""

    def __init__(self) -> None:
        self.fail_with: Optional[int] = None
        self.delay = 0.0  # seconds before each answer
        self.requests = 0
        self.inputs: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # head and body are two writes: without this, Nagle + delayed ACK add 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                owner.requests += 1
                time.sleep(owner.delay)
                if owner.fail_with is not None:
                    return self._send(owner.fail_with, {"error": {"message": "down", "type": "server_error"}})
                texts = body.get("input")
                texts = [texts] if isinstance(texts, str) else list(texts or [])
                owner.inputs.extend(texts)
                data = [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(texts)]
                n = sum(len(t.split()) for t in texts)
                usage = {"prompt_tokens": n, "total_tokens": n}
                self._send(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})

            def _send(self, status: int, obj: Any) -> None:
                raw = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Embedder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
