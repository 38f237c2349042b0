"""Batch input: requests from a list, a JSONL file (OpenAI Batch API format) or a pandas Series.

A line of the OpenAI Batch API input file (https://platform.openai.com/docs/api-reference/batch)::

    {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": ..., "messages": [...]}}

Each input becomes an ``Item`` at its position (``index``). A line that cannot be a request (not
JSON, not an object, no ``custom_id``) becomes an invalid item: it is reported with its line number
and the rest runs. A request with a ``custom_id`` but a bad ``url``/``method``/``body`` runs as a
request that fails at once with that error, so its custom_id is still answered exactly once. A
``custom_id`` given twice refuses the whole input before anything runs (``BatchInputError``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import LlmFailoverError

__all__ = ["BatchError", "BatchInputError", "Item", "URLS", "load_items", "fingerprint"]

# The endpoints a batch may call, and the client resource each maps to.
URLS = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}
MAX_LINE_BYTES = 16 * 1024 * 1024  # one request line; longer lines are reported, not parsed


class BatchError(LlmFailoverError):
    """A batch job could not start or continue (bad input, state file, Redis)."""


class BatchInputError(BatchError, ValueError):
    """The input cannot run as a batch (e.g. a custom_id given twice); nothing was sent."""


@dataclass(frozen=True)
class Item:
    """One input entry. ``problem`` is set when it cannot be sent: with ``custom_id`` None the
    entry is an invalid line (it gets an error record, no custom_id); otherwise the request fails
    with ``problem`` as its error. ``line`` is 1-based for files, None for Python inputs."""

    index: int
    custom_id: Optional[str]
    url: str
    body: Any
    line: Optional[int] = None
    problem: Optional[str] = None

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"item {self.index}"


Source = Union[str, "os.PathLike[str]", Iterable[Any], Any]


def load_items(requests: Source, *, model: Optional[str] = None) -> list[Item]:
    """Reads ``requests`` (path of a JSONL file, a list of dicts or strings, a pandas Series) and
    checks custom_ids are unique. ``model`` makes plain strings chat requests to that model."""
    if isinstance(requests, (str, os.PathLike)):
        items = _from_jsonl(Path(requests))
    elif _is_pandas(requests):
        series: Any = requests
        keys = [str(k) for k in series.index]
        items = [_from_value(i, v, keys[i], model) for i, v in enumerate(series.tolist())]
    elif isinstance(requests, Iterable) and not isinstance(requests, (bytes, Mapping)):
        items = [_from_value(i, v, None, model) for i, v in enumerate(requests)]
    else:
        raise BatchInputError(
            f"requests must be a path to a JSONL file, a list of requests or a pandas Series, not {type(requests).__name__}"
        )
    _refuse_duplicates(items)
    return items


def fingerprint(items: list[Item]) -> str:
    """A digest of the job's requests: a state file or Redis job answers only the input it was made for."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps([it.custom_id, it.url, it.body, it.problem], sort_keys=True, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas" and hasattr(obj, "index") and hasattr(obj, "tolist")


def _from_jsonl(path: Path) -> list[Item]:
    try:
        f = open(path, "rb")
    except OSError as e:
        raise BatchInputError(f"cannot read the batch input {str(path)!r}: {e.strerror or e}") from None
    items: list[Item] = []
    with f:
        for number, raw in enumerate(f, start=1):
            if len(raw) > MAX_LINE_BYTES:
                items.append(_invalid(len(items), number, f"longer than {MAX_LINE_BYTES} bytes"))
                continue
            if not raw.strip():
                continue  # blank lines (a trailing newline) are not requests
            try:
                value = json.loads(raw)
            except ValueError as e:  # UnicodeDecodeError and JSONDecodeError
                items.append(_invalid(len(items), number, f"not valid JSON: {e}"))
                continue
            items.append(_from_line(len(items), number, value))
    return items


def _invalid(index: int, line: int, why: str) -> Item:
    return Item(index=index, custom_id=None, url="", body=None, line=line, problem=f"line {line}: {why}")


def _from_line(index: int, line: int, value: Any) -> Item:
    if not isinstance(value, dict):
        return _invalid(index, line, f"a request must be a JSON object, not {type(value).__name__}")
    cid = value.get("custom_id")
    if not isinstance(cid, str) or not cid:
        return _invalid(index, line, "no custom_id (a non-empty string)")
    return _checked(index, cid, value.get("method", "POST"), value.get("url"), value.get("body"), line)


def _from_value(index: int, value: Any, key: Optional[str], model: Optional[str]) -> Item:
    default_id = key if key is not None else f"request-{index}"
    if isinstance(value, str):
        if model is None:
            return Item(index, default_id, "", None, problem="a plain string needs batch(..., model=...)")
        body = {"model": model, "messages": [{"role": "user", "content": value}]}
        return Item(index, default_id, "/v1/chat/completions", body)
    if not isinstance(value, Mapping):
        return Item(
            index, default_id, "", None, problem=f"a request must be a dict or a str, not {type(value).__name__}"
        )
    if "body" in value or "custom_id" in value:  # the Batch API's shape
        cid = value.get("custom_id", default_id)
        if not isinstance(cid, str) or not cid:
            raise BatchInputError(f"item {index}: custom_id must be a non-empty string, not {cid!r}")
        return _checked(index, cid, value.get("method", "POST"), value.get("url"), value.get("body"), None)
    body = dict(value)  # a bare request body: the endpoint follows from its fields
    if model is not None:
        body.setdefault("model", model)
    url = "/v1/embeddings" if "input" in body and "messages" not in body else "/v1/chat/completions"
    return _checked(index, default_id, "POST", url, body, None)


def _checked(index: int, cid: str, method: Any, url: Any, body: Any, line: Optional[int]) -> Item:
    problem = None
    if method != "POST":
        problem = f"method must be POST, not {method!r}"
    elif url not in URLS:
        problem = f"url must be one of {', '.join(URLS)}, not {url!r}"
    elif not isinstance(body, dict):
        problem = f"body must be a JSON object, not {type(body).__name__}"
    elif not isinstance(body.get("model"), str):
        problem = "body.model must be a string (the model group)"
    elif body.get("stream"):
        problem = "body.stream is not supported in a batch"
    return Item(index, cid, url if isinstance(url, str) else "", body, line, problem)


def _refuse_duplicates(items: list[Item]) -> None:
    seen: dict[str, Item] = {}
    for it in items:
        if it.custom_id is None:
            continue
        first = seen.setdefault(it.custom_id, it)
        if first is not it:
            raise BatchInputError(
                f"custom_id {it.custom_id!r} appears twice ({first.where} and {it.where}); "
                "each request needs its own custom_id (nothing was sent)"
            )
