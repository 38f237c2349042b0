"""The routed client's per-call path (issue 14): ``Router.send`` by position, the remembered cache
namespace, the routed client's timeout and overrides as they reach the router."""

from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest
from llmfailover import OpenAI, _routing
from llmfailover.testing import FakeProvider
from test_router import ask, make_config


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as f:
        yield f


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[OpenAI]:
    with OpenAI(config=make_config(fp)) as c:
        yield c


BODY = b'{"model":"smart","messages":[{"role":"user","content":"hi"}]}'


def test_send_takes_the_common_arguments_by_position_and_by_keyword(client: OpenAI) -> None:
    router = client._engine.router  # type: ignore[attr-defined]
    by_position = router.send("smart", "POST", "/chat/completions", BODY, [], [], False, 30.0, "")
    by_keyword = router.send("smart", method="POST", path="/chat/completions", body=BODY, deadline=30.0)
    for call in (by_position, by_keyword):
        events = call.wait(10.0, True)
        assert events[0][0] == "head" and events[0][1] == 200, events


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("smart", "POST", "/chat/completions", "not bytes"), {}),  # body: bytes or None
        (("smart", "POST", "/chat/completions", BODY, "headers"), {}),  # a str is no list of pairs
        (("smart", "POST", "/chat/completions", BODY, [("a",)]), {}),  # a pair of one
        (("smart", "POST", "/chat/completions", BODY, [], [], False, "soon"), {}),  # deadline: seconds
        (("smart", "POST", "/chat/completions", BODY, [], [], False, None, 7), {}),  # namespace: str
        # the overrides are keyword-only: a tenth positional argument is refused, not taken as one
        (("smart", "POST", "/chat/completions", BODY, [], [], False, None, "", ["g"]), {}),
        (("smart",), {"method": "POST", "path": "/chat/completions", "fallbacks": "smart"}),
    ],
)
def test_send_refuses_wrong_types_with_a_type_error(client: OpenAI, args: Any, kwargs: Any) -> None:
    router = client._engine.router  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        router.send(*args, **kwargs)


@pytest.mark.parametrize("deadline", [float("nan"), -1.0, 0.0])
def test_send_refuses_a_bad_deadline_by_position_naming_it(client: OpenAI, deadline: float) -> None:
    router = client._engine.router  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="timeout"):
        router.send("smart", "POST", "/chat/completions", BODY, [], [], False, deadline, "")


def test_a_bad_header_by_position_is_refused_naming_it(client: OpenAI) -> None:
    router = client._engine.router  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="headers"):
        router.send("smart", "POST", "/chat/completions", BODY, [("X-A", "b\r\nc")], [], False, None, "")


def test_the_namespace_is_the_keys_digest_and_follows_a_new_key() -> None:
    last = _routing._LastNamespace()
    assert last("") == ""
    a, b = "sk-" + "a" * 40, "sk-" + "b" * 40
    assert last(a) == _routing.cache_namespace(a)
    assert last("".join(["sk-", "a" * 40])) == _routing.cache_namespace(a)  # equal, not the same object
    assert last(b) == _routing.cache_namespace(b) != _routing.cache_namespace(a)
    assert last(a) == _routing.cache_namespace(a)  # back to the first: never the last key's digest
    assert last("sk-" + "a" * 39 + "b") == _routing.cache_namespace("sk-" + "a" * 39 + "b")  # same length


def test_threads_sharing_a_namespace_never_get_another_keys_digest() -> None:
    last = _routing._LastNamespace()
    keys = [f"sk-{i:04d}" for i in range(8)]
    wrong: list[str] = []

    def work(key: str) -> None:
        for _ in range(2000):
            if last(key) != _routing.cache_namespace(key):
                wrong.append(key)

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_a_routed_call_with_overrides_reaches_the_router(client: OpenAI, fp: FakeProvider) -> None:
    # the overrides go as keywords beside the positional arguments; the request's timeout wins
    r = ask(client, extra_body={"llmfailover": {"timeout": 20, "max_attempts": 2, "tag": "t1"}})
    assert r.choices[0].message.content is not None
    with pytest.raises(ValueError, match="max_attempts"):  # the core still checks the ranges
        ask(client, extra_body={"llmfailover": {"max_attempts": 99}})


def test_the_default_timeout_is_recognised_and_an_equal_one_too(fp: FakeProvider) -> None:
    from llmfailover._timeouts import DEFAULT_TIMEOUT, Timeout

    sent: list[Any] = []
    with OpenAI(config=make_config(fp)) as client:
        c: Any = getattr(client, "_native", client)  # with openai installed: the native client inside
        handle = c._engine
        real = handle._send_native

        def spy(spec: Any, headers: Any, query: Any, deadline: Any, api_key: str, spent: float = 0.0) -> Any:
            sent.append(deadline)
            return real(spec, headers, query, deadline, api_key, spent)

        handle._send_native = spy
        ask(c)  # the default: the config's deadline (None here)
        c.timeout = Timeout(600, connect=5.0)  # equal to the default, another object
        ask(c)
        c.timeout = 12.5
        ask(c)
        c.timeout = DEFAULT_TIMEOUT
        ask(c, timeout=3.0)  # the request's own
    assert sent == [None, None, 12.5, 3.0]
