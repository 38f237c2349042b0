"""The module-level client, as with ``import openai``:

    import llmfailover
    llmfailover.api_key = "sk-..."            # else OPENAI_API_KEY
    llmfailover.base_url = "http://host/v1"   # else OPENAI_BASE_URL or api.openai.com
    llmfailover.router_config = "router.yaml" # ours: route by model group (the client's config=)
    llmfailover.chat.completions.create(model="gpt-4o-mini", messages=[...])

The settings are read on each access to a resource (``llmfailover.chat``, ``.files``, ...); the
client is built on first use and built again when a setting changed since (as openai-python's
``_ModuleClient`` reads its module's globals on each request). A replaced client is not closed:
calls in flight keep it, and its engine shuts down with its last reference.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

from ._client import OPENAI_ONLY

__all__ = ["SETTINGS", "RESOURCES", "module_client"]

SETTINGS = (
    "api_key",
    "organization",
    "project",
    "base_url",
    "timeout",
    "max_retries",
    "default_headers",
    "default_query",
    "router_config",
)
RESOURCES = frozenset(
    {"chat", "embeddings", "models", "beta", "with_raw_response", "with_streaming_response"} | OPENAI_ONLY
)

_lock = threading.Lock()
_state: dict[str, Any] = {"values": None, "client": None}


def module_client(module: ModuleType) -> Any:
    """The client for the module's current settings."""
    values = tuple(getattr(module, name) for name in SETTINGS)
    with _lock:
        if _state["client"] is None or _state["values"] != values:
            kwargs = {k: v for k, v in zip(SETTINGS, values) if v is not None}
            if "router_config" in kwargs:
                kwargs["config"] = kwargs.pop("router_config")
            _state["client"] = module.OpenAI(**kwargs)
            _state["values"] = values
        return _state["client"]
