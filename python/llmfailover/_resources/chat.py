"""``chat.completions.create`` (and the ``beta.chat`` alias)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from .._compat import response_types
from .._http import Response
from .._response import parse_model
from . import Resource
from ._params import check_kwargs

__all__ = ["Chat", "Completions", "AsyncCompletions", "Beta"]


def _parse_completion(response: Response, strict: bool) -> Any:
    return parse_model(response_types()["ChatCompletion"], response.content, response, strict=strict)


class Completions(Resource):
    def create(self, *, messages: Any, model: str, **params: Any) -> Any:
        """POST /chat/completions. Every argument is sent as given (unknown ones too); with
        ``stream=True`` returns a ``Stream`` of ``ChatCompletionChunk``."""
        return self._create(params={"messages": messages, "model": model, **params}, raw=False)

    def _create(self, params: dict[str, Any], raw: bool) -> Any:
        check_kwargs(params, "chat")
        spec = self._client._spec(
            "POST",
            "/chat/completions",
            params,
            parse=_parse_completion,
            chunk_cls=response_types()["ChatCompletionChunk"],
        )
        return self._client._request(spec, raw=raw)


class AsyncCompletions(Completions):
    async def create(self, *, messages: Any, model: str, **params: Any) -> Any:  # type: ignore[override]
        """POST /chat/completions; with ``stream=True`` returns an ``AsyncStream``."""
        return await self._create(params={"messages": messages, "model": model, **params}, raw=False)


class Chat(Resource):
    @cached_property
    def completions(self) -> Completions:
        cls = AsyncCompletions if self._client._is_async else Completions
        return cls(self._client)


class Beta(Resource):
    """``client.beta.chat.completions``: the pre-1.92 alias of ``client.chat.completions``."""

    @cached_property
    def chat(self) -> Chat:
        return self._client.chat  # type: ignore[no-any-return]
