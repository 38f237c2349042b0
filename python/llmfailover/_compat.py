"""Whether ``openai`` is importable, and which response classes results are built with.

When openai-python is installed, results are openai's own pydantic classes and exceptions are
subclasses of openai's, so code written for openai keeps working unchanged (drop_in.md §0.1).
Without it, ``llmfailover.types`` supplies classes with the same field names and shapes.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Optional

__all__ = ["openai_module", "HAS_OPENAI", "response_types"]


@functools.lru_cache(maxsize=None)
def openai_module() -> Optional[ModuleType]:
    """The ``openai`` package, or None when it cannot be imported (for any reason)."""
    try:
        import openai
    except Exception:  # ImportError, or a broken install: both mean "no openai"
        return None
    return openai


HAS_OPENAI = openai_module() is not None


@functools.lru_cache(maxsize=None)
def response_types() -> dict[str, Any]:
    """Name -> class for every result type the resources build."""
    oa = openai_module()
    if oa is not None:
        from openai.types import CreateEmbeddingResponse, Embedding, Model
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        return {
            "ChatCompletion": ChatCompletion,
            "ChatCompletionChunk": ChatCompletionChunk,
            "CreateEmbeddingResponse": CreateEmbeddingResponse,
            "Embedding": Embedding,
            "Model": Model,
        }
    from .types import _chat, _misc

    return {
        "ChatCompletion": _chat.ChatCompletion,
        "ChatCompletionChunk": _chat.ChatCompletionChunk,
        "CreateEmbeddingResponse": _misc.CreateEmbeddingResponse,
        "Embedding": _misc.Embedding,
        "Model": _misc.Model,
    }
