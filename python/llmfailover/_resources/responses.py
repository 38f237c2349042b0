"""``responses.create`` (plain and ``stream=True``) for the look-alike clients, without openai.

With openai installed the clients are openai's subclasses and ``responses`` is openai's own code
over ``llmfailover.Transport``; this serves the look-alikes. Results are ``types._responses``
models; arguments are sent as given (the Responses API has too many to list here).
"""

from __future__ import annotations

from typing import Any

from .._http import Response
from .._response import parse_model
from ..types._responses import Response as ResponseModel
from ..types._responses import ResponseStreamEvent
from . import Resource

__all__ = ["Responses", "AsyncResponses"]


def _parse(response: Response, strict: bool) -> Any:
    return parse_model(ResponseModel, response.content, response, strict=strict)


class Responses(Resource):
    def create(self, **params: Any) -> Any:
        """POST /responses -> Response; with ``stream=True`` a ``Stream`` of ResponseStreamEvent."""
        return self._create(params=params, raw=False)

    def _create(self, params: dict[str, Any], raw: bool) -> Any:
        spec = self._client._spec("POST", "/responses", params, parse=_parse, chunk_cls=ResponseStreamEvent)
        return self._client._request(spec, raw=raw)


class AsyncResponses(Responses):
    async def create(self, **params: Any) -> Any:  # type: ignore[override]
        """POST /responses; with ``stream=True`` an ``AsyncStream`` of ResponseStreamEvent."""
        return await self._create(params=params, raw=False)
