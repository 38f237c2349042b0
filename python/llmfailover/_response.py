"""Building results from response bytes, and the raw-response object of ``with_raw_response``.

Fast path: ``cls.model_validate_json(bytes)``. Providers send off-enum values (Mistral's
``finish_reason="model_length"``, Azure's prelude chunk with ``object: ""``) that validation
rejects; then we fall back to the non-validating recursive ``construct`` (drop_in.md §1.7), unless
``_strict_response_validation`` asks for ``APIResponseValidationError``.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable, Generic, Optional, TypeVar

import pydantic

from ._http import Headers, Request, Response
from .errors import APIResponseValidationError

__all__ = ["parse_model", "construct_model", "set_request_id", "decode_json", "LegacyAPIResponse"]

T = TypeVar("T")


def construct_model(cls: Any, data: Any) -> Any:
    """Build ``cls`` from decoded JSON without validation, nested models included."""
    if not isinstance(data, dict):
        return data
    return cls.construct(**data)


def decode_json(content: bytes) -> Any:
    """Upstream bytes as JSON, or as text when they are not JSON or nest too deeply for
    ``json.loads`` (a RecursionError must not replace the API's error or result)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return content.decode("utf-8", errors="replace")


def set_request_id(obj: Any, request_id: Optional[str]) -> None:
    try:
        cls = type(obj)
        plain = _UNDECLARED.get(cls)
        if plain is None:
            if len(_UNDECLARED) >= 256:  # classes made at run time must not grow it without bound
                _UNDECLARED.clear()
            plain = _UNDECLARED[cls] = _undeclared_request_id(cls)
        if plain:
            object.__setattr__(obj, "_request_id", request_id)  # what pydantic's __setattr__ does for it
        else:
            obj._request_id = request_id
    except (AttributeError, ValueError):  # not a model (e.g. a list)
        pass


_UNDECLARED: dict[type, bool] = {}  # per result class: _undeclared_request_id()


def _undeclared_request_id(cls: type) -> bool:
    """Whether ``cls`` is a pydantic model that does not declare ``_request_id`` (openai's models):
    pydantic's ``BaseModel.__setattr__`` then stores it with ``object.__setattr__`` (pydantic 2
    ``main.py``, ``_setattr_handler``: an underscore name that is no private attribute), which is
    called directly, without the ~1.3 µs of looking that up on every answer."""
    return (
        isinstance(cls, type)
        and issubclass(cls, pydantic.BaseModel)
        and "_request_id" not in getattr(cls, "__private_attributes__", {"_request_id": None})
        and "_request_id" not in getattr(cls, "__class_vars__", {"_request_id"})
        and "__setattr__" not in _own_attrs_below_basemodel(cls)
    )


def _own_attrs_below_basemodel(cls: type) -> set[str]:
    """Names defined by ``cls`` and its bases below ``pydantic.BaseModel`` (an override of
    ``__setattr__`` there must run)."""
    names: set[str] = set()
    for base in cls.__mro__:
        if base is pydantic.BaseModel:
            break
        names.update(vars(base))
    return names


def parse_model(
    cls: Any,
    content: bytes,
    response: Response,
    *,
    strict: bool = False,
    data: Any = None,
    request_id: bool = True,
) -> Any:
    """``cls`` from JSON bytes (or from already decoded ``data``), tolerant unless ``strict``."""
    try:
        if data is None:
            obj = cls.model_validate_json(content)
        else:
            obj = cls.model_validate(data)
    except pydantic.ValidationError as exc:
        if data is None:
            data = decode_json(content)
        if strict or not isinstance(data, dict):
            raise APIResponseValidationError(response=response, body=data) from exc
        obj = construct_model(cls, data)
    if request_id:
        set_request_id(obj, response.headers.get("x-request-id"))
    return obj


class LegacyAPIResponse(Generic[T]):
    """What ``with_raw_response.<method>()`` returns: the HTTP facts plus ``parse()``.

    Shaped like openai's ``LegacyAPIResponse`` (LangChain calls ``.parse()`` and ``.headers``).
    """

    def __init__(
        self,
        *,
        response: Response,
        parser: Callable[[], T],
        retries_taken: int = 0,
        elapsed: float = 0.0,
    ) -> None:
        self.http_response = response
        self.retries_taken = retries_taken
        self._parser = parser
        self._parsed: Any = _UNPARSED
        self._elapsed = elapsed

    def parse(self, *, to: Optional[type] = None) -> T:
        """The result ``create()`` would have returned (cached), or the body as ``to``."""
        if to is not None:
            return _parse_to(to, self.http_response)  # type: ignore[no-any-return]
        if self._parsed is _UNPARSED:
            self._parsed = self._parser()
        return self._parsed  # type: ignore[no-any-return]

    @property
    def headers(self) -> Headers:
        return self.http_response.headers

    @property
    def http_request(self) -> Request:
        return self.http_response.request

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def request_id(self) -> Optional[str]:
        return self.http_response.headers.get("x-request-id")

    @property
    def url(self) -> str:
        return self.http_response.url

    @property
    def method(self) -> str:
        return self.http_response.method

    @property
    def http_version(self) -> str:
        return "HTTP/1.1"

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return self.http_response.json()

    @property
    def is_closed(self) -> bool:
        return True

    @property
    def elapsed(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self._elapsed)

    def __repr__(self) -> str:
        return f"<LegacyAPIResponse [{self.status_code}] {self.method} {self.url}>"


_UNPARSED: Any = object()


def _parse_to(to: type, response: Response) -> Any:
    if to is str:
        return response.text
    if to is bytes:
        return response.content
    if isinstance(to, type) and issubclass(to, pydantic.BaseModel):
        return parse_model(to, response.content, response)
    return response.json()
