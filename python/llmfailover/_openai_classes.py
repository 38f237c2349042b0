"""With openai installed: ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI``, ``AsyncAzureOpenAI`` as
subclasses of openai's own classes.

So ``isinstance(client, openai.OpenAI)`` holds (``instructor.from_openai`` checks it) and every
resource, helper and type openai has is there, built by openai's own code. All of openai's HTTP
goes through ``llmfailover.Transport`` on the client's native engine or router, so engine retries,
breakers and failover apply to every endpoint the router serves.

Each client holds a native look-alike client (``_client.OpenAI`` and friends, ``_native``) on the
same engine: ``chat.completions.create`` and ``embeddings.create`` keep that fast path (one native
call, no httpx), and so do their ``with_raw_response`` forms; ``with_streaming_response`` and
everything else (``parse``, ``stream``, ``responses``, ``files``, ...) is openai's code over the
transport. ``router_snapshot()`` and the native handles are the native client's.

Retries: without ``config=`` openai's retry loop retries (the transport sends once per attempt,
with openai's own rules, so nothing is retried twice); with ``config=`` the router retries and
fails over, and openai's loop is set to 0 retries.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from functools import cached_property
from typing import Any, Optional

import openai

try:
    import httpx2
except ImportError:  # openai 1.x and 2.x are built on httpx
    import httpx as httpx2  # type: ignore[no-redef]
from openai.resources.chat import AsyncChat as _OAAsyncChat
from openai.resources.chat import Chat as _OAChat
from openai.resources.chat.completions import AsyncCompletions as _OAAsyncCompletions
from openai.resources.chat.completions import Completions as _OACompletions
from openai.resources.embeddings import AsyncEmbeddings as _OAAsyncEmbeddings
from openai.resources.embeddings import Embeddings as _OAEmbeddings

from . import _async_client, _azure, _client, _streaming
from ._base import warn_copy_http_client
from ._timeouts import Timeout
from ._transport import AsyncTransport, Transport

__all__ = ["OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI"]

_RAW_HEADER = "X-Stainless-Raw-Response"  # what openai's with_raw/streaming_response wrappers add
_NATIVE_ATTRS = frozenset({"_engine", "_router", "_owns_engine", "_upstream", "_hooks", "_degraded", "_urls"})


@functools.lru_cache(maxsize=None)
def _params(fn: Any) -> frozenset[str]:
    return frozenset(
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    )


def _validate_response_format(value: Any) -> None:
    if inspect.isclass(value):  # openai's hint: a pydantic class belongs in parse()
        from openai.resources.chat.completions.completions import validate_response_format

        validate_response_format(value)


def _raw_mode(kwargs: dict[str, Any]) -> Optional[str]:
    headers = kwargs.get("extra_headers")
    return headers.get(_RAW_HEADER) if headers else None


def _without_raw_header(kwargs: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in kwargs["extra_headers"].items() if k != _RAW_HEADER}
    return {**kwargs, "extra_headers": headers or None}


class _Fast:
    """The native fast path of one ``create``: ``raw`` -> the native raw response; ``stream``
    (with_streaming_response) -> openai's own path over the transport, for its iterators.

    The common call (no extra_headers, no response_format) goes straight to the native
    resource's ``_create`` (bound once): this layer adds a few dict look-ups to it."""

    _resource: str  # "chat" or "embeddings"
    _required: tuple[str, str]  # the arguments openai's create cannot do without

    @cached_property
    def _native_resource(self) -> Any:
        native = self._client._native  # type: ignore[attr-defined]
        return native.chat.completions if self._resource == "chat" else native.embeddings

    @cached_property
    def _native_create(self) -> Any:
        return self._native_resource._create

    def _dispatch(self, kwargs: dict[str, Any]) -> tuple[bool, Any]:
        first, second = self._required
        if first not in kwargs or second not in kwargs:  # the TypeError openai's signature gives
            return True, self._native_resource.create(**kwargs)
        if "extra_headers" not in kwargs and "response_format" not in kwargs:
            return True, self._native_create(kwargs, False)
        if self._resource == "chat":
            _validate_response_format(kwargs.get("response_format"))
        mode = _raw_mode(kwargs)
        if mode is None:
            return True, self._native_create(kwargs, False)
        if mode in ("true", "raw"):  # legacy and new raw wrappers: the native raw response
            return True, self._native_create(_without_raw_header(kwargs), True)
        return False, None


