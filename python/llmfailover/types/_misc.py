"""Embedding and model-list models with openai-python's field names (openai.types)."""

from __future__ import annotations

from typing import List, Literal

from ._base import BaseModel

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage", "Model"]


class Embedding(BaseModel):
    embedding: List[float]
    index: int
    object: Literal["embedding"]


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseModel):
    data: List[Embedding]
    model: str
    object: Literal["list"]
    usage: EmbeddingUsage


class Model(BaseModel):
    id: str
    created: int
    object: Literal["model"]
    owned_by: str
