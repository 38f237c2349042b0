"""Server-sent events back to bytes: the engine parses event streams and keeps no raw bytes, so
raw-body readers (``Transport``, ``with_streaming_response`` iterators) re-serialise them."""

from __future__ import annotations

__all__ = ["serialise_sse"]


def serialise_sse(event: str, data: bytes, event_id: str = "") -> bytes:
    """One event in the text/event-stream format (WHATWG HTML, "Server-sent events",
    https://html.spec.whatwg.org/multipage/server-sent-events.html): ``event:``/``id:`` lines,
    one ``data:`` line per line of data, and a blank line."""
    head = (b"event: " + event.encode() + b"\n") if event else b""
    if event_id:
        head += b"id: " + event_id.encode() + b"\n"
    return head + b"".join(b"data: " + line + b"\n" for line in data.split(b"\n")) + b"\n"
