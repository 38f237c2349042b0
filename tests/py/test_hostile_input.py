"""Hostile input from the caller (issue 10 items 5, 8 and 9), against the real engine.

* CR/LF/NUL in anything that becomes a header or the URL is refused before a byte is sent, with
  openai-python's exception class for each: a URL at construction (ValueError, as httpx's
  InvalidURL), a header per request (APIConnectionError, as h11's LocalProtocolError surfaces),
  never echoing the value. The hostile server records what reached the wire: nothing.
* Secrets: a callable ``api_key`` is scrubbed like a string key; userinfo in ``base_url`` shows
  nowhere (reprs, errors, raw responses, logs).
* Durations: huge timeouts (1e17, 1e308, inf, a Timeout with huge parts) mean "no limit", never
  "time out at once"; NaN and negatives raise ValueError naming the timeout.
* ``os.fork()``: a child that uses its parent's client gets a fresh engine, not a hang.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import time
from typing import Any, Iterator

import llmfailover
import pytest
from _hostile import HostileServer
from llmfailover import APIConnectionError, AsyncOpenAI, AzureOpenAI, OpenAI, Timeout
from llmfailover.testing import FakeProvider

SECRET = "sk-hostile-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "hi"}]
EVIL = "v\r\nX-Injected: 1"


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


def ask(client: Any, model: str = "ok", **kw: Any) -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, **kw)


def injected(server: HostileServer) -> bool:
    return any(b"x-injected" in r.head.lower() for r in server.requests)


# --- CR/LF: headers per request (APIConnectionError), URLs at construction (ValueError) ----------

HEADER_OPTIONS = [
    pytest.param({"api_key": "sk-a\r\nX-Injected: 1"}, "api_key", id="api_key"),
    pytest.param({"api_key": "sk-a\nX-Injected: 1"}, "api_key", id="api_key-lf"),
    pytest.param({"api_key": "sk-a\x00"}, "api_key", id="api_key-nul"),
    pytest.param({"organization": EVIL}, "organization", id="organization"),
    pytest.param({"project": EVIL}, "project", id="project"),
    pytest.param({"default_headers": {"X-A": EVIL}}, "default_headers", id="default_headers-value"),
    pytest.param({"default_headers": {"X-A\r\nX-Injected": "1"}}, "default_headers", id="default_headers-name"),
    pytest.param({"api_key": lambda: "sk-a\r\nX-Injected: 1"}, "credential", id="callable-api_key"),
]


@pytest.mark.parametrize("options, named", HEADER_OPTIONS)
def test_crlf_in_a_header_option_is_refused_per_request(server: HostileServer, options: dict, named: str) -> None:
    kwargs = {"api_key": SECRET, "base_url": server.base_url, "max_retries": 0, "timeout": 2.0, **options}
    client = OpenAI(**kwargs)  # as openai: construction succeeds
    before = len(server.requests)
    for _ in range(2):  # every request, not only the first
        with pytest.raises(APIConnectionError) as info:
            ask(client)
        assert named in str(info.value) and ("CR, LF or NUL" in str(info.value) or "HTTP token" in str(info.value))
        assert "X-Injected" not in str(info.value) and "sk-a" not in str(info.value)
    assert len(server.requests) == before and not injected(server)


@pytest.mark.parametrize("name, value", [("X-A", EVIL), ("X-A\r\nX-Injected", "1"), ("X A", "v"), ("", "v")])
def test_crlf_in_extra_headers_is_refused_and_the_client_stays_usable(
    server: HostileServer, name: str, value: str
) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0, timeout=2.0)
    before = len(server.requests)
    with pytest.raises(APIConnectionError, match="extra_headers"):
        ask(client, extra_headers={name: value})
    assert len(server.requests) == before and not injected(server)
    assert ask(client).choices[0].message.content == "hello"


def routed(server: HostileServer, model: str = "ok") -> OpenAI:
    return OpenAI(
        config={
            "groups": {
                "g": {"deployments": [{"id": "a", "model": model, "base_url": server.base_url, "api_key": SECRET}]}
            }
        }
    )


def test_crlf_in_routed_extra_headers_is_refused(server: HostileServer) -> None:
    with routed(server) as client:
        before = len(server.requests)
        with pytest.raises(APIConnectionError, match="extra_headers"):
            ask(client, model="g", extra_headers={"X-A": EVIL})
        assert len(server.requests) == before and not injected(server)
        assert ask(client, model="g").choices[0].message.content == "hello"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda url: OpenAI(api_key=SECRET, base_url=url + "\r\nX-Injected: 1"), id="base_url"),
        pytest.param(lambda url: OpenAI(api_key=SECRET, base_url=url + "\n"), id="base_url-lf"),
        pytest.param(
            lambda url: AzureOpenAI(api_key=SECRET, api_version="v", azure_endpoint=url + "\r\nX: 1"),
            id="azure_endpoint",
        ),
        pytest.param(
            lambda url: AzureOpenAI(
                api_key=SECRET, api_version="v", azure_endpoint=url, azure_deployment="d\r\nX-Injected: 1"
            ),
            id="azure_deployment",
        ),
    ],
)
def test_crlf_in_a_url_is_refused_at_construction(server: HostileServer, make: Any) -> None:
    with pytest.raises(ValueError, match="Invalid non-printable ASCII character") as info:
        make(f"http://127.0.0.1:{server.port}")
    assert "X-Injected" not in str(info.value)


def test_crlf_in_a_url_set_later_is_refused(server: HostileServer) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url)
    # Our look-alike raises ValueError naming base_url; with openai installed the client is openai's
    # subclass, whose base_url setter raises httpx's InvalidURL, as openai itself does.
    with pytest.raises(Exception) as caught:
        client.base_url = server.base_url + "\r\nX-Injected: 1"
    assert isinstance(caught.value, ValueError) or type(caught.value).__name__ == "InvalidURL", caught.value
    assert ask(client).choices[0].message.content == "hello"


@pytest.mark.parametrize("option", ["api_key", "organization", "default_headers", "extra_headers", "base_url"])
def test_the_exception_classes_are_openais(server: HostileServer, option: str) -> None:
    """The same input given to openai-python raises the same kind of exception (when installed)."""
    openai = pytest.importorskip("openai")
    kw: dict[str, Any] = {"api_key": SECRET, "base_url": server.base_url, "max_retries": 0, "timeout": 2.0}
    call: dict[str, Any] = {}
    if option == "extra_headers":
        call["extra_headers"] = {"X-A": EVIL}
    elif option == "default_headers":
        kw["default_headers"] = {"X-A": EVIL}
    elif option == "base_url":
        kw["base_url"] = server.base_url + "\r\nX: 1"
    else:
        kw[option] = EVIL
    outcomes = []
    for cls in (openai.OpenAI, OpenAI):
        try:
            ask(cls(**kw), **call)
            outcomes.append("no error")
        except openai.APIConnectionError:
            outcomes.append("APIConnectionError")
        except Exception as e:  # httpx.InvalidURL (theirs) and ValueError (ours) both at construction
            outcomes.append("construction" if option == "base_url" else type(e).__name__)
    assert outcomes[0] == outcomes[1] != "no error"


# --- secrets: callable keys and userinfo ------------------------------------------------------


def test_a_callable_api_key_is_scrubbed_from_errors(server: HostileServer) -> None:
    client = OpenAI(api_key=lambda: SECRET, base_url=server.base_url, max_retries=0)
    with pytest.raises(llmfailover.AuthenticationError) as info:
        ask(client, model="echo-key-401")
    exc = info.value
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"  # it was sent
    for text in (str(exc), repr(exc), str(exc.body), exc.message, exc.response.text, repr(exc.response)):
        assert SECRET not in text
    assert "***" in str(exc)


@pytest.mark.parametrize("stream", [False, True])
def test_a_retried_error_echoing_the_key_is_scrubbed_when_it_surfaces(server: HostileServer, stream: bool) -> None:
    # The plain client's retries run in the router's pass-through mode: the retried answers are
    # read and dropped there, the last one reaches the caller; none of them may show the key.
    before = len(server.requests)
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=2)
    with pytest.raises(llmfailover.InternalServerError) as info:
        ask(client, model="echo-key-503", stream=stream)
    exc = info.value
    assert len(server.requests) - before == 3  # openai's default: two retries
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"  # it was sent
    texts = [str(exc), repr(exc), str(exc.body), exc.message, exc.response.text, repr(exc.response)]
    assert all(SECRET not in t for t in texts), texts
    assert "***" in exc.response.text


def test_an_async_callable_api_key_is_scrubbed_from_errors(server: HostileServer) -> None:
    async def key() -> str:
        return SECRET

    async def main() -> Any:
        async with AsyncOpenAI(api_key=key, base_url=server.base_url, max_retries=0) as client:
            with pytest.raises(llmfailover.AuthenticationError) as info:
                await ask_async(client, model="echo-key-401")
            return info.value

    exc = asyncio.run(main())
    assert SECRET not in str(exc) and SECRET not in str(exc.body) and SECRET not in exc.response.text


async def ask_async(client: Any, **kw: Any) -> Any:
    return await client.chat.completions.create(messages=MESSAGES, **kw)


@pytest.mark.parametrize("userinfo", ["user:pa55word@", "user:pa55@word@", "user:pa55word%40x@"])
def test_userinfo_in_base_url_shows_nowhere(
    server: HostileServer, caplog: pytest.LogCaptureFixture, userinfo: str
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://{userinfo}127.0.0.1:{server.port}/v1"
    client = OpenAI(api_key=SECRET, base_url=url, max_retries=0, timeout=1.0)
    raw = client.chat.completions.with_raw_response.create(model="ok", messages=MESSAGES)
    with pytest.raises(llmfailover.APIStatusError) as status:
        ask(client, model="echo-key-401")
    with pytest.raises(APIConnectionError) as conn:
        ask(client, model="reset-before-head")
    texts = [
        repr(client),
        repr(client._upstream),
        repr(raw),
        str(raw.url),
        raw.http_request.url,
        str(status.value),
        status.value.request.url,
        repr(status.value.response.request),
        conn.value.request.url,
        str(conn.value),
        str(conn.value.__cause__),
        caplog.text,
    ]
    assert all("pa55" not in t and "word" not in t and "user:" not in t for t in texts), texts
    assert all(SECRET not in t for t in texts)
    assert client.base_url == url + "/"  # the option itself is still what was given


# --- durations: huge means no limit; NaN and negative are refused -------------------------------


@pytest.mark.parametrize(
    "timeout",
    [1e17, 1e308, math.inf, 10**400, Timeout(1e308), Timeout(None, connect=1e17), Timeout(math.inf, connect=math.inf)],
    ids=repr,
)
def test_a_huge_timeout_means_no_limit(server: HostileServer, timeout: Any) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0)
    started = time.monotonic()
    assert ask(client, model="delayed-ok", timeout=timeout).choices[0].message.content == "hello"
    assert ask(client.with_options(timeout=timeout), model="delayed-ok").choices[0].message.content == "hello"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("module", ["httpx", "httpx2"])
def test_an_httpx_timeout_with_huge_parts_means_no_limit(server: HostileServer, module: str) -> None:
    httpx = pytest.importorskip(module)
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0)
    for timeout in (httpx.Timeout(1e308), httpx.Timeout(5.0, read=math.inf), httpx.Timeout(None, connect=1e17)):
        assert ask(client, model="delayed-ok", timeout=timeout).choices[0].message.content == "hello"


@pytest.mark.parametrize("timeout", [1e17, 1e308, math.inf])
def test_a_huge_routed_timeout_means_no_limit(server: HostileServer, timeout: float) -> None:
    with routed(server, "delayed-ok") as client:
        assert ask(client, model="g", timeout=timeout).choices[0].message.content == "hello"
        extra = {"llmfailover": {"timeout": timeout, "first_token_timeout": timeout, "idle_timeout": timeout}}
        assert ask(client, model="g", extra_body=extra).choices[0].message.content == "hello"


@pytest.mark.parametrize(
    "timeout", [math.nan, -1.0, -math.inf, Timeout(1.0, connect=math.nan), Timeout(None, connect=-3.0)], ids=repr
)
def test_nan_and_negative_timeouts_raise_value_error_naming_it(server: HostileServer, timeout: Any) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0)
    with pytest.raises(ValueError, match="timeout"):
        ask(client, timeout=timeout)
    assert ask(client).choices[0].message.content == "hello"


@pytest.mark.parametrize("value", [math.nan, -1.0])
def test_nan_and_negative_routed_timeouts_raise_value_error(server: HostileServer, value: float) -> None:
    with routed(server) as client:
        with pytest.raises(ValueError, match="timeout"):
            ask(client, model="g", timeout=value)
        with pytest.raises(ValueError, match="idle_timeout"):
            ask(client, model="g", extra_body={"llmfailover": {"idle_timeout": value}})
        assert ask(client, model="g").choices[0].message.content == "hello"


def test_huge_fake_provider_delays_saturate() -> None:
    from llmfailover import _native

    core = _native.core()
    assert core.Fault(delay_before_headers=math.inf).delay_before_headers >= 1e9
    assert core.Fault(chunk_delay=1e308).chunk_delay >= 1e9
    with pytest.raises(ValueError, match="delay_before_headers"):
        core.Fault(delay_before_headers=math.nan)


# --- os.fork(): the child rebuilds the engine on first use ---------------------------------------


def _in_child(body: Any, limit: float = 20.0) -> int:
    """Runs ``body()`` in a forked child; its exit status (0 = body returned True) within ``limit``."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            code = 0 if body() else 2
        except BaseException:
            code = 3
        os._exit(code)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -999  # hung


