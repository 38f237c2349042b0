"""The stream hand-off (issue 14): SSE data crosses into Python as one list of bytes per wake-up
(``Call.wait_stream``), the transport wakes the caller once per read and hands the first events
over at once. Hostile upstreams: events split across reads, a burst of thousands of events in one
write, an event larger than a read, a peer that stalls after the first event or is cut mid-stream;
and call doubles feeding batches that mix the data with the head, errors and the end."""

from __future__ import annotations

import socket
import threading
from typing import Any, Optional

import llmfailover
import pytest
from _hostile import SSE_HEAD, HostileServer, Req, chunked, sse_chunk
from llmfailover._compat import response_types
from llmfailover._exchange import Exchange
from llmfailover._http import Request
from llmfailover._streaming import Stream
from llmfailover.errors import APIConnectionError, APIError, APIResponseValidationError

CHUNK = response_types()["ChatCompletionChunk"]


def data_of(text: str) -> bytes:
    return sse_chunk(text)[len(b"data: ") : -2]


class BatchCall:
    """A native call double that answers ``wait_stream`` with the given batches, then ([], [])."""

    finished = False
    retries_taken = 0

    def __init__(self, batches: list[tuple[list[Any], list[bytes]]]) -> None:
        self.batches = list(batches)
        self.cancelled = False

    def wait_stream(self, timeout: Optional[float] = None) -> tuple[list[Any], list[bytes]]:
        return self.batches.pop(0) if self.batches else ([], [])

    def wait(self, timeout: Optional[float] = None, until_end: bool = False) -> list[Any]:
        raise AssertionError("a stream over a native call takes wait_stream()")

    def poll(self) -> list[Any]:
        return []

    def cancel(self) -> None:
        self.cancelled = True


def stream_of(call: Any, first: Optional[list[Any]] = None) -> Stream[Any]:
    ex = Exchange(Request("POST", "http://upstream/v1/chat/completions"))
    ex.feed([("head", 200, [("content-type", "text/event-stream")])] + (first or []))
    return Stream(call=call, exchange=ex, cast_to=CHUNK, strict=False)


def texts(s: Stream[Any]) -> list[str]:
    return [c.choices[0].delta.content for c in s]


def test_batches_of_data_in_order_with_time_outs_between() -> None:
    call = BatchCall(
        [
            ([], []),  # a wait slice that timed out
            ([], [data_of("a"), data_of("b")]),
            ([], []),
            ([], [data_of("c"), b"[DONE]"]),
        ]
    )
    assert texts(stream_of(call)) == ["a", "b", "c"]


def test_data_fed_before_the_stream_comes_first() -> None:
    # create() took the head and the first events with wait(): their data is read before the batches.
    first = [("sse", "", data_of("a"), ""), ("sse", "message", data_of("b"), "7")]
    call = BatchCall([([], [data_of("c"), b"[DONE]"])])
    assert texts(stream_of(call, first)) == ["a", "b", "c"]


def test_nothing_is_read_after_close_though_data_was_waiting() -> None:
    first = [("sse", "", data_of("a"), ""), ("sse", "", data_of("b"), "")]
    call = BatchCall([([], [data_of("c")])])
    s = stream_of(call, first)
    it = iter(s)
    assert next(it).choices[0].delta.content == "a"
    s.close()
    assert call.cancelled
    with pytest.raises(StopIteration):
        next(it)


def test_done_mid_batch_stops_there_and_the_rest_is_dropped() -> None:
    call = BatchCall([([("end",)], [data_of("a"), b"[DONE]", data_of("never")])])
    s = stream_of(call)
    assert texts(s) == ["a"]
    assert not s._sse  # nothing held after the end


def test_a_cut_stream_is_never_a_success() -> None:
    call = BatchCall(
        [([("error", "connection_closed", "connection closed by upstream before the end")], [data_of("a")])]
    )
    s = stream_of(call)
    it = iter(s)
    assert next(it).choices[0].delta.content == "a"  # the data of the batch comes before its end
    with pytest.raises(APIConnectionError):
        next(it)


def test_an_end_without_done_just_ends() -> None:
    call = BatchCall([([], [data_of("a")]), ([("end",)], [])])
    assert texts(stream_of(call)) == ["a"]


def test_an_error_event_in_a_batch_raises() -> None:
    call = BatchCall([([], [data_of("a"), b'{"error":{"message":"boom","type":"server_error"}}', data_of("b")])])
    it = iter(stream_of(call))
    assert next(it).choices[0].delta.content == "a"
    with pytest.raises(APIError, match="boom"):
        next(it)
    assert call.cancelled


