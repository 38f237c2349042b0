"""Result types, named as in ``openai.types``.

Each name is openai-python's own class when ``openai`` is importable (so ``isinstance`` and type
annotations written for openai hold), and llmfailover's look-alike otherwise (``_chat``, ``_misc``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._compat import openai_module
from ._base import BaseModel

__all__ = [
    "BaseModel",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "Model",
]

if TYPE_CHECKING or openai_module() is None:
    from ._chat import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        ChatCompletionMessageToolCall,
        Choice,
        ChoiceDelta,
        ChoiceDeltaToolCall,
        CompletionUsage,
    )
    from ._misc import CreateEmbeddingResponse, Embedding, Model
else:
    from openai.types import CompletionUsage, CreateEmbeddingResponse, Embedding, Model
    from openai.types.chat import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        ChatCompletionMessageToolCall,
    )
    from openai.types.chat.chat_completion import Choice
    from openai.types.chat.chat_completion_chunk import ChoiceDelta, ChoiceDeltaToolCall
