"""Writes the seed corpora in fuzz/corpus/<target>/ from the test fixtures and the docs.

    .venv/bin/python fuzz/make_corpus.py

Sources: tests/cpp/fixtures/providers/*/{response,stream}_*.json (provider answers and streams),
bedrock/eventstream_frames.jsonl (event-stream frames, good and bad), the JSON documents inside
tests/cpp/config*_test.cpp raw strings, and the YAML examples of README.md and docs/config.md
(turned into JSON, as the Python layer does). Each seed starts with the control bytes its target
reads (fuzz/fuzz_*.cpp); the split byte varies so the seeds cover one-byte and bulk feeds.
Re-run after changing fixtures; the output is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
import struct
import zlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/cpp/fixtures/providers"
OUT = ROOT / "fuzz/corpus"
# The order of kProviders and Mode in fuzz_provider.cpp.
PROVIDERS = ["openai", "azure", "anthropic", "gemini", "vertex", "bedrock", "cohere", "mistral"]
CHAT, EMBEDDINGS, STREAM, CLASSIFY, RETRY_HINT, OPENAI_ERRORS = range(6)
SPLITS = [0x00, 0x07, 0x3F, 0x45]  # 1-byte pieces, 8-byte pieces, 64-byte pieces, uneven


def sse_text(events: list) -> bytes:
    out = []
    for event, data in events:
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        if event:
            out.append(f"event: {event}\n")
        out.append(f"data: {text}\n\n")
    return "".join(out).encode()


def frame(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One AWS event-stream message with string headers (eventstream.hpp's layout)."""
    hdr = b"".join(bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode() for n, v in headers)
    total = 16 + len(hdr) + len(payload)
    prelude = struct.pack(">II", total, len(hdr))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + hdr + payload
    return body + struct.pack(">I", zlib.crc32(body))


def bedrock_stream(events: list) -> bytes:
    out = b""
    for event, data in events:
        kind = "exception" if event.endswith("Exception") else "event"
        type_header = ":exception-type" if kind == "exception" else ":event-type"
        headers = [(type_header, event), (":content-type", "application/json"), (":message-type", kind)]
        out += frame(headers, json.dumps(data).encode())
    return out


class Corpus:
    def __init__(self) -> None:
        shutil.rmtree(OUT, ignore_errors=True)
        self.counts: dict[str, int] = {}

    def add(self, target: str, data: bytes) -> None:
        d = OUT / target
        d.mkdir(parents=True, exist_ok=True)
        (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)
        self.counts[target] = self.counts.get(target, 0) + 1


