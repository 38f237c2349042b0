"""Shared fixtures for the Python tests.

``LLMFAILOVER_HIDE_OPENAI=1`` makes ``import openai`` fail before llmfailover is imported, so the
suite also runs as if openai were not installed (tests that need it use importorskip).

Tests of the other providers' official SDKs (anthropic, google-genai, cohere, boto3) carry
``@pytest.mark.needs_sdk("module", ...)``: they skip when a module is not importable, unless
``LLMFAILOVER_REQUIRE_SDKS=1`` (scripts/test.sh's first pytest run), which makes that a failure,
so a broken environment cannot pass by skipping the checks that the fake speaks the real dialects.

``stub_core`` swaps the native module for a scripted pure-Python stand-in at the one backend
boundary, a plain client's ``Router.plain()`` / ``send_plain()``: every call replays the events the
test gave, so the Python layer (request building, result and error mapping, streams) is tested
without the C++ router or a server. Tests against the real engine use
``llmfailover.testing.FakeProvider``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
from typing import Any, Optional

import pytest
from _redis import redis_tls, redis_url  # noqa: F401 (fixtures for every test file: throw-away redis-servers)

if os.environ.get("LLMFAILOVER_HIDE_OPENAI") == "1":

    class _HideOpenAI(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
            if name == "openai" or name.startswith("openai."):
                raise ModuleNotFoundError(f"{name} is hidden by LLMFAILOVER_HIDE_OPENAI=1")
            return None

    for _name in [m for m in sys.modules if m == "openai" or m.startswith("openai.")]:
        del sys.modules[_name]
    sys.meta_path.insert(0, _HideOpenAI())

HIDE_OPENAI = os.environ.get("LLMFAILOVER_HIDE_OPENAI") == "1"


def require_sdk(name: str) -> Any:
    """``pytest.importorskip(name)``, except that under LLMFAILOVER_REQUIRE_SDKS=1 a module that
    cannot be imported fails the test instead of skipping it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if os.environ.get("LLMFAILOVER_REQUIRE_SDKS") == "1":
            pytest.fail(f"{name} is not importable ({exc}); LLMFAILOVER_REQUIRE_SDKS=1 requires it", pytrace=False)
        pytest.skip(f"{name} is not importable ({exc})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_sdk(*modules): the test needs these importable modules (skip, or fail under LLMFAILOVER_REQUIRE_SDKS=1)",
    )


@pytest.hookimpl(tryfirst=True)  # before the fixtures, which may use the SDK
def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs_sdk"):
        for name in mark.args:
            require_sdk(name)


@pytest.fixture(autouse=True)
def _clean_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without the client environment variables (set them with monkeypatch)."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_CUSTOM_HEADERS",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_AD_TOKEN",
        "OPENAI_API_VERSION",
        # proxies: the clients read them as httpx does (tests set them with monkeypatch)
        *(name for s in ("http", "https", "all", "no") for name in (f"{s}_proxy", f"{s.upper()}_PROXY")),
    ):
        monkeypatch.delenv(name, raising=False)


# --- a scripted stand-in for llmfailover._core ------------------------------------------------


class StubTimeouts:
    def __init__(
        self,
        connect: float = 5.0,
        first_byte: Optional[float] = None,
        idle: Optional[float] = None,
        total: Optional[float] = None,
    ) -> None:
        self.connect, self.first_byte, self.idle, self.total = connect, first_byte, idle, total

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StubTimeouts) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"StubTimeouts({vars(self)})"


class StubUpstream:
    def __init__(self, *, provider: str = "openai", base_url: str, api_key: str = "", **kw: Any) -> None:
        self.provider, self.base_url, self._api_key, self.kw = provider, base_url, api_key, kw

    def url_for(self, path: str, query: Any = (), model: str = "") -> str:
        url = self.base_url.rstrip("/") + path
        pairs = list(self.kw.get("default_query", ())) + list(query)
        if self.kw.get("api_version"):
            pairs.insert(0, ("api-version", self.kw["api_version"]))
        return url + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "")