class _Completions(_Fast, _OACompletions):
    _resource, _required = "chat", ("messages", "model")

    def create(self, **kwargs: Any) -> Any:
        done, result = self._dispatch(kwargs)
        return result if done else super().create(**kwargs)


class _AsyncCompletions(_Fast, _OAAsyncCompletions):
    _resource, _required = "chat", ("messages", "model")

    async def create(self, **kwargs: Any) -> Any:
        done, result = self._dispatch(kwargs)
        return await result if done else await super().create(**kwargs)


class _Embeddings(_Fast, _OAEmbeddings):
    _resource, _required = "embeddings", ("input", "model")

    def create(self, **kwargs: Any) -> Any:
        done, result = self._dispatch(kwargs)
        return result if done else super().create(**kwargs)


class _AsyncEmbeddings(_Fast, _OAAsyncEmbeddings):
    _resource, _required = "embeddings", ("input", "model")

    async def create(self, **kwargs: Any) -> Any:
        done, result = self._dispatch(kwargs)
        return await result if done else await super().create(**kwargs)


class _Chat(_OAChat):
    @cached_property
    def completions(self) -> Any:
        return _Completions(self._client)


class _AsyncChat(_OAAsyncChat):
    @cached_property
    def completions(self) -> Any:
        return _AsyncCompletions(self._client)


# --- the clients ---------------------------------------------------------------------------------

_OURS = frozenset(
    {
        "config",
        "degraded",
        "on_attempt",
        "on_retry",
        "on_failover",
        "on_breaker",
        "on_degraded",
        "io_threads",
        "verify",
        "ca_file",
        "max_connections_per_origin",
        "proxy",
        "trust_env",
        "_engine",
    }
)


@functools.lru_cache(maxsize=None)
def _native_names(cls: Any) -> frozenset[str]:
    from ._base import BaseClient

    return _params(cls.__init__) | _params(BaseClient.__init__) | _params(BaseClient.copy)


_COPYING: "contextvars.ContextVar[Any]" = contextvars.ContextVar("llmfailover_copying", default=None)


def _openai_timeout(value: Any) -> Any:
    return httpx2.Timeout(**value.as_dict()) if isinstance(value, Timeout) else value


class Stream(_streaming.Stream[Any], openai.Stream[Any]):  # type: ignore[misc]
    """The native chunk stream, also an ``openai.Stream`` so ``isinstance`` checks written for
    openai hold; every method is the native one (openai's ``__init__`` is never called)."""


class AsyncStream(_streaming.AsyncStream[Any], openai.AsyncStream[Any]):  # type: ignore[misc]
    """The native async chunk stream, also an ``openai.AsyncStream``; ``aclose`` as openai's."""

    async def aclose(self) -> None:
        await self.close()


