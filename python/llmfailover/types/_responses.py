"""Responses API models with openai-python's field names (``openai.types.responses``), for the
look-alike clients' ``responses.create`` (without openai). Every field is optional and unknown
fields are kept as attributes, so new API fields and output item types come through."""

from __future__ import annotations

from typing import Any, List, Optional

from ._base import BaseModel

__all__ = ["Response", "ResponseOutputItem", "ResponseContent", "ResponseStreamEvent", "ResponseUsage"]


class ResponseContent(BaseModel):
    type: Optional[str] = None
    text: Optional[str] = None


class ResponseOutputItem(BaseModel):
    """A message, function call, reasoning item, ... (``type`` says which)."""

    type: Optional[str] = None
    id: Optional[str] = None
    status: Optional[str] = None
    role: Optional[str] = None
    content: Optional[List[ResponseContent]] = None


class ResponseUsage(BaseModel):
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None


class Response(BaseModel):
    id: Optional[str] = None
    object: Optional[str] = None
    created_at: Optional[float] = None
    status: Optional[str] = None
    model: Optional[str] = None
    output: List[ResponseOutputItem] = []
    usage: Optional[ResponseUsage] = None
    error: Optional[Any] = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of every message, joined (as openai's)."""
        return "".join(
            part.text or ""
            for item in self.output
            if item.type == "message"
            for part in item.content or ()
            if part.type == "output_text"
        )


class ResponseStreamEvent(BaseModel):
    """One event of a streamed response: ``type`` (e.g. "response.output_text.delta") and its
    fields (``delta``, ``response``, ``item``, ...) as attributes."""

    type: Optional[str] = None
    sequence_number: Optional[int] = None