class StubNotifier:
    def __init__(self) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK)
        self._tokens: list[int] = []

    def fileno(self) -> int:
        return self._fd

    def notify(self, token: int) -> None:
        self._tokens.append(token)
        os.eventfd_write(self._fd, 1)

    def drain(self) -> list[int]:
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            pass
        tokens, self._tokens = self._tokens, []
        return tokens

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class StubCall:
    """Replays batches of events; a batch "hang" never arrives (until cancel())."""

    def __init__(self, batches: list[Any]) -> None:
        self._batches = list(batches)
        self.cancelled = False
        self.retries_taken = 0
        self._notify: Any = None

    @property
    def finished(self) -> bool:
        return self.cancelled or not self._batches

    def _take(self) -> list[Any]:
        if self.cancelled or not self._batches or self._batches[0] == "hang":
            return []
        return list(self._batches.pop(0))

    def wait(self, timeout: Optional[float] = None, until_end: bool = False) -> list[Any]:
        events = self._take()
        while until_end and events and events[-1][0] not in ("end", "error"):
            more = self._take()
            if not more:
                break
            events += more
        return events

    def poll(self) -> list[Any]:
        return self._take()

    def cancel(self) -> None:
        self.cancelled = True

    def set_notify(self, notifier: StubNotifier, token: int) -> None:
        self._notify = (notifier, token)
        if self._batches and self._batches[0] != "hang":
            notifier.notify(token)


class StubPlainRouter:
    def __init__(self, **kw: Any) -> None:
        self.kw = kw
        self.sent: list[dict[str, Any]] = []
        self.script: list[list[Any]] = []
        self.calls: list[StubCall] = []
        self.closed = 0

    def send(self, upstream: StubUpstream, **kw: Any) -> StubCall:
        self.sent.append({"upstream": upstream, **kw})
        call = StubCall(self.script.pop(0) if self.script else [[("head", 200, []), ("body", b"{}"), ("end",)]])
        self.calls.append(call)
        return call

    send_plain = send  # Router.send_plain: what the stub records is what the call would send

    def close(self) -> None:
        self.closed += 1


class StubRouter:
    """``_core.Router``: only a plain client's (``Router.plain``), the scripted ``StubPlainRouter``."""

    plain = StubPlainRouter


class StubCore:
    Timeouts = StubTimeouts
    Upstream = StubUpstream
    Notifier = StubNotifier
    Router = StubRouter
    __version__ = "stub"
    # The core's validation (validate.hpp) is the real one, set by stub_core: the clients ask it.
    VALIDATION = ("header_problem", "check_url_characters", "checked_max_retries", "check_seconds")


@pytest.fixture
def stub_core(monkeypatch: pytest.MonkeyPatch) -> type[StubCore]:
    from llmfailover import _core, _native

    for name in StubCore.VALIDATION:
        setattr(StubCore, name, staticmethod(getattr(_core, name)))
    monkeypatch.setattr(_native, "_core", StubCore)
    return StubCore


def ok(body: bytes, headers: Optional[list[tuple[str, str]]] = None, status: int = 200) -> list[Any]:
    """One batch: a complete JSON response."""
    return [("head", status, headers or [("content-type", "application/json")]), ("body", body), ("end",)]


def sse(*datas: bytes, status: int = 200, end: Any = ("end",)) -> list[Any]:
    """One batch: an event stream."""
    events: list[Any] = [("head", status, [("content-type", "text/event-stream")])]
    events += [("sse", "", d, "") for d in datas]
    return events + ([end] if end else [])


@pytest.fixture
def bedrock(fp: Any) -> Any:
    """boto3's bedrock-runtime client pointed at the fake (one attempt, no retries of its own)."""
    boto3 = require_sdk("boto3")
    config = require_sdk("botocore.config")
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=fp.root_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=config.Config(retries={"total_max_attempts": 1}, read_timeout=5, connect_timeout=5),
    )
    yield client
    client.close()


@pytest.fixture
def fp() -> Any:
    """A running ``llmfailover.testing.FakeProvider`` (skips while the native one is not built)."""
    core = pytest.importorskip("llmfailover._core")
    if not hasattr(core, "FakeProvider"):
        pytest.skip("llmfailover._core has no FakeProvider yet (rebuild the extension)")
    from llmfailover.testing import FakeProvider

    with FakeProvider() as provider:
        yield provider
