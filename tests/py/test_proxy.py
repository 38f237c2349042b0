"""HTTP proxies in the native client (issue 12): HTTP_PROXY / HTTPS_PROXY / NO_PROXY as httpx reads
them, ``proxy=``, ``http_client=httpx.Client(proxy=...)``, the config's ``proxy:`` key, and
``llmfailover.Transport``; against the fake provider (plain HTTP: forwarding) and nginx over TLS
(a CONNECT tunnel); a proxy that refuses, closes, answers garbage or stays silent; credentials
never in a message, a repr or a log.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from _proxy import LocalProxy, LocalSocks
from llmfailover.testing import FakeProvider
from test_nginx_tls import EXPECTED, MESSAGES, TlsServer, server  # noqa: F401 (the nginx fixture)

SECRET = "s3cret-Pw"
httpx2 = pytest.importorskip("httpx2")


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def proxy() -> Iterator[LocalProxy]:
    with LocalProxy() as p:
        yield p


def client(base_url: str, **kwargs: Any) -> Any:
    return llmfailover.OpenAI(base_url=base_url, api_key="k", max_retries=0, **{"timeout": 5, **kwargs})


def chat(c: Any) -> Any:
    return c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and "czNjcmV0LVB3" not in text, text  # nor its base64


# --- from the environment --------------------------------------------------------------------


def test_http_proxy_forwards_plain_http_in_absolute_form(
    fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with client(fp.base_url) as c:
        assert chat(c).choices[0].message.content
    assert len(proxy.heads) == 1
    assert proxy.heads[0].startswith(f"POST {fp.base_url}/chat/completions HTTP/1.1\r\n"), proxy.heads[0]


def test_https_proxy_tunnels_to_nginx_and_verifies_the_target(
    server: TlsServer,  # noqa: F811
    proxy: LocalProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", proxy.url())
    with client(server.url(), ca_file=str(server.ca)) as c:
        for _ in range(2):  # the second one reuses the tunnelled connection
            assert chat(c).id == EXPECTED["id"]
    assert [h.split("\r\n")[0] for h in proxy.heads] == [f"CONNECT 127.0.0.1:{server.port} HTTP/1.1"]
    # Through the tunnel the certificate is still checked against the target's name.
    with client(server.url(port=server.wrong_host_port), ca_file=str(server.ca)) as c:
        with pytest.raises(llmfailover.APIConnectionError):
            chat(c)


def test_no_proxy_goes_direct(fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.1")
    with client(fp.base_url) as c:
        chat(c)
    assert proxy.connections == 0


def test_trust_env_false_ignores_the_environment(
    fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with client(fp.base_url, trust_env=False) as c:
        chat(c)
    assert proxy.connections == 0


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HTTPS_PROXY", f"socks4://u:{SECRET}@proxy.corp:1080", "socks4"),
        ("HTTP_PROXY", f"socks5://:{SECRET}@proxy.corp:1080", "SOCKS5 user name"),
        ("ALL_PROXY", f"http://u:{SECRET}@proxy.corp:99999", "port"),
        ("https_proxy", f"http://u:{SECRET}@:3128", "no host"),
    ],
)
def test_malformed_proxy_variable_is_a_value_error_naming_it(
    name: str, value: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as info:
        client("http://127.0.0.1:9/v1")
    assert str(info.value).startswith(f"{name}: ") and says in str(info.value), str(info.value)
    assert_no_secret(str(info.value), repr(info.value))


# --- proxy= and credentials --------------------------------------------------------------------


def test_proxy_credentials_are_sent_and_never_shown(fp: FakeProvider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with LocalProxy(auth=("user", SECRET)) as good:
        with client(fp.base_url, proxy=good.url(f"user:{SECRET}")) as c:
            chat(c)
            assert_no_secret(repr(c))
        assert "Proxy-Authorization: Basic dXNlcjpzM2NyZXQtUHc=" in good.heads[0]
        with client("https://127.0.0.1:9/v1", proxy=good.url(f"user:wrong-{SECRET}")) as c:
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    text = str(info.value) + repr(info.value) + str(info.value.__cause__) + caplog.text
    message = str(info.value) + str(info.value.__cause__)  # openai's "Connection error." + the engine's
    assert f"127.0.0.1:{good.port}" in message and "407" in message, message
    assert_no_secret(text)
    assert "wrong-" not in text


@pytest.mark.parametrize(
    ("mode", "says"),
    [("refuse", "status 407"), ("close", "closed the connection"), ("garbage", "not HTTP"), ("silent", "CONNECT")],
)
def test_misbehaving_proxy_is_a_clear_connection_error(mode: str, says: str) -> None:
    with LocalProxy(mode) as bad:
        timeout = llmfailover.Timeout(5, connect=0.5)
        with client("https://127.0.0.1:9/v1", proxy=bad.url(f"u:{SECRET}"), timeout=timeout) as c:
            started = time.monotonic()
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    assert time.monotonic() - started < 5  # the connect timeout covers the CONNECT exchange
    message = str(info.value) + str(info.value.__cause__)
    assert f"http://127.0.0.1:{bad.port}" in message and says in message, message
    assert_no_secret(message, repr(info.value))


# --- http_client= ------------------------------------------------------------------------------


def test_http_client_proxy_is_honoured(fp: FakeProvider, proxy: LocalProxy) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing of it is ignored: no warning
        http_client = httpx2.Client(proxy=httpx2.Proxy(proxy.url(), auth=("user", SECRET)))
        with client(fp.base_url, http_client=http_client) as c:
            chat(c)
            c.models.list()  # with openai installed: openai's own code over the transport
    assert all(h.startswith(("POST http://", "GET http://")) for h in proxy.heads) and len(proxy.heads) == 2
    assert "Proxy-Authorization: Basic dXNlcjpzM2NyZXQtUHc=" in proxy.heads[0]
    http_client.close()


def test_http_client_env_proxies_and_no_proxy_are_carried_over(
    fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with httpx2.Client() as http_client:  # trust_env: the environment's mounts
        monkeypatch.delenv("NO_PROXY")  # read from the httpx client, not the environment again
        with client(fp.base_url, http_client=http_client) as c:
            chat(c)
    assert proxy.connections == 0


def test_what_http_client_cannot_carry_over_warns_naming_it(fp: FakeProvider) -> None:
    hooks = {"request": [lambda request: None], "response": []}
    with httpx2.Client(event_hooks=hooks, headers={"X-Team": "a"}) as http_client:
        with pytest.warns(llmfailover.LlmFailoverWarning, match="event_hooks, headers"):
            client(fp.base_url, http_client=http_client).close()


def test_http_client_socks_proxy_is_carried_over_with_its_credentials(fp: FakeProvider) -> None:
    # What httpx mounts for proxy="socks5://user:pw@..." (it needs socksio, not installed here): a
    # transport whose pool is httpcore's SOCKSProxy, credentials in _proxy_auth.
    with LocalSocks(auth=("user", SECRET)) as socks:

        class SOCKSProxy:
            _proxy_url = type("URL", (), {"scheme": b"socks5", "host": b"127.0.0.1", "port": socks.port})()
            _proxy_auth = (b"user", SECRET.encode())

        class Pattern:
            pattern = "all://"

        transport = type("HTTPTransport", (), {"_pool": SOCKSProxy()})()
        http_client = type("Client", (), {"_mounts": {Pattern(): transport}})()
        with pytest.warns(llmfailover.LlmFailoverWarning, match="transport"):  # the fake transport itself
            c = client(fp.base_url, http_client=http_client)
        with c:
            chat(c)
    assert socks.requests == [(1, "127.0.0.1")]


def test_http_client_verify_false_is_honoured(server: TlsServer) -> None:  # noqa: F811
    with httpx2.Client(verify=False) as http_client:
        with client(server.url(port=server.wrong_host_port), http_client=http_client) as c:
            assert chat(c).id == EXPECTED["id"]


# --- llmfailover.Transport and the router config ----------------------------------------------


def test_transport_reads_the_environment(fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with httpx2.Client(transport=llmfailover.Transport(max_retries=0), base_url=fp.base_url) as http:
        assert http.get("/models").status_code == 200
    assert proxy.heads[0].startswith(f"GET {fp.base_url}/models HTTP/1.1"), proxy.heads[0]
    with pytest.raises(ValueError, match="^proxy: "):
        llmfailover.Transport(proxy="ftp://nowhere")


def test_config_proxy_per_deployment_and_at_the_top(fp: FakeProvider, proxy: LocalProxy) -> None:
    def config(**top: Any) -> dict[str, Any]:
        via = {"provider": "openai", "model": "m", "base_url": fp.base_url, "api_key": "k"}
        return {
            **top,
            "groups": {
                "proxied": {"deployments": [{**via, "proxy": proxy.url()}]},
                "direct": {"deployments": [{**via, "proxy": ""}]},
                "default": {"deployments": [via]},
            },
        }

    with llmfailover.OpenAI(config=config()) as c:
        for group in ("proxied", "direct", "default"):
            c.chat.completions.create(model=group, messages=MESSAGES)
    assert len(proxy.heads) == 1
    with llmfailover.OpenAI(config=config(proxy=proxy.url())) as c:
        for group in ("proxied", "direct", "default"):
            c.chat.completions.create(model=group, messages=MESSAGES)
    assert len(proxy.heads) == 3  # the top-level proxy serves "default"; "" stays direct
    bad = config()
    bad["groups"]["proxied"]["deployments"][0]["proxy"] = f"socks4://u:{SECRET}@host"
    with pytest.raises(llmfailover.ConfigError) as info:
        llmfailover.OpenAI(config=bad)
    assert "groups.proxied.deployments[0].proxy" in str(info.value), str(info.value)
    assert_no_secret(str(info.value))
    dumped = json.dumps(llmfailover.load_config(config(proxy=f"http://u:{SECRET}@h:1")).to_dict())
    assert "http://h:1" in dumped
    assert_no_secret(dumped)


def test_copy_with_a_new_http_client_warns_instead_of_dropping_it(fp: FakeProvider) -> None:
    with client(fp.base_url) as c, httpx2.Client() as other:
        with pytest.warns(llmfailover.LlmFailoverWarning, match="new http_client"):
            c.with_options(http_client=other)


def test_async_client_and_transport_use_the_environment(
    fp: FakeProvider, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("HTTP_PROXY", proxy.url())

    async def main() -> None:
        async with llmfailover.AsyncOpenAI(base_url=fp.base_url, api_key="k", max_retries=0) as c:
            stream = await c.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            assert [chunk async for chunk in stream]
        transport = llmfailover.AsyncTransport(max_retries=0)
        async with httpx2.AsyncClient(transport=transport, base_url=fp.base_url) as http:
            assert (await http.get("/models")).status_code == 200

    asyncio.run(main())
    assert [h.split(" ")[0] for h in proxy.heads] == ["POST", "GET"]


def test_http_client_ca_certificates_are_named_not_dropped(server: TlsServer) -> None:  # noqa: F811
    import ssl

    context = ssl.create_default_context(cafile=str(server.ca))
    with httpx2.Client(verify=context) as http_client:
        with pytest.warns(llmfailover.LlmFailoverWarning, match="CA certificates: pass ca_file="):
            client(server.url(), http_client=http_client).close()
