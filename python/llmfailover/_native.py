"""Access to the native extension, imported on first use.

``import llmfailover`` then works on a source tree without a built ``_core`` (errors and types
are usable); creating a client needs it.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["core"]

_core: "ModuleType | None" = None


def core() -> ModuleType:
    global _core
    if _core is None:
        from . import _core as module

        _core = module
    return _core
