"""llmfailover: a native (C++) failover engine, used as a drop-in for the openai client.

    from llmfailover import OpenAI        # instead of: from openai import OpenAI

Results are openai's own types when ``openai`` is installed (else look-alikes from
``llmfailover.types``), and exceptions are catchable as ``openai.*`` as well as ``llmfailover.*``.
"""

from __future__ import annotations

from . import types
from ._async_client import AsyncOpenAI
from ._azure import AsyncAzureOpenAI, AzureOpenAI
from ._base import LlmFailoverWarning
from ._client import OpenAI
from ._response import LegacyAPIResponse
from ._sentinels import NOT_GIVEN, NotGiven, Omit, not_given, omit
from ._streaming import AsyncStream, Stream
from ._timeouts import DEFAULT_TIMEOUT, Timeout
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LlmFailoverError,
    NotFoundError,
    OpenAIError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
    UnprocessableEntityError,
)

__version__ = "0.1.0"

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
    "InternalServerError",
    "TransportError",
]
