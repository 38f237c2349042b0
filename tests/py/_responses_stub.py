"""A local Responses API upstream for tests: POST .../responses answers one fixed response, as
JSON, or with ``"stream": true`` as the Responses event stream (created, one text delta per
word, completed; for model "gpt-cut" the stream ends before completed). ``seen`` holds each
request's path and JSON body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEXT = "Hello from responses."
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "model": "gpt-x",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": TEXT, "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 3,
        "output_tokens": 3,
        "total_tokens": 6,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
}


def _events() -> list[tuple[str, dict[str, Any]]]:
    words = TEXT.split(" ")
    deltas = [w if i == 0 else " " + w for i, w in enumerate(words)]
    out = [("response.created", {"response": {**RESPONSE, "status": "in_progress", "output": []}})]
    out += [
        (
            "response.output_text.delta",
            {"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": d, "logprobs": []},
        )
        for d in deltas
    ]
    out.append(("response.completed", {"response": RESPONSE}))
    return [(name, {"type": name, "sequence_number": i, **body}) for i, (name, body) in enumerate(out)]


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "body": body})
        if body.get("stream"):
            events = _events()[:-1] if body.get("model") == "gpt-cut" else _events()
            data = b"".join(f"event: {name}\ndata: {json.dumps(ev)}\n\n".encode() for name, ev in events)
            ctype = "text/event-stream"
        else:
            data, ctype = json.dumps(RESPONSE).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def responses_upstream() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(base_url, seen) of a server on a free port, stopped on exit."""
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
