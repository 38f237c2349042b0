"""llmfailover: a native (C++) failover engine, used as a drop-in for the openai client.

    from llmfailover import OpenAI        # instead of: from openai import OpenAI

Results are openai's own types when ``openai`` is installed (else look-alikes from
``llmfailover.types``), and exceptions are catchable as ``openai.*`` as well as ``llmfailover.*``.

Failover: ``OpenAI(config="router.yaml")`` routes by model group through the native router;
``route_info(result)`` (or ``result._llmfailover``, ``error.route``) shows what was tried.

Observability: ``llmfailover.metrics`` (Prometheus collector, OpenTelemetry instruments),
``llmfailover.tracing`` (OpenTelemetry spans), ``route_info(result).cost`` (``llmfailover.cost``).
"""

from __future__ import annotations

import sys as _sys
import typing as _typing
from typing import Any as _Any
from typing import Optional as _Optional

from . import cost, metrics, tracing, types
from ._base import LlmFailoverWarning
from ._compat import HAS_OPENAI as _HAS_OPENAI
from ._response import LegacyAPIResponse
from ._routing import AttemptInfo, RouteInfo, route_info
from ._sentinels import NOT_GIVEN, NotGiven, Omit, not_given, omit
from ._streaming import AsyncStream, Stream
from ._timeouts import DEFAULT_TIMEOUT, Timeout
from .config import Config, ConfigError, load_config
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConflictError,
    InternalServerError,
    LlmFailoverError,
    NoTargetAvailable,
    NotFoundError,
    OpenAIError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterrupted,
    TransportError,
    UnprocessableEntityError,
)

# Type checkers see openai's subclasses (what a program with openai installed gets); the look-alikes
# have the same surface for the resources they implement.
if _typing.TYPE_CHECKING or _HAS_OPENAI:  # subclasses of openai's clients: every resource, through the native engine
    from ._openai_classes import AsyncAzureOpenAI, AsyncOpenAI, AzureOpenAI, OpenAI
else:  # the look-alikes: chat.completions, embeddings and models
    from ._async_client import AsyncOpenAI
    from ._azure import AsyncAzureOpenAI, AzureOpenAI
    from ._client import OpenAI

__version__ = "0.1.0"


# The module-level client's settings (``llmfailover.chat...`` uses them; see _module_client).
api_key: _Optional[str] = None
organization: _Optional[str] = None
project: _Optional[str] = None
base_url: _Optional[str] = None
timeout: _Any = None
max_retries: _Optional[int] = None
default_headers: _Optional[dict] = None  # type: ignore[type-arg]
default_query: _Optional[dict] = None  # type: ignore[type-arg]
router_config: _Any = None  # ours: the module client's config= (``llmfailover.config`` is the module)


def __getattr__(name: str) -> _Any:
    # Only for names not set: submodules (`from . import _core`) must get a plain AttributeError,
    # so that the import system loads them.
    if not name.startswith("_"):
        from importlib import import_module

        if name in ("Transport", "AsyncTransport"):  # imported on first use: they need httpx2 or httpx
            return getattr(import_module("._transport", __name__), name)
        if name == "batch":  # the subpackage is callable: llmfailover.batch(requests, config=...)
            return import_module(".batch", __name__)
        module_client = import_module("._module_client", __name__)
        if name in module_client.RESOURCES:
            return getattr(module_client.module_client(_sys.modules[__name__]), name)
    raise AttributeError(f"module 'llmfailover' has no attribute {name!r}")


__all__ = [
    "__version__",
    # clients
    "OpenAI",
    "AsyncOpenAI",
    "AzureOpenAI",
    "AsyncAzureOpenAI",
    "Stream",
    "AsyncStream",
    "LegacyAPIResponse",
    "Timeout",
    "DEFAULT_TIMEOUT",
    "types",
    "Transport",
    "AsyncTransport",
    # the module-level client's settings
    "api_key",
    "organization",
    "project",
    "base_url",
    "timeout",
    "max_retries",
    "default_headers",
    "default_query",
    "router_config",
    # failover
    "load_config",
    "Config",
    "ConfigError",
    "RouteInfo",
    "AttemptInfo",
    "route_info",
    # durable batch jobs (the subpackage is callable: llmfailover.batch(requests, config=...))
    "batch",
    # observability (Prometheus / OpenTelemetry metrics, tracing, cost)
    "metrics",
    "tracing",
    "cost",
    # sentinels
    "NOT_GIVEN",
    "NotGiven",
    "not_given",
    "Omit",
    "omit",
    # errors
    "LlmFailoverError",
    "LlmFailoverWarning",
    "OpenAIError",
    "APIError",
    "APIStatusError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "BudgetExceededError",
    "InternalServerError",
    "TransportError",
    "NoTargetAvailable",
    "StreamInterrupted",
]
