"""Router configuration: ``load_config`` reads a file, a dict or keyword arguments into a ``Config``.

::

    from llmfailover.config import load_config
    config = load_config("router.yaml")   # llmfailover's schema, or a LiteLLM config.yaml as it is
    config.groups, config.warnings        # ['smart', 'cheap'], ['router_settings.redis_host: ignored ...']
    config.to_dict()                      # llmfailover's schema, secrets redacted

Validation, environment references (``os.environ/NAME``, ``${NAME}``) and the LiteLLM mapping all
happen in the native core (``cpp/src/config*.cpp``), so an error names the exact path in the user's
file, e.g. ``model_list[2].litellm_params.api_base``. Python only turns YAML into JSON. The schema
and the LiteLLM table are in ``docs/config.md``. No message, repr or dump shows a secret.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

from . import _native
from .errors import LlmFailoverError

__all__ = ["Config", "ConfigError", "load_config"]

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], "Config"]


class ConfigError(LlmFailoverError, ValueError):
    """A bad config. ``path`` names the place in the document ("" for the document as a whole)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.path))


class Config:
    """A parsed, validated router config. Read-only; secrets never appear in its output."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native  # _core.Config, handed to the router as it is

    @property
    def groups(self) -> list[str]:
        """Model group names, in the order the file first names them."""
        return list(self._native.groups)

    @property
    def warnings(self) -> list[str]:
        """Non-fatal findings, each ``path: what`` (unknown or ignored keys, capped values...)."""
        return list(self._native.warnings)

    @property
    def deployments(self) -> list[dict[str, Any]]:
        """Every deployment with its ``group``; API keys and header values read ``"***"``."""
        return list(self._native.deployments)

    @property
    def fallbacks(self) -> dict[str, list[str]]:
        return dict(self._native.fallbacks)

    @property
    def context_window_fallbacks(self) -> dict[str, list[str]]:
        return dict(self._native.context_window_fallbacks)

    @property
    def content_policy_fallbacks(self) -> dict[str, list[str]]:
        return dict(self._native.content_policy_fallbacks)

    @property
    def default_fallbacks(self) -> list[str]:
        return list(self._native.default_fallbacks)

    @property
    def degraded_answer(self) -> Optional[str]:
        return self._native.degraded_answer  # type: ignore[no-any-return]

    @property
    def stream_recovery(self) -> str:
        return self._native.stream_recovery  # type: ignore[no-any-return]

    @property
    def routing_strategy(self) -> str:
        return self._native.routing_strategy  # type: ignore[no-any-return]

    def policy_for(self, group: str) -> dict[str, Any]:
        """The group's policy (its own, else the defaults), durations as strings like "30s"."""
        return dict(self._native.policy_for(group))

    def to_json(self) -> str:
        """The config in llmfailover's schema, secrets redacted (``load_config`` reads it back)."""
        return self._native.to_json()  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return bool(self._native == other._native)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Config(groups={self.groups!r}, deployments={len(self._native.deployments)}, "
            f"warnings={len(self._native.warnings)})"
        )


def load_config(
    source: Optional[Source] = None, /, *, env: Optional[Mapping[str, str]] = None, **settings: Any
) -> Config:
    """Parse a config from a path (``.json``; ``.yaml``/``.yml`` or anything else as YAML), a dict,
    or keyword arguments (``load_config(groups={...}, fallbacks={...})``).

    ``env`` replaces ``os.environ`` for ``os.environ/NAME`` and ``${NAME}`` references.
    Raises ``ConfigError`` (a ``ValueError``) whose ``.path`` names the offending place.
    """
    if source is not None and settings:
        raise TypeError("load_config takes a source or keyword settings, not both")
    if isinstance(source, Config):
        return source
    if source is None:
        if not settings:
            raise TypeError("load_config needs a source (path or dict) or keyword settings")
        text = _dump(settings)
    elif isinstance(source, Mapping):
        text = _dump(source)
    elif isinstance(source, (str, os.PathLike)):
        text = _read(Path(source))
    else:
        raise TypeError(f"load_config takes a path, a dict or keyword settings, not {type(source).__name__}")
    return _parse(text, env)


def _parse(text: str, env: Optional[Mapping[str, str]]) -> Config:
    core = _native.core()
    vars_ = None if env is None else {str(k): str(v) for k, v in env.items()}
    try:
        return Config(core.parse_config(text, vars_))
    except core.ConfigError as e:
        raise ConfigError(str(e), getattr(e, "path", "")) from None


def _read(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return text  # straight to the core, so JSON errors give the file's own line and column
    return _dump(_load_yaml(text))


def _load_yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError("reading a YAML config needs PyYAML: pip install pyyaml (or pass a JSON file or a dict)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "syntax error"
        raise ConfigError(f"invalid YAML{where}: {problem}") from None


def _dump(data: Any) -> str:
    return json.dumps(_jsonable(data, ""), allow_nan=False)


_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(parent: str, key: str) -> str:
    """The core's path syntax: ``a.b``, ``a["x.y"]`` for keys that are not plain identifiers."""
    if _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return parent + "[" + json.dumps(key) + "]"


def _jsonable(value: Any, path: str) -> Any:
    """YAML/Python values as JSON values, failing at the path of one that has no JSON form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number" if path else "expected a finite number", path)
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):  # YAML reads `api_version: 2024-06-01` as a date
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            name = _key_name(key, path)
            out[name] = _jsonable(item, _key_path(path, name))
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{path}[{i}]") for i, item in enumerate(value)]
    message = f"expected a JSON value, got a {type(value).__name__}"
    raise ConfigError(f"{path}: {message}" if path else message, path)


def _key_name(key: Any, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        return str(key)
    message = f"expected string keys, got a {type(key).__name__}"
    raise ConfigError(f"{path}: {message}" if path else message, path)
