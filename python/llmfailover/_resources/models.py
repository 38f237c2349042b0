"""``models.list()`` and ``models.retrieve()``."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Generator, Generic, Iterator, TypeVar
from urllib.parse import quote

from .._compat import response_types
from .._http import Response
from .._response import decode_json, parse_model, set_request_id
from ..errors import APIResponseValidationError
from . import Resource

__all__ = ["Models", "AsyncModels", "SyncPage", "AsyncPage", "AsyncPaginator"]

T = TypeVar("T")


class SyncPage(Generic[T]):
    """A list endpoint's single page: ``.data``, ``.object``, iteration over the items."""

    def __init__(self, data: list[T], object: str = "list") -> None:
        self.data = data
        self.object = object
        self._request_id: Any = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def has_next_page(self) -> bool:
        return False

    def iter_pages(self) -> Iterator["SyncPage[T]"]:
        yield self

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "data": [getattr(m, "to_dict", lambda m=m: m)() for m in self.data]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, object={self.object!r})"


class AsyncPage(SyncPage[T]):
    async def __aiter__(self) -> AsyncIterator[T]:  # type: ignore[override]
        for item in self.data:
            yield item


class AsyncPaginator(Generic[T]):
    """What async ``list()`` returns: ``await`` it for the page, or ``async for`` over items."""

    def __init__(self, fetch: Callable[[], Awaitable["AsyncPage[T]"]]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, "AsyncPage[T]"]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch()
        for item in page.data:
            yield item


def _parse_page(response: Response, strict: bool, *, page_cls: type = SyncPage) -> Any:
    cls = response_types()["Model"]
    body = decode_json(response.content)
    items = body.get("data") or [] if isinstance(body, dict) else None
    if not isinstance(items, list):  # not JSON, not an object, or "data" is not a list
        raise APIResponseValidationError(response=response, body=body)
    models = [parse_model(cls, b"", response, strict=strict, data=d, request_id=False) for d in items]
    page = page_cls([m for m in models], body.get("object") or "list")
    set_request_id(page, response.headers.get("x-request-id"))
    return page


def _parse_model(response: Response, strict: bool) -> Any:
    return parse_model(response_types()["Model"], response.content, response, strict=strict)


class Models(Resource):
    def list(self, **params: Any) -> Any:
        """GET /models -> a page of Model (``.data``; iterable)."""
        return self._list(params=params, raw=False)

    def retrieve(self, model: str, **params: Any) -> Any:
        """GET /models/{model} -> Model."""
        return self._retrieve(model, params=params, raw=False)

    def _list(self, params: dict[str, Any], raw: bool) -> Any:
        page_cls = AsyncPage if self._client._is_async else SyncPage
        spec = self._client._spec("GET", "/models", params, parse=lambda r, s: _parse_page(r, s, page_cls=page_cls))
        return self._client._request(spec, raw=raw)

    def _retrieve(self, model: str, params: dict[str, Any], raw: bool) -> Any:
        if not model:
            raise ValueError(f"Expected a non-empty value for `model` but received {model!r}")
        spec = self._client._spec("GET", f"/models/{quote(model, safe='')}", params, parse=_parse_model)
        return self._client._request(spec, raw=raw)


class AsyncModels(Models):
    def list(self, **params: Any) -> AsyncPaginator[Any]:  # type: ignore[override]
        """GET /models: ``await`` for the page or ``async for`` over the models."""
        return AsyncPaginator(lambda: self._list(params=params, raw=False))

    async def retrieve(self, model: str, **params: Any) -> Any:  # type: ignore[override]
        """GET /models/{model} -> Model."""
        return await self._retrieve(model, params=params, raw=False)
