"""``embeddings.create``.

Like openai-python: when the caller omits ``encoding_format`` we ask for "base64" (a quarter of
the bytes of JSON floats) and decode it to lists of floats ourselves.
"""

from __future__ import annotations

import array
import base64
import sys
from functools import partial
from typing import Any

from .._compat import response_types
from .._http import Response
from .._response import decode_json, parse_model
from .._sentinels import NOT_GIVEN, is_given
from . import Resource
from ._params import check_kwargs

__all__ = ["Embeddings", "AsyncEmbeddings", "decode_base64_floats"]


def decode_base64_floats(text: str) -> list[float]:
    """Little-endian float32s, as the API sends them, to a list of floats."""
    raw = base64.b64decode(text)
    try:
        import numpy as np
    except ImportError:
        values = array.array("f", raw)
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()
    return np.frombuffer(raw, dtype="<f4").tolist()  # type: ignore[no-any-return]


def _parse(response: Response, strict: bool, *, decode: bool) -> Any:
    cls = response_types()["CreateEmbeddingResponse"]
    if not decode:
        return parse_model(cls, response.content, response, strict=strict)
    data = decode_json(response.content)
    for item in data.get("data") or () if isinstance(data, dict) else ():
        if isinstance(item, dict) and isinstance(item.get("embedding"), str):
            item["embedding"] = decode_base64_floats(item["embedding"])
    return parse_model(cls, response.content, response, strict=strict, data=data)


class Embeddings(Resource):
    def create(self, *, input: Any, model: str, **params: Any) -> Any:
        """POST /embeddings -> CreateEmbeddingResponse."""
        return self._create(params={"input": input, "model": model, **params}, raw=False)

    def _create(self, params: dict[str, Any], raw: bool) -> Any:
        check_kwargs(params, "embeddings")
        decode = not is_given(params.get("encoding_format", NOT_GIVEN))
        if decode:
            params["encoding_format"] = "base64"
        spec = self._client._spec("POST", "/embeddings", params, parse=partial(_parse, decode=decode))
        return self._client._request(spec, raw=raw)


class AsyncEmbeddings(Embeddings):
    async def create(self, *, input: Any, model: str, **params: Any) -> Any:  # type: ignore[override]
        """POST /embeddings -> CreateEmbeddingResponse."""
        return await self._create(params={"input": input, "model": model, **params}, raw=False)
