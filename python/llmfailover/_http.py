"""Small httpx-shaped values for what openai's exceptions and raw responses expose.

openai 3.x wants ``httpx2`` objects in its exceptions, but reads only ``.status_code``,
``.headers``, ``.request`` and (since openai 3.60, to strip redirect hops of credentials)
``.history``, ``.next_request`` and ``.extensions`` from them (drop_in.md §0.2, verified with the
installed openai), so these duck-typed values serve both with and without openai. No credentials are stored here: the
request keeps method and URL only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, TypeVar, Union, overload

__all__ = ["Headers", "Request", "Response", "NO_HEADERS"]

_T = TypeVar("_T")


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued response headers; repeated names join with ", " (like httpx)."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = items if isinstance(items, list) else [(str(k), str(v)) for k, v in items]
        self._index: Optional[dict[str, str]] = None

    def _lookup(self) -> dict[str, str]:
        if self._index is None:  # built on first lookup: most responses are never asked
            index: dict[str, str] = {}
            for k, v in self._items:
                key = k.lower()
                index[key] = f"{index[key]}, {v}" if key in index else v
            self._index = index
        return self._index

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def get_list(self, key: str) -> list[str]:
        lower = key.lower()
        return [v for k, v in self._items if k.lower() == lower]

    @overload
    def get(self, key: str) -> Optional[str]: ...
    @overload
    def get(self, key: str, default: Union[str, _T]) -> Union[str, _T]: ...
    def get(self, key: str, default: Any = None) -> Any:
        if self._index is None and len(self._items) <= 16:  # one look-up (x-request-id): a scan, no index
            lower, found = key.lower(), None
            for k, v in self._items:
                if k.lower() == lower:
                    found = v if found is None else f"{found}, {v}"
            return default if found is None else found
        return self._lookup().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._lookup()[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


NO_HEADERS = Headers([])  # shared: Headers is read-only, and an empty one's index is {}


class Request:
    """The method and URL of a request (the ``request`` of an exception or raw response)."""

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url
        self.headers = NO_HEADERS

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {self.url!r})>"


class Response:
    """A finished HTTP response: status, headers and (when read) the body."""

    def __init__(self, status_code: int, headers: Headers, request: Request, content: bytes = b"") -> None:
        self.status_code = status_code
        self.headers = headers
        self.request = request
        self.content = content
        self.history: list[Response] = []  # no redirects are followed
        self.next_request: Optional[Request] = None
        self.extensions: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return self.request.url

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_closed(self) -> bool:
        return True

    def json(self, **kwargs: Any) -> Any:
        """The body decoded (as httpx); a body nested too deeply to decode raises ValueError
        (a ``json.JSONDecodeError``), never a bare RecursionError."""
        try:
            return json.loads(self.content, **kwargs)
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply to decode", self.text[:64], 0) from None

    def read(self) -> bytes:
        return self.content

    def close(self) -> None:
        pass

    @property
    def request_id(self) -> Optional[str]:
        return self.headers.get("x-request-id")

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"
