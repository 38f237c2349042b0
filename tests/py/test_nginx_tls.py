"""End to end over real TLS: llmfailover.OpenAI against nginx with a certificate from a test CA.

One nginx (tests/fixtures/nginx_tls.conf.template) serves fixed bodies on two ports: one with a
cert for 127.0.0.1/localhost, one with a cert for wrong.invalid only. `/v1/...` answers a fixed
ChatCompletion, `/stream/v1/...` a fixed SSE stream ending in `data: [DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llmfailover
import pytest
from _servers import FIXTURES, ServerProcess, free_port, make_tls_material, render, start_nginx

MESSAGES = [{"role": "user", "content": "Say hello."}]
EXPECTED = json.loads((FIXTURES / "chat_completion.json").read_text())
STREAM_TEXT = "Hello from nginx over TLS."


@dataclass
class TlsServer:
    port: int
    wrong_host_port: int
    ca: Path
    nginx: ServerProcess

    def url(self, path: str = "/v1", port: int = 0) -> str:
        return f"https://127.0.0.1:{port or self.port}{path}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    root = tmp_path_factory.mktemp("nginx-tls")
    tls = make_tls_material(root / "tls")
    prefix = root / "nginx"
    prefix.mkdir()
    render(FIXTURES / "nginx_routes.conf.template", prefix / "routes.conf", FIXTURES=FIXTURES)
    port, wrong = free_port(), free_port()
    nginx = start_nginx(
        FIXTURES / "nginx_tls.conf.template",
        prefix,
        [port, wrong],
        PORT=port,
        PORT_WRONG_HOST=wrong,
        CERT=tls["cert"],
        KEY=tls["key"],
        WRONG_CERT=tls["wrong_cert"],
        WRONG_KEY=tls["wrong_key"],
    )
    try:
        yield TlsServer(port, wrong, tls["ca"], nginx)
    finally:
        nginx.stop()


def make_client(base_url: str, **kwargs: Any) -> Any:
    return llmfailover.OpenAI(base_url=base_url, api_key="test-key", max_retries=0, timeout=10, **kwargs)


def test_chat_with_ca_file(server: TlsServer) -> None:
    with make_client(server.url(), ca_file=str(server.ca)) as client:
        for _ in range(3):  # the later ones reuse the pooled TLS connection
            completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert completion.id == EXPECTED["id"]
            assert completion.choices[0].message.content == EXPECTED["choices"][0]["message"]["content"]
            assert completion.usage.total_tokens == EXPECTED["usage"]["total_tokens"]


def test_stream_with_ca_file(server: TlsServer) -> None:
    with make_client(server.url("/stream/v1"), ca_file=str(server.ca)) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == STREAM_TEXT
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 16
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_untrusted_certificate_is_rejected(server: TlsServer) -> None:
    with make_client(server.url()) as client:  # system trust store only: the test CA is unknown
        with pytest.raises(llmfailover.APIConnectionError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_wrong_hostname_is_rejected(server: TlsServer) -> None:
    # Trusted CA, but the certificate names wrong.invalid, not 127.0.0.1.
    with make_client(server.url(port=server.wrong_host_port), ca_file=str(server.ca)) as client:
        with pytest.raises(llmfailover.APIConnectionError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_verify_false_accepts_any_certificate(server: TlsServer) -> None:
    for port in (server.port, server.wrong_host_port):
        with make_client(server.url(port=port), verify=False) as client:
            completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert completion.id == EXPECTED["id"]
