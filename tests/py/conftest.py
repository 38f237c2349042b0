"""Shared fixtures for the Python tests.

``LLMFAILOVER_HIDE_OPENAI=1`` makes ``import openai`` fail before llmfailover is imported, so the
suite also runs as if openai were not installed (tests that need it use importorskip).

Tests of the other providers' official SDKs (anthropic, google-genai, cohere, boto3) carry
``@pytest.mark.needs_sdk("module", ...)``: they skip when a module is not importable, unless
``LLMFAILOVER_REQUIRE_SDKS=1`` (scripts/test.sh's first pytest run), which makes that a failure,
so a broken environment cannot pass by skipping the checks that the fake speaks the real dialects.

The clients are tested through the real native module against ``llmfailover.testing.FakeProvider``
(the ``fp`` fixture), scripted per request with a ``Fault``: ``ok()`` and ``sse()`` below build one
that answers exactly the given status, headers and body. What was sent is read from the fake's log
(``fp.attempts()``); what a plain client handed its native router (timeouts, retries, the native
call) from ``record_sends()``.
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


# --- the real core over a scripted fake upstream ----------------------------------------------


class SendLog:
    """A plain client's native router (``_core.Router.plain()``), with a record of what the client
    asked it to send: ``send_plain``'s arguments (``sent``) and the native calls it returned
    (``calls``), in order, and how often it was closed (``closes``). Everything goes to the real
    router; installed by ``record_sends``."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.sent: list[dict[str, Any]] = []
        self.calls: list[Any] = []
        self.closes = 0

    def send_plain(self, upstream: Any, **kw: Any) -> Any:
        call = self.router.send_plain(upstream, **kw)
        self.sent.append({"upstream": upstream, **kw})
        self.calls.append(call)
        return call

    def close(self) -> None:
        self.closes += 1
        self.router.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.router, name)


def record_sends(client: Any) -> SendLog:
    """Wraps the plain ``client``'s router (shared by its copies) in a ``SendLog``; returns it."""
    native = client._engine._native  # _fork.ForkSafe
    log = SendLog(native.get())
    native._obj = log
    return log


def ok(body: bytes, headers: Optional[list[tuple[str, str]]] = None, status: int = 200) -> Any:
    """A FakeProvider fault that answers ``status`` with exactly these headers (Content-Type JSON
    unless given) and this body."""
    from llmfailover.testing import Fault

    return Fault(status=status, headers=headers or [("Content-Type", "application/json")], body=body)


def sse(*datas: bytes, status: int = 200) -> Any:
    """A FakeProvider fault that answers an event stream, sent whole: one ``data:`` event per item
    (``b"[DONE]"`` only when given), then the body ends."""
    from llmfailover.testing import Fault

    body = b"".join(b"data: " + d + b"\n\n" for d in datas)
    return Fault(status=status, headers=[("Content-Type", "text/event-stream")], body=body)


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
