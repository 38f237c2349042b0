"""The keyword arguments openai's ``create`` methods take, so an unknown one is a ``TypeError``
(as Python raises it for openai's own methods) and a typo such as ``temprature=`` is never sent.

With openai installed the names come from its signatures (a newer openai's new parameters work at
once); without it, from openai-python 3.60's (``resources/chat/completions/completions.py`` and
``resources/embeddings.py``). A parameter newer than both goes in ``extra_body``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Iterable

from .._compat import openai_module

__all__ = ["allowed", "check_kwargs"]

_COMMON = ("extra_headers", "extra_query", "extra_body", "timeout")
_KNOWN = {
    "chat": (
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
        *_COMMON,
    ),
    "embeddings": ("input", "model", "dimensions", "encoding_format", "user", *_COMMON),
}


def _openai_method(kind: str) -> Any:
    if kind == "chat":
        from openai.resources.chat.completions import Completions

        return Completions.create
    from openai.resources.embeddings import Embeddings

    return Embeddings.create


@functools.lru_cache(maxsize=None)
def allowed(kind: str) -> frozenset[str]:
    """The argument names of ``chat.completions.create`` ("chat") or ``embeddings.create``."""
    if openai_module() is None:
        return frozenset(_KNOWN[kind])
    params = inspect.signature(_openai_method(kind)).parameters.values()
    return frozenset(p.name for p in params if p.kind == p.KEYWORD_ONLY)


def check_kwargs(given: Iterable[str], kind: str) -> None:
    """Raises TypeError naming the first argument (in sorted order) that openai's method lacks."""
    names = allowed(kind)
    if not names.issuperset(given):
        unknown = set(given) - names
        raise TypeError(f"create() got an unexpected keyword argument {sorted(unknown)[0]!r}")
