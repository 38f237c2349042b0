"""``OpenAI``: the synchronous drop-in client.

A request is one native call: ``engine.send()`` (or ``router.send()`` with ``config=``) returns at
once, then ``call.wait()`` (GIL released) is pulled until the call ends. Retries and failover
happen inside the engine.
"""

from __future__ import annotations

import time
from functools import cached_property
from types import TracebackType
from typing import Any, Optional

from ._base import BaseClient, RequestSpec
from ._exchange import Exchange
from ._streaming import WAIT_SLICE, Stream

__all__ = ["OpenAI", "OpenAIRequired", "OPENAI_ONLY"]

# openai-python's client resources that only openai's own code serves (openai 3.60 _client.py).
OPENAI_ONLY = frozenset(
    {
        "completions",
        "files",
        "batches",
        "images",
        "audio",
        "moderations",
        "fine_tuning",
        "vector_stores",
        "uploads",
        "containers",
        "conversations",
        "evals",
        "realtime",
        "webhooks",
        "videos",
        "skills",
        "admin",
        "decisions",
        "content_provenance_checks",
        "safety",
        "live",
    }
)


class OpenAIRequired(AttributeError):
    """A resource of openai's client that llmfailover serves only when openai is installed."""


def _no_stream(call: Any, exchange: Exchange, report: Any) -> Any:
    raise AssertionError("a request without stream=True made a stream")


def _pump(call: Any, exchange: Exchange, *, until_head: bool) -> None:
    while not exchange.done and not (until_head and exchange.has_head):
        exchange.feed(call.wait(WAIT_SLICE, not until_head))


class SyncClientMixin:
    _stream_cls: type[Stream[Any]] = Stream  # with openai installed, a subclass of openai.Stream too
    """The synchronous request driver, shared by ``OpenAI`` and ``AzureOpenAI``."""

    def _request(self: Any, spec: RequestSpec, *, raw: bool = False) -> Any:
        auth = self._sync_auth()
        request = self._request_for(spec)
        started = time.monotonic()
        call = self._send(spec, auth, request)
        exchange = Exchange(request, self._secrets(auth))
        try:
            _pump(call, exchange, until_head=spec.stream)
            if exchange.status is not None and exchange.status >= 400:
                _pump(call, exchange, until_head=False)  # the error body
        except BaseException:
            call.cancel()
            raise
        if not spec.stream:  # _outcome makes no stream of it
            return self._outcome(spec, call, exchange, raw=raw, started=started, make_stream=_no_stream)
        strict = self._strict_response_validation

        def make_stream(call: Any, exchange: Exchange, report: Any) -> Stream[Any]:
            stream: Stream[Any] = self._stream_cls(
                call=call, exchange=exchange, cast_to=spec.chunk_cls, strict=strict, report=report
            )
            return stream

        return self._outcome(spec, call, exchange, raw=raw, started=started, make_stream=make_stream)

    def close(self: Any) -> None:
        """Closes the native engine if this client created it (copies share it). Idempotent."""
        if self._owns_engine:
            self._engine.close()

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    # No __del__ closing the engine: `OpenAI().with_options(...)` drops the owner at once while
    # the copy lives on. The native Router shuts down when its last reference goes.


class ResourcesMixin:
    """The resource attributes (``chat``, ``embeddings``, ``models``, ...) of both clients."""

    _is_async: bool

    @cached_property
    def chat(self) -> Any:
        from ._resources.chat import Chat

        return Chat(self)

    @cached_property
    def embeddings(self) -> Any:
        from ._resources.embeddings import AsyncEmbeddings, Embeddings

        return (AsyncEmbeddings if self._is_async else Embeddings)(self)

    @cached_property
    def models(self) -> Any:
        from ._resources.models import AsyncModels, Models

        return (AsyncModels if self._is_async else Models)(self)

    @cached_property
    def responses(self) -> Any:
        from ._resources.responses import AsyncResponses, Responses

        return (AsyncResponses if self._is_async else Responses)(self)

    @cached_property
    def beta(self) -> Any:
        from ._resources.chat import Beta

        return Beta(self)

    def __getattr__(self, name: str) -> Any:
        # Only reached for a name the class lacks: openai's other resources need openai itself.
        if name in OPENAI_ONLY:
            raise OpenAIRequired(
                f"client.{name} needs the openai package: pip install 'llmfailover[openai]' (without it "
                "llmfailover serves chat.completions, embeddings, models and responses.create)"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @cached_property
    def with_raw_response(self) -> Any:
        from ._resources import RawResponseView

        return RawResponseView(self)

    @cached_property
    def with_streaming_response(self) -> Any:
        from ._resources import StreamingResponseView

        return StreamingResponseView(self)


class OpenAI(SyncClientMixin, ResourcesMixin, BaseClient):
    """Drop-in for ``openai.OpenAI``; requests go through llmfailover's native engine.

    Takes openai's arguments (``api_key``, ``organization``, ``project``, ``base_url``, ``timeout``,
    ``max_retries``, ``default_headers``, ``default_query``, ``http_client`` (ignored, warns),
    ``_strict_response_validation``) plus ``io_threads``, ``verify`` and ``ca_file``.

    Failover: ``config=`` (a path, a dict or a ``Config``) routes each call through the native
    router by its ``model`` (a group name); no ``api_key``/``base_url`` is needed. Then also
    ``degraded=fn`` (``fn(error, request_kwargs) -> str``, a last-resort chat answer) and the
    callbacks ``on_attempt``, ``on_retry``, ``on_failover``, ``on_breaker``, ``on_degraded``
    (see ``llmfailover._routing.Hooks``), and ``router_snapshot()``.
    """

    _is_async = False