def test_blank_and_garbage_data_in_a_batch() -> None:
    call = BatchCall([([], [b"", b"   ", data_of("a"), b"{not json"]), ([("end",)], [])])
    it = iter(stream_of(call))
    assert next(it).choices[0].delta.content == "a"
    with pytest.raises(APIResponseValidationError):  # not JSON: refused, as parse_model refuses it
        next(it)


def test_an_interrupt_while_waiting_cancels_the_call() -> None:
    class Interrupted(BatchCall):
        def wait_stream(self, timeout: Optional[float] = None) -> tuple[list[Any], list[bytes]]:
            raise KeyboardInterrupt

    call = Interrupted([])
    with pytest.raises(KeyboardInterrupt):
        next(iter(stream_of(call)))
    assert call.cancelled


# --- against a raw socket upstream -------------------------------------------------------------


def serve(behaviour: Any) -> HostileServer:
    return HostileServer({"h": behaviour})


def client_for(server: HostileServer, **kw: Any) -> llmfailover.OpenAI:
    return llmfailover.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, **kw)


def create(client: llmfailover.OpenAI) -> Any:
    return client.chat.completions.create(model="h", messages=[{"role": "user", "content": "x"}], stream=True)


def test_a_burst_of_thousands_of_events_in_one_write() -> None:
    n = 5000

    def burst(conn: socket.socket, req: Req) -> bool:
        body = b"".join(sse_chunk(f"t{i}") for i in range(n)) + b"data: [DONE]\n\n"
        conn.sendall(SSE_HEAD + chunked(body) + b"0\r\n\r\n")
        return True

    with serve(burst) as server:
        got = [c.choices[0].delta.content for c in create(client_for(server))]
    assert got == [f"t{i}" for i in range(n)]


def test_events_split_across_reads_and_an_event_larger_than_a_read() -> None:
    big = "x" * (100 * 1024)  # one event of ~100 KB: several 16 KiB reads

    def split(conn: socket.socket, req: Req) -> bool:
        wire = sse_chunk("a") + sse_chunk(big) + sse_chunk("b") + b"data: [DONE]\n\n"
        conn.sendall(SSE_HEAD)
        for i in range(0, len(wire), 7001):  # cuts inside lines, inside "data:", inside the CRLF framing
            conn.sendall(chunked(wire[i : i + 7001]))
        conn.sendall(b"0\r\n\r\n")
        return True

    with serve(split) as server:
        got = [c.choices[0].delta.content for c in create(client_for(server))]
    assert got == ["a", big, "b"]


def test_the_first_event_arrives_while_the_peer_stalls() -> None:
    # The peer sends the head and one event, then waits until the caller has that event: a first
    # chunk held back until the read after it (or the end) would never arrive, and this would time out.
    caller_has_it = threading.Event()

    def stall(conn: socket.socket, req: Req) -> bool:
        conn.sendall(SSE_HEAD + chunked(sse_chunk("first")))
        caller_has_it.wait(20)
        conn.sendall(chunked(sse_chunk("second") + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        return True

    with serve(stall) as server:
        it = iter(create(client_for(server, timeout=15)))
        assert next(it).choices[0].delta.content == "first"
        assert not caller_has_it.is_set()  # it came while the peer was still stalling
        caller_has_it.set()
        assert [c.choices[0].delta.content for c in it] == ["second"]


def test_a_stream_cut_after_the_first_event_raises() -> None:
    def cut(conn: socket.socket, req: Req) -> bool:
        conn.sendall(SSE_HEAD + chunked(sse_chunk("first") + b'data: {"id":"trunc'))
        conn.shutdown(socket.SHUT_RDWR)
        return False

    with serve(cut) as server:
        it = iter(create(client_for(server)))
        assert next(it).choices[0].delta.content == "first"
        with pytest.raises(APIConnectionError):
            next(it)


def test_a_stream_closed_mid_burst_cancels_and_the_client_stays_usable() -> None:
    def burst(conn: socket.socket, req: Req) -> bool:
        body = b"".join(sse_chunk(f"t{i}") for i in range(2000)) + b"data: [DONE]\n\n"
        conn.sendall(SSE_HEAD + chunked(body) + b"0\r\n\r\n")
        return True

    with serve(burst) as server:
        client = client_for(server)
        s = create(client)
        assert next(iter(s)).choices[0].delta.content == "t0"
        s.close()
        assert len(list(create(client))) == 2000
