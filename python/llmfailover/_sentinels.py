"""Sentinels for "argument not given", compatible with openai's.

openai-python users pass ``openai.NOT_GIVEN`` / ``openai.not_given`` / ``openai.omit`` explicitly
(e.g. ``temperature=NOT_GIVEN if t is None else t``). We treat ours and openai's alike as absent,
by class name so that openai need not be importable.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["NotGiven", "NOT_GIVEN", "not_given", "Omit", "omit", "is_given"]


class NotGiven:
    """Marks a parameter the caller did not give (distinct from an explicit ``None``)."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


class Omit:
    """Marks a value to leave out of the request."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "omit"


not_given = NotGiven()
NOT_GIVEN = not_given
omit = Omit()

_SENTINEL_CLASSES = frozenset({"NotGiven", "Omit"})


def is_given(value: Any) -> bool:
    """False for our sentinels and for openai's ``NotGiven``/``Omit`` instances."""
    if isinstance(value, (NotGiven, Omit)):
        return False
    cls = type(value)
    return not (cls.__name__ in _SENTINEL_CLASSES and cls.__module__.startswith("openai"))
