"""Exceptions raised by llmfailover, mirroring openai-python's tree.

::

    LlmFailoverError(Exception)                  every llmfailover exception
    └ OpenAIError                                 (also openai.OpenAIError when openai imports)
      └ APIError(message, request, *, body)       .message .request .body .code .param .type
        ├ APIStatusError(message, *, response, body)   .response .status_code .request_id
        │  ├ BadRequestError 400        ├ AuthenticationError 401   ├ PermissionDeniedError 403
        │  ├ NotFoundError 404          ├ ConflictError 409         ├ UnprocessableEntityError 422
        │  ├ RateLimitError 429         └ InternalServerError >= 500
        │  │  └ BudgetExceededError 429   a spend cap of the config's budgets: (.budget)
        ├ APIConnectionError(*, message, request)     we failed to reach the upstream
        │  ├ APITimeoutError(request)                 ... because a time limit passed
        │  └ NoTargetAvailable(*, message, request)   the router had no target left (no_target)
        ├ StreamInterrupted(message, request, ...)    a committed stream broke: .partial .cause
        └ APIResponseValidationError(response, body, *, message=None)
    TransportError(LlmFailoverError)              the native cause (.errc, .detail), chained as
                                                  ``__cause__`` of APIConnectionError/APITimeoutError

When ``openai`` is importable each class also derives from openai's class of the same name, so
``except openai.RateLimitError`` catches ours (drop_in.md §1.5). The engine has already retried
(``max_retries``) and failed over before any of these is raised.

Exceptions raised by a client built with ``config=`` (the failover router) carry ``.route``, a
``RouteInfo``: every attempt, its error and what the router decided (None otherwise).

``make_error`` is the one place where an engine outcome becomes an exception, most specific first.
Messages never contain credentials: callers pass their secrets, which are scrubbed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from ._compat import openai_module
from ._http import Headers, Request, Response

if TYPE_CHECKING:
    from ._routing import RouteInfo

__all__ = [
    "LlmFailoverError",
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
    "make_error",
    "make_stream_error",
]

_oa = openai_module()
_OWN = _oa is None  # define our own __init__s only when openai's are not inherited


def _bases(name: str, *ours: type) -> tuple[type, ...]:
    return ours if _oa is None else (getattr(_oa, name), *ours)


class LlmFailoverError(Exception):
    """Base of every exception llmfailover raises."""


class OpenAIError(*_bases("OpenAIError", LlmFailoverError)):  # type: ignore[misc]
    pass


class APIError(*_bases("APIError", OpenAIError)):  # type: ignore[misc]
    message: str
    request: Request
    body: object
    code: Optional[str] = None
    param: Optional[str] = None
    type: Optional[str] = None
    route: "Optional[RouteInfo]" = None  # set by routed clients: what was tried and why

    if _OWN:

        def __init__(self, message: str, request: Request, *, body: object) -> None:
            super().__init__(message)
            self.request = request
            self.message = message
            self.body = body
            if isinstance(body, dict):
                code = body.get("code")
                self.code = str(code) if code is not None else None
                param, kind = body.get("param"), body.get("type")
                self.param = param if isinstance(param, str) else None
                self.type = kind if isinstance(kind, str) else None


class APIResponseValidationError(*_bases("APIResponseValidationError", APIError)):  # type: ignore[misc]
    if _OWN:

        def __init__(self, response: Response, body: object, *, message: Optional[str] = None) -> None:
            super().__init__(
                message or "Data returned by API invalid for expected schema.", response.request, body=body
            )
            self.response = response
            self.status_code = response.status_code


class APIStatusError(*_bases("APIStatusError", APIError)):  # type: ignore[misc]
    """The upstream answered with a 4xx or 5xx status (after retries and failover)."""

    if _OWN:

        def __init__(self, message: str, *, response: Response, body: object) -> None:
            super().__init__(message, response.request, body=body)
            self.response = response
            self.status_code = response.status_code
            self.request_id = response.headers.get("x-request-id")


class APIConnectionError(*_bases("APIConnectionError", APIError)):  # type: ignore[misc]
    """No usable answer arrived: connect, TLS, reset, closed connection, malformed stream."""

    if _OWN:

        def __init__(self, *, message: str = "Connection error.", request: Request) -> None:
            super().__init__(message, request, body=None)


class APITimeoutError(*_bases("APITimeoutError", APIConnectionError)):  # type: ignore[misc]
    if _OWN:

        def __init__(self, request: Request) -> None:
            super().__init__(message="Request timed out.", request=request)


class NoTargetAvailable(APIConnectionError):
    """The router had nothing to try: every target open, cooling down, or already tried.

    The message says why (e.g. ``no available target in group 'smart'``)."""

    def __init__(self, *, message: str, request: Request) -> None:
        super().__init__(message=message, request=request)


class StreamInterrupted(APIError):
    """A stream broke after its first content token (cut, stall, error event): never a success.

    ``partial`` is the text delivered so far (choice 0's delta contents), ``cause`` the native
    ``TransportError`` (``.errc == "stream_interrupted"``, ``.detail`` says what broke) and
    ``route`` the attempts. Also an ``openai.APIError``, as openai raises for mid-stream failures.
    """

    def __init__(
        self,
        message: str,
        request: Request,
        *,
        partial: str = "",
        cause: Optional["TransportError"] = None,
        route: "Optional[RouteInfo]" = None,
    ) -> None:
        super().__init__(message, request, body=None)
        self.partial = partial
        self.cause = cause
        self.route = route


class BadRequestError(*_bases("BadRequestError", APIStatusError)):  # type: ignore[misc]
    pass


class AuthenticationError(*_bases("AuthenticationError", APIStatusError)):  # type: ignore[misc]
    pass


class PermissionDeniedError(*_bases("PermissionDeniedError", APIStatusError)):  # type: ignore[misc]
    pass


class NotFoundError(*_bases("NotFoundError", APIStatusError)):  # type: ignore[misc]
    pass


class ConflictError(*_bases("ConflictError", APIStatusError)):  # type: ignore[misc]
    pass


class UnprocessableEntityError(*_bases("UnprocessableEntityError", APIStatusError)):  # type: ignore[misc]
    pass


class RateLimitError(*_bases("RateLimitError", APIStatusError)):  # type: ignore[misc]
    pass


class InternalServerError(*_bases("InternalServerError", APIStatusError)):  # type: ignore[misc]
    pass


class BudgetExceededError(RateLimitError):
    """A spend cap of the config's ``budgets:`` is reached: the call's tag is over its budget,
    or every target that could serve it is (README "Budgets"). Raised before any upstream attempt.

    A ``RateLimitError`` (status 429, ``code == "budget_exceeded"``) because that is what openai
    users already catch for "no more spend now": OpenAI answers an exhausted billing quota with a
    429 ``insufficient_quota``. ``budget`` is a dict: scope (group, key, tag), name, period (hour,
    day, month), limit_usd, spent_usd, period_start and resets_at (UTC, ISO 8601)."""

    budget: dict[str, Any]


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


class TransportError(LlmFailoverError):
    """The engine's own failure code (``errc``, e.g. "connection_reset") and detail text."""

    def __init__(self, errc: str, detail: str) -> None:
        super().__init__(f"{errc}: {detail}" if detail else errc)
        self.errc = errc
        self.detail = detail


# The one table from a native error code (``llmfailover._core.Errc``, whose members are str: the
# table is keyed by the words, so it needs no native module) to the exception a call raises; any
# other code is a connection error (openai's APIConnectionError). tests/py/test_typed_boundary.py
# checks every key is an Errc member.
_BY_ERRC: dict[str, type[APIError]] = {
    "stream_interrupted": StreamInterrupted,
    "no_target": NoTargetAvailable,
    "connect_timeout": APITimeoutError,
    "first_byte_timeout": APITimeoutError,
    "idle_timeout": APITimeoutError,
    "deadline_exceeded": APITimeoutError,
}


# Where a secret is masked: the rule of the router's C++ scrubber (cpp/include/llmfailover/
# secret_set.hpp), called through the native module (``_core.scrub_text``). A secret of
# _MIN_SECRET characters or more everywhere, inside longer tokens too; a shorter one (a local
# server's "k", "none", "EMPTY") only as a whole token, where no key character ([A-Za-z0-9_-], or a
# '.' between two of them) touches it: "Bearer k", "key=k&" and "k." are masked, "handshake" and
# "k.example.com" stay readable. _scrub_python is the same rule for a source tree without the
# built module (tests/py/test_errors.py checks the two agree).
_MIN_SECRET = 8
_MASK = "***"
_BEFORE = r"(?<![A-Za-z0-9_\-])(?<![A-Za-z0-9_\-]\.)"
_AFTER = r"(?![A-Za-z0-9_\-])(?!\.[A-Za-z0-9_\-])"
_native_scrub: Optional[Callable[[str, list[str]], str]] = None


def _scrub_python(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):  # longest first
        if secret not in text:
            continue
        if len(secret) >= _MIN_SECRET:
            text = text.replace(secret, _MASK)
        else:
            text = re.sub(_BEFORE + re.escape(secret) + _AFTER, _MASK, text)
    return text


def _scrubber() -> Callable[[str, list[str]], str]:
    global _native_scrub
    if _native_scrub is None:
        try:
            from ._core import scrub_text
        except ImportError:  # a source tree without the built module (or one built before it had it)
            return lambda text, secrets: _scrub_python(text, secrets)
        _native_scrub = scrub_text
    return _native_scrub


def _scrub(text: str, secrets: Iterable[str]) -> str:
    given = [s for s in secrets if s]
    if not any(s in text for s in given):
        return text
    try:
        return _scrubber()(text, given)
    except (TypeError, UnicodeError):  # a lone surrogate has no UTF-8 form: pybind11 refuses the str
        return _scrub_python(text, given)


def _scrub_body(body: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(body, str):
        return _scrub(body, secrets)
    if isinstance(body, Mapping):
        return {_scrub(str(k), secrets): _scrub_body(v, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [_scrub_body(v, secrets) for v in body]
    if json.dumps(body) in secrets:  # a number or literal spelled like a (short) key
        return _MASK
    return body


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def make_error(
    request: Request,
    *,
    status: Optional[int] = None,
    headers: Optional[Headers] = None,
    content: bytes = b"",
    errc: str = "",
    detail: str = "",
    secrets: Iterable[str] = (),
) -> APIError:
    """The exception for one failed call: a native error code, or an error status with its body.

    Mirrors openai's ``_make_status_error_from_response``: body = ``body["error"]`` when present;
    message ``"Error code: {status} - {error.message}"`` (openai 3.x wording).
    """
    secrets = tuple(s for s in secrets if s)
    if errc:
        detail = _scrub(detail, secrets)
        cause = TransportError(errc, detail)
        exc: APIError
        cls = _BY_ERRC.get(errc, APIConnectionError)
        if cls is StreamInterrupted:
            exc = StreamInterrupted(detail or "The stream was interrupted.", request, cause=cause)
        elif cls is NoTargetAvailable:
            exc = NoTargetAvailable(message=detail or "No target available.", request=request)
        else:
            exc = cls(request=request)  # type: ignore[call-arg]
        exc.__cause__ = cause
        return exc
    assert status is not None, "make_error needs a status or an errc"
    raw = content.decode("utf-8", errors="replace").strip()
    text = _scrub(raw, secrets)
    body: Any = text
    message = f"Error code: {status}"
    try:  # parsed before scrubbing: a short key spelled like a JSON value must not break the JSON
        body = _scrub_body(json.loads(raw), secrets)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode: the text
        body = text
    else:
        if text != raw and not _is_json(text):  # as the router does (secrets.cpp): it stays JSON
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        error = body.get("error", body) if isinstance(body, Mapping) else None
        msg = error.get("message") if isinstance(error, Mapping) else None
        if isinstance(msg, str) and msg:
            message += f" - {msg}"
    response = Response(status, headers or Headers(), request, text.encode())
    data = body.get("error", body) if isinstance(body, Mapping) else body
    if status == 429 and response.headers.get("x-llmfailover-budget") and isinstance(data, Mapping):
        exc = BudgetExceededError(message, response=response, body=data)
        exc.budget = dict(data.get("budget") or {})
        return exc
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(message, response=response, body=data)


def make_stream_error(data: Mapping[str, Any], request: Request) -> APIError:
    """A data object with "error" inside an SSE stream, as openai's ``Stream`` raises it."""
    error = data.get("error")
    message = error.get("message") if isinstance(error, Mapping) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return APIError(message=message, request=request, body=error)