FORK_WARNING = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


@FORK_WARNING
def test_a_forked_child_uses_the_parents_client(server: HostileServer) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0, timeout=5.0)
    assert ask(client).choices[0].message.content == "hello"  # io thread running, a pooled connection
    status = _in_child(
        lambda: (
            ask(client).choices[0].message.content == "hello"
            and ask(client.with_options(max_retries=1)).choices[0].message.content == "hello"
        )
    )
    assert status == 0
    assert ask(client).choices[0].message.content == "hello"  # the parent's engine is untouched


@FORK_WARNING
def test_a_forked_child_uses_the_parents_routed_client() -> None:
    with FakeProvider() as fp:
        config = {
            "groups": {"g": {"deployments": [{"id": "a", "model": "m", "base_url": fp.base_url, "api_key": SECRET}]}}
        }
        with OpenAI(config=config) as client:
            assert ask(client, model="g").choices[0].message.content.startswith("Hello")

            def child() -> bool:
                ok = ask(client, model="g").choices[0].message.content.startswith("Hello")
                return ok and len(client.router_snapshot()) == 1

            assert _in_child(child) == 0
            assert ask(client, model="g").choices[0].message.content.startswith("Hello")
        assert len(fp.attempts("m")) == 3  # 2 from the parent, 1 from the child