class _Surface:
    """What the four classes share; ``_native_cls`` is the look-alike client on the same engine."""

    _native_cls: Any
    _openai_cls: Any
    _is_async: bool
    _native: Any

    def __init__(self, **kwargs: Any) -> None:
        native = _COPYING.get()
        _COPYING.set(None)
        oa_names = _params(self._openai_cls.__init__)
        http_client = kwargs.get("http_client") if native is not None else None  # a copy shares it
        if native is None:
            names = _native_names(self._native_cls)
            native = self._native_cls(**{k: v for k, v in kwargs.items() if k in names or k not in oa_names})
        self._native = native
        native._stream_cls = AsyncStream if self._is_async else Stream
        oa = {k: v for k, v in kwargs.items() if k in oa_names and k != "http_client"}
        oa["timeout"] = _openai_timeout(native.timeout)
        if native._router is not None:
            if not oa.get("api_key") and "azure_ad_token" not in oa and "azure_ad_token_provider" not in oa:
                oa["api_key"] = "llmfailover-router"  # never sent: the transport drops credentials
            oa["max_retries"] = 0  # the router retries and fails over
        transport_cls = AsyncTransport if self._is_async else Transport
        http_cls = httpx2.AsyncClient if self._is_async else httpx2.Client
        http_client = http_client or http_cls(transport=transport_cls(max_retries=0, _engine=native._engine))
        self._openai_cls.__init__(self, **oa, http_client=http_client)
        self._ready = True

    @cached_property
    def chat(self) -> Any:
        if isinstance(self, openai.AsyncOpenAI):
            return _AsyncChat(self)
        assert isinstance(self, openai.OpenAI)  # each class below is one of the two
        return _Chat(self)

    @cached_property
    def embeddings(self) -> Any:
        if isinstance(self, openai.AsyncOpenAI):
            return _AsyncEmbeddings(self)
        assert isinstance(self, openai.OpenAI)
        return _Embeddings(self)

    @cached_property
    def models(self) -> Any:
        if self._native._router is not None:  # the configured groups, as the look-alike lists them
            return self._native.models
        return self._openai_cls.models.func(self)

    def router_snapshot(self) -> list[dict[str, Any]]:
        """See ``llmfailover._base.BaseClient.router_snapshot``."""
        return self._native.router_snapshot()  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        if name in _NATIVE_ATTRS and "_native" in self.__dict__:
            return getattr(self._native, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def base_url(self) -> Any:
        return self._openai_cls.base_url.fget(self)

    @base_url.setter
    def base_url(self, url: Any) -> None:
        self._openai_cls.base_url.fset(self, url)
        if self.__dict__.get("_ready"):  # not from openai's __init__: the native half has its URL
            self._native.base_url = str(url)

    def copy(self, **changes: Any) -> Any:
        """A new client with some options changed, sharing this client's engine and httpx client.

        openai's ``copy`` builds the new client; the native half is copied first and handed to
        the new client's ``__init__`` (a context variable: openai's copy passes only its own
        arguments)."""
        oa_names = _params(self._openai_cls.copy)
        names = _native_names(self._native_cls)
        warn_copy_http_client(changes.pop("http_client", None))  # openai's half would bypass the engine
        native = self._native.copy(**{k: v for k, v in changes.items() if k in names and k != "http_client"})
        token = _COPYING.set(native)
        try:
            return self._openai_cls.copy(self, **{k: v for k, v in changes.items() if k in oa_names})
        finally:
            _COPYING.reset(token)

    with_options = copy

    def __repr__(self) -> str:
        return repr(self._native)


class OpenAI(_Surface, openai.OpenAI):
    """``openai.OpenAI`` on llmfailover's native engine; see ``llmfailover._client.OpenAI`` for
    the extra arguments (``config=``, ``degraded=``, callbacks, ``io_threads``, ``verify``, ...)."""

    _native_cls, _openai_cls, _is_async = _client.OpenAI, openai.OpenAI, False

    def close(self) -> None:
        """Closes the engine if this client created it (copies share it, as openai's share their
        httpx client). Idempotent."""
        if self._native._owns_engine:
            self._openai_cls.close(self)
        self._native.close()


class AzureOpenAI(_Surface, openai.AzureOpenAI):
    """``openai.AzureOpenAI`` on llmfailover's native engine (see ``OpenAI``)."""

    _native_cls, _openai_cls, _is_async = _azure.AzureOpenAI, openai.AzureOpenAI, False
    close = OpenAI.close


class AsyncOpenAI(_Surface, openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` on llmfailover's native engine (see ``OpenAI``)."""

    _native_cls, _openai_cls, _is_async = _async_client.AsyncOpenAI, openai.AsyncOpenAI, True

    async def close(self) -> None:
        """Closes the engine if this client created it (copies share it). Idempotent."""
        if self._native._owns_engine:
            await self._openai_cls.close(self)
        await self._native.close()


class AsyncAzureOpenAI(_Surface, openai.AsyncAzureOpenAI):
    """``openai.AsyncAzureOpenAI`` on llmfailover's native engine (see ``OpenAI``)."""

    _native_cls, _openai_cls, _is_async = _azure.AsyncAzureOpenAI, openai.AsyncAzureOpenAI, True
    close = AsyncOpenAI.close