def provider_seeds(c: Corpus) -> None:
    for path in sorted(FIXTURES.glob("*/*.json")):
        fx = json.loads(path.read_text())
        name = fx.get("provider")
        if name not in PROVIDERS:
            continue
        p = PROVIDERS.index(name)
        if fx.get("kind") == "response":
            c.add("fuzz_provider", bytes([p, CHAT, 0, 0]) + json.dumps(fx["body"]).encode())
        elif fx.get("kind") == "stream":
            events = fx["events"]
            raw = bedrock_stream(events) if name == "bedrock" else sse_text(events)
            for flags, split in ((1, SPLITS[3]), (2, SPLITS[1])):
                c.add("fuzz_provider", bytes([p, STREAM, flags, split]) + raw)
            if name != "bedrock":
                for split in SPLITS:
                    c.add("fuzz_sse", bytes([split]) + raw)
                c.add("fuzz_http_response", http_response(raw, chunked=True, sse=True))
            else:
                c.add("fuzz_eventstream", bytes([SPLITS[3]]) + raw)
    # Error bodies, for classify / retry hints / the OpenAI classifiers.
    errors = [
        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
        {
            "error": {
                "message": "maximum context length is 8192 tokens",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "quota",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}],
            }
        },
        {"message": "Too many requests"},
    ]
    for i, body in enumerate(errors):
        raw = json.dumps(body).encode()
        for p in (0, 2, 3, 5, 6):
            c.add("fuzz_provider", bytes([p, CLASSIFY, 29 + i, i & 1]) + raw)
        c.add("fuzz_provider", bytes([3, RETRY_HINT, 0, 0]) + raw)
        c.add("fuzz_provider", bytes([0, OPENAI_ERRORS, 29, 0]) + raw)
    c.add(
        "fuzz_provider",
        bytes([0, EMBEDDINGS, 0, 0])
        + json.dumps(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "model": "m",
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode(),
    )
    c.add("fuzz_provider", bytes([3, EMBEDDINGS, 0, 0]) + b'{"embeddings": [{"values": [0.1, 0.2]}]}')


def eventstream_seeds(c: Corpus) -> None:
    for line in (FIXTURES / "bedrock/eventstream_frames.jsonl").read_text().splitlines():
        raw = bytes.fromhex(json.loads(line)["hex"])
        for split in SPLITS[:2]:
            c.add("fuzz_eventstream", bytes([split]) + raw)


def http_response(body: bytes, *, chunked: bool, sse: bool, status: str = "200 OK") -> bytes:
    ctype = "text/event-stream" if sse else "application/json"
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
    if chunked:
        step = 37
        parts = [body[i : i + step] for i in range(0, len(body), step)]
        payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        return bytes([0x45]) + (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + payload
    return bytes([0x07]) + (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def http_seeds(c: Corpus) -> None:
    body = b'{"id":"c1","object":"chat.completion","choices":[]}'
    c.add("fuzz_http_response", http_response(body, chunked=False, sse=False))
    c.add("fuzz_http_response", http_response(body, chunked=True, sse=False, status="429 Too Many Requests"))
    c.add(
        "fuzz_http_response",
        bytes([0x3F]) + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
        b"Content-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {}\n\ndata: [DONE]\n\n",
    )
    c.add(
        "fuzz_http_response",
        bytes([0x00]) + b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\n"
        b"Content-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n\r\n",
    )
    c.add(
        "fuzz_http_response",
        bytes([0x07]) + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: text/event-stream\r\n\r\n5;ext=1\r\ndata:\r\n0\r\nTrailer: x\r\n\r\n",
    )


def sse_seeds(c: Corpus) -> None:
    for text in [
        b"\xef\xbb\xbfdata: bom\n\n",
        b"data: a\r\ndata: b\r\n\r\n",
        b"data: cr\rdata: only\r\r",
        b": comment\nevent: e\nid: 7\nretry: 1500\ndata: x\n\n",
        b"data\n\ndata:\n\ndata: no end",
        b"id: a\x00b\ndata: nul\n\n",
        b"retry: 12x\nretry: -1\ndata: [DONE]\n\n",
    ]:
        for split in SPLITS:
            c.add("fuzz_sse", bytes([split]) + text)


def config_seeds(c: Corpus) -> None:
    for path in sorted(ROOT.glob("tests/cpp/config*_test.cpp")):
        for m in re.finditer(r'R"(\w*)\((.*?)\)\1"', path.read_text(), re.S):
            text = m.group(2)
            try:
                json.loads(text)
            except ValueError:
                continue
            c.add("fuzz_config", text.encode())
    for path in (ROOT / "README.md", ROOT / "docs/config.md"):
        for m in re.finditer(r"```yaml\n(.*?)```", path.read_text(), re.S):
            try:
                doc = yaml.safe_load(m.group(1))
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict):
                c.add("fuzz_config", json.dumps(doc).encode())


def regressions() -> None:
    """Inputs that once crashed a target, kept as `regression-*` seeds that every smoke run replays:
    issue 10 item 2, JSON nested far deeper than any answer needs, and a number too large for a
    double in a config. (The issue's 1M-deep config is 2 MB, too big to keep.)"""
    depth = 100_000
    nested = "[" * depth + "]" * depth
    tool_use = (
        '{"id":"m","type":"message","role":"assistant","model":"c","stop_reason":"tool_use",'
        '"usage":{"input_tokens":1,"output_tokens":1},"content":[{"type":"tool_use","id":"t","name":"f",'
        '"input":{"a":' + nested + "}}]}"
    )
    function_call = (
        '{"candidates":[{"index":0,"finishReason":"STOP","content":{"role":"model","parts":'
        '[{"functionCall":{"name":"f","args":{"a":' + nested + "}}}]}}]}"
    )
    files = {
        "fuzz_provider/regression-issue10-item2-anthropic-deep-tool-input": bytes([2, CHAT, 0, 0]) + tool_use.encode(),
        "fuzz_provider/regression-issue10-item2-gemini-deep-function-args": bytes([3, CHAT, 0, 0])
        + function_call.encode(),
    }
    files["fuzz_config/regression-number-overflow"] = (
        b'{"groups": {"a": {"deployments": [{"model": "m", "weight": 1e999}]}}}\n'
    )
    for name, data in files.items():
        path = ROOT / "fuzz/corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main() -> None:
    c = Corpus()
    provider_seeds(c)
    eventstream_seeds(c)
    http_seeds(c)
    sse_seeds(c)
    config_seeds(c)
    regressions()  # after the corpus is laid anew
    for target, n in sorted(c.counts.items()):
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