@FORK_WARNING
def test_a_forked_child_uses_the_parents_async_client(server: HostileServer) -> None:
    client = AsyncOpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0, timeout=5.0)

    async def once() -> bool:
        return (await ask_async(client, model="ok")).choices[0].message.content == "hello"

    assert asyncio.run(once())
    assert _in_child(lambda: asyncio.run(once())) == 0
    assert asyncio.run(once())


@FORK_WARNING
def test_a_child_closing_the_parents_client_leaves_the_parent_working(server: HostileServer) -> None:
    client = OpenAI(api_key=SECRET, base_url=server.base_url, max_retries=0, timeout=5.0)
    assert ask(client).choices[0].message.content == "hello"
    assert _in_child(lambda: client.close() is None) == 0
    assert ask(client).choices[0].message.content == "hello"


def test_a_routed_upstream_echoing_the_key_does_not_leak_it(server: HostileServer) -> None:
    heard: list[str] = []
    config = {
        "groups": {
            "g": {"deployments": [{"id": "a", "model": "echo-key-401", "base_url": server.base_url, "api_key": SECRET}]}
        }
    }
    with OpenAI(config=config, on_attempt=lambda *a, **k: heard.append(repr((a, k)))) as client:
        with pytest.raises(llmfailover.AuthenticationError) as info:
            ask(client, model="g")
    exc = info.value
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"  # it was sent
    texts = [str(exc), repr(exc.body), exc.response.text, str(exc.route), repr(exc.route)] + heard
    assert all(SECRET not in t for t in texts), texts


@pytest.mark.parametrize("io_threads", [0, -1, 65, 10**6])
def test_io_threads_are_bounded_plain_and_routed(server: HostileServer, io_threads: int) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match="io_threads must be between 1 and 64"):
        OpenAI(api_key=SECRET, base_url=server.base_url, io_threads=io_threads)
    with pytest.raises(ValueError, match="io_threads must be between 1 and 64"):
        OpenAI(
            config={
                "groups": {
                    "g": {"deployments": [{"id": "a", "model": "ok", "base_url": server.base_url, "api_key": SECRET}]}
                }
            },
            io_threads=io_threads,
        )
    assert time.monotonic() - started < 2  # refused, not a million threads started
