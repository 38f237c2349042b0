"""SOCKS5 proxies (socks5:// and socks5h://, RFC 1928 + RFC 1929 credentials) and https:// proxies
(TLS to the proxy, then CONNECT inside it) through the native engine, from the environment,
``proxy=`` and the config; against the test servers of ``_proxy.py`` (misbehaving ones too) and
against pproxy, a SOCKS5 server we did not write.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llmfailover
import pytest
from _proxy import LocalProxy, LocalSocks
from _servers import make_tls_material
from llmfailover.testing import FakeProvider
from test_nginx_tls import EXPECTED, MESSAGES, TlsServer, server  # noqa: F401 (the nginx fixture)

SECRET = "s3cret-Pw"


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_tls_material(tmp_path_factory.mktemp("proxy-tls"))


def server_context(tls: dict[str, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls["cert"]), str(tls["key"]))
    return context


def client(base_url: str, **kwargs: Any) -> Any:
    return llmfailover.OpenAI(base_url=base_url, api_key="sk-proxy-test", max_retries=0, **{"timeout": 5, **kwargs})


def chat(c: Any) -> Any:
    return c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def message_of(error: BaseException) -> str:
    return str(error) + str(error.__cause__)  # openai's "Connection error." + the engine's


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text


# --- SOCKS5 ------------------------------------------------------------------------------------


def test_socks5_resolves_locally_and_socks5h_leaves_the_name_to_the_proxy(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalSocks() as socks:
        monkeypatch.setenv("ALL_PROXY", socks.url())
        with client(localhost(fp.base_url)) as c:
            assert chat(c).choices[0].message.content
        kind, address = socks.requests[0]
        assert kind in (1, 4) and address in ("127.0.0.1", "::1"), socks.requests  # an address, not the name
        monkeypatch.setenv("ALL_PROXY", socks.url(scheme="socks5h"))
        with client(localhost(fp.base_url)) as c:
            chat(c)
            chat(c)  # the tunnelled connection is reused
        assert socks.requests[1:] == [(3, "localhost")], socks.requests
    assert len(fp.attempts()) == 3


def test_socks5_tunnels_tls_to_nginx_and_verifies_the_target(server: TlsServer) -> None:  # noqa: F811
    with LocalSocks() as socks:
        with client(server.url(), ca_file=str(server.ca), proxy=socks.url(scheme="socks5h")) as c:
            assert chat(c).id == EXPECTED["id"]
        with client(server.url(port=server.wrong_host_port), ca_file=str(server.ca), proxy=socks.url()) as c:
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    assert "TLS handshake" in message_of(info.value), message_of(info.value)


def test_socks5_credentials_rfc1929_and_never_shown(fp: FakeProvider) -> None:
    with LocalSocks(auth=("user", SECRET)) as socks:
        with client(fp.base_url, proxy=socks.url(f"user:{SECRET}")) as c:
            chat(c)
            assert_no_secret(repr(c))
        with client(fp.base_url, proxy=socks.url(f"user:wrong-{SECRET}")) as c:
            with pytest.raises(llmfailover.APIConnectionError) as wrong:
                chat(c)
        with client(fp.base_url, proxy=socks.url()) as c:
            with pytest.raises(llmfailover.APIConnectionError) as missing:
                chat(c)
    assert "refused the credentials" in message_of(wrong.value), message_of(wrong.value)
    assert "wants credentials" in message_of(missing.value), message_of(missing.value)
    assert f"socks5://127.0.0.1:{socks.port}" in message_of(wrong.value)
    assert_no_secret(message_of(wrong.value), repr(wrong.value))
    assert "wrong-" not in message_of(wrong.value)


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("refuse", "wants credentials"),
        ("close", "closed the connection"),
        ("garbage", "not SOCKS5"),
        ("wrong_version", "not SOCKS5"),
        ("silent", "connect_timeout"),
        ("unreachable", "host unreachable"),
    ],
)
def test_misbehaving_socks_proxy_is_a_clear_connection_error(mode: str, says: str) -> None:
    with LocalSocks(mode) as bad:
        timeout = llmfailover.Timeout(5, connect=0.5)
        with client("https://127.0.0.1:9/v1", proxy=bad.url(), timeout=timeout) as c:
            started = time.monotonic()
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    assert time.monotonic() - started < 4  # the connect timeout covers the SOCKS handshake
    message = message_of(info.value)
    assert f"socks5://127.0.0.1:{bad.port}" in message and says in message, message


def test_config_proxy_takes_socks5(fp: FakeProvider) -> None:
    with LocalSocks() as socks:
        config = {
            "groups": {"g": {"deployments": [{"id": "a", "model": "m", "base_url": fp.base_url, "api_key": "k"}]}},
            "proxy": socks.url(scheme="socks5h"),
        }
        with llmfailover.OpenAI(config=config) as c:
            c.chat.completions.create(model="g", messages=MESSAGES)
    assert socks.requests == [(1, "127.0.0.1")]  # an IP literal target goes as an address


def test_socks5_against_pproxy_with_credentials(fp: FakeProvider) -> None:
    pproxy = str(Path(sys.executable).with_name("pproxy"))  # installed by the test extra
    process = subprocess.Popen(
        [pproxy, "-l", f"socks5://127.0.0.1:0#user:{SECRET}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Serving on ipv? 127.0.0.1:PORT by socks5"
        port = int(line.split("127.0.0.1:")[1].split()[0])
        # Wrong credentials first: once an address authenticated, pproxy trusts it for a while.
        with client(fp.base_url, proxy=f"socks5://user:wrong@127.0.0.1:{port}") as c:
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
        assert f"socks5://127.0.0.1:{port}" in message_of(info.value), message_of(info.value)
        assert fp.attempts() == []
        with client(fp.base_url, proxy=f"socks5h://user:{SECRET}@127.0.0.1:{port}") as c:
            assert chat(c).choices[0].message.content
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]


# --- https:// proxies --------------------------------------------------------------------------


def test_https_proxy_tls_to_the_proxy_then_tls_to_the_target(
    server: TlsServer,  # noqa: F811
    tls: dict[str, Path],
    fp: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The proxy's certificate comes from another test CA than nginx's: ca_file has to trust both.
    bundle = tls["ca"].parent / "both.pem"
    bundle.write_text(Path(server.ca).read_text() + tls["ca"].read_text())
    with LocalProxy(tls=server_context(tls), auth=("user", SECRET)) as proxy:
        assert proxy.url().startswith("https://")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url(f"user:{SECRET}"))
        monkeypatch.setenv("HTTP_PROXY", proxy.url(f"user:{SECRET}"))
        with client(server.url(), ca_file=str(bundle)) as c:
            for _ in range(2):  # TLS inside TLS; the second call reuses it
                assert chat(c).id == EXPECTED["id"]
        with client(fp.base_url, ca_file=str(bundle)) as c:  # http target: absolute form over TLS
            chat(c)
    assert [h.split("\r\n")[0] for h in proxy.heads] == [
        f"CONNECT 127.0.0.1:{server.port} HTTP/1.1",
        f"POST {fp.base_url}/chat/completions HTTP/1.1",
    ]
    assert all("Proxy-Authorization: Basic " in h for h in proxy.heads)


def test_https_proxy_certificate_is_verified(server: TlsServer, tls: dict[str, Path]) -> None:  # noqa: F811
    with LocalProxy(tls=server_context(tls)) as proxy:
        # nginx's CA only: the proxy's certificate is not trusted.
        with client(server.url(), ca_file=str(server.ca), proxy=proxy.url(f"user:{SECRET}")) as c:
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
        assert proxy.heads == []  # nothing was sent to an unverified proxy
    message = message_of(info.value)
    assert f"TLS handshake with the proxy https://127.0.0.1:{proxy.port}" in message, message
    assert_no_secret(message)


def test_https_proxy_url_to_a_plain_proxy_is_a_clear_error(fp: FakeProvider) -> None:
    with LocalProxy() as plain:  # speaks HTTP, not TLS
        timeout = llmfailover.Timeout(5, connect=1)
        with client(fp.base_url, proxy=plain.url(scheme="https"), timeout=timeout) as c:
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    assert "the proxy https://127.0.0.1:" in message_of(info.value), message_of(info.value)


# --- an https:// proxy with its own CA (httpx.Proxy(ssl_context=...)) ---------------------------


def proxy_context(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def test_https_proxy_verified_against_its_own_ca_given_as_proxy(
    server: TlsServer,  # noqa: F811
    tls: dict[str, Path],
    fp: FakeProvider,
) -> None:
    httpx2 = pytest.importorskip("httpx2")
    with LocalProxy(tls=server_context(tls), auth=("user", SECRET)) as proxy:
        # ca_file trusts nginx only; the proxy's CA comes with the proxy.
        own = httpx2.Proxy(proxy.url(), auth=("user", SECRET), ssl_context=proxy_context(tls["ca"]))
        with client(server.url(), ca_file=str(server.ca), proxy=own) as c:
            for _ in range(2):
                assert chat(c).id == EXPECTED["id"]
            assert_no_secret(repr(c))
        with client(fp.base_url, proxy=own) as c:  # http target: absolute form over the verified TLS
            chat(c)
    assert [h.split("\r\n")[0] for h in proxy.heads] == [
        f"CONNECT 127.0.0.1:{server.port} HTTP/1.1",
        f"POST {fp.base_url}/chat/completions HTTP/1.1",
    ]


def test_https_proxy_is_verified_against_its_own_ca_only(server: TlsServer, tls: dict[str, Path]) -> None:  # noqa: F811
    httpx2 = pytest.importorskip("httpx2")
    bundle = tls["ca"].parent / "both-only.pem"
    bundle.write_text(Path(server.ca).read_text() + tls["ca"].read_text())
    with LocalProxy(tls=server_context(tls)) as proxy:
        # ca_file would trust the proxy, but the proxy's own CA (nginx's here) does not: refused,
        # and so with verify=False for the targets: the proxy is still verified.
        wrong = httpx2.Proxy(proxy.url(), auth=("user", SECRET), ssl_context=proxy_context(server.ca))
        for kwargs in ({"ca_file": str(bundle)}, {"verify": False}):
            with client(server.url(), proxy=wrong, **kwargs) as c:
                with pytest.raises(llmfailover.APIConnectionError) as info:
                    chat(c)
            message = message_of(info.value)
            assert f"TLS handshake with the proxy https://127.0.0.1:{proxy.port}" in message, message
            assert_no_secret(message, repr(info.value))
        assert proxy.heads == []  # nothing was sent to an unverified proxy


def test_http_client_proxy_ssl_context_is_carried_over(server: TlsServer, tls: dict[str, Path]) -> None:  # noqa: F811
    httpx2 = pytest.importorskip("httpx2")
    with LocalProxy(tls=server_context(tls)) as proxy:
        own = httpx2.Proxy(proxy.url(), ssl_context=proxy_context(tls["ca"]))
        with httpx2.Client(proxy=own) as http_client:
            with client(server.url(), ca_file=str(server.ca), http_client=http_client) as c:
                assert chat(c).id == EXPECTED["id"]
    assert [h.split(" ")[0] for h in proxy.heads] == ["CONNECT"]


def test_proxy_ca_hostile_values_are_clear_errors(tls: dict[str, Path]) -> None:
    httpx2 = pytest.importorskip("httpx2")
    core = pytest.importorskip("llmfailover._core")
    for pem in ("not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(ValueError, match="the proxy CA certificates"):
            core.ProxyOptions(https="https://127.0.0.1:1", ca_pem=pem)
    with pytest.raises(TypeError, match="ssl_context must be an ssl.SSLContext"):
        proxy = httpx2.Proxy("https://127.0.0.1:1")
        proxy.ssl_context = "ca.pem"  # type: ignore[assignment]
        client("http://127.0.0.1:9/v1", proxy=proxy)
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.warns(llmfailover.LlmFailoverWarning, match="ssl_context without verification"):
        client("http://127.0.0.1:9/v1", proxy=httpx2.Proxy("https://127.0.0.1:1", ssl_context=unverified)).close()
    # A context with no CA certificates of its own: the proxy is verified like the targets.
    client(
        "http://127.0.0.1:9/v1",
        proxy=httpx2.Proxy("https://127.0.0.1:1", ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)),
    ).close()


@pytest.mark.parametrize(
    ("mode", "says"),
    [("refuse", "status 407"), ("close", "closed the connection"), ("garbage", "not HTTP"), ("silent", "CONNECT")],
)
def test_misbehaving_https_proxy_is_a_clear_connection_error(mode: str, says: str, tls: dict[str, Path]) -> None:
    httpx2 = pytest.importorskip("httpx2")
    with LocalProxy(mode, tls=server_context(tls)) as bad:
        own = httpx2.Proxy(bad.url(), auth=("u", SECRET), ssl_context=proxy_context(tls["ca"]))
        timeout = llmfailover.Timeout(5, connect=0.5)
        with client("https://127.0.0.1:9/v1", proxy=own, timeout=timeout) as c:
            started = time.monotonic()
            with pytest.raises(llmfailover.APIConnectionError) as info:
                chat(c)
    assert time.monotonic() - started < 4  # the connect timeout covers TLS and CONNECT: never a hang
    message = message_of(info.value)
    assert f"https://127.0.0.1:{bad.port}" in message and says in message, message
    assert_no_secret(message, repr(info.value))


def test_https_proxy_that_never_speaks_tls_times_out_naming_it() -> None:
    with LocalProxy("silent") as mute:  # plain, waits for a request head: the TLS handshake hangs
        timeout = llmfailover.Timeout(5, connect=0.5)
        with client("http://127.0.0.1:9/v1", proxy=mute.url(scheme="https"), timeout=timeout) as c:
            started = time.monotonic()
            with pytest.raises(llmfailover.APITimeoutError) as info:
                chat(c)
    assert time.monotonic() - started < 4
    assert f"https://127.0.0.1:{mute.port}" in message_of(info.value), message_of(info.value)


# --- socks5h:// through a real httpx client (socksio) --------------------------------------------


@pytest.mark.parametrize("module", ["httpx2", "httpx"])
def test_real_httpx_socks5h_client_is_carried_over_and_the_proxy_resolves(fp: FakeProvider, module: str) -> None:
    httpx_module = pytest.importorskip(module)
    pytest.importorskip("socksio")  # httpx mounts a SOCKS proxy only with it (constraints.txt pins it)
    with LocalSocks(auth=("user", SECRET)) as socks:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # all of it is carried over: no warning
            http_client = httpx_module.Client(proxy=socks.url(f"user:{SECRET}", scheme="socks5h"))
            with http_client, client(localhost(fp.base_url), http_client=http_client) as c:
                assert chat(c).choices[0].message.content
                assert_no_secret(repr(c))
    assert socks.requests == [(3, "localhost")], socks.requests  # the name, for the proxy to resolve
    assert len(fp.attempts()) == 1


def test_real_httpx_socks5h_client_with_wrong_credentials_names_the_proxy(fp: FakeProvider) -> None:
    httpx2 = pytest.importorskip("httpx2")
    pytest.importorskip("socksio")
    with LocalSocks(auth=("user", SECRET)) as socks:
        with httpx2.Client(proxy=socks.url(f"user:wrong-{SECRET}", scheme="socks5h")) as http_client:
            with client(localhost(fp.base_url), http_client=http_client) as c:
                with pytest.raises(llmfailover.APIConnectionError) as info:
                    chat(c)
    message = message_of(info.value)
    assert f"socks5h://127.0.0.1:{socks.port}" in message and "refused the credentials" in message, message
    assert_no_secret(message, repr(info.value))
    assert fp.attempts() == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (f"socks5h://u:{SECRET}@:1080", "no host"),
        (f"https://u:{SECRET}@[::1:443", "unclosed"),
        (f"socks5h://u:{SECRET}@host:0", "port"),
        (f"socks5h://{'u' * 256}:{SECRET}@host", "1..255"),
        (f"http://u:{SECRET}@ho st:3128", "space"),
        (f"ftp://u:{SECRET}@host", "unsupported proxy scheme"),
    ],
)
def test_malformed_proxy_argument_is_a_value_error_naming_it(value: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        client("http://127.0.0.1:9/v1", proxy=value)
    assert str(info.value).startswith("proxy: ") and says in str(info.value), str(info.value)
    assert_no_secret(str(info.value), repr(info.value))
