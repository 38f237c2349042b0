"""Router configuration: ``load_config`` reads a file, a dict or keyword arguments into a ``Config``.

::

    from llmfailover.config import load_config
    config = load_config("router.yaml")   # llmfailover's schema, or a LiteLLM config.yaml as it is
    config.groups, config.warnings        # ['smart', 'cheap'], ['router_settings.redis_host: ignored ...']
    config.to_dict()                      # llmfailover's schema, secrets redacted

Validation, environment references (``os.environ/NAME``, ``${NAME}``) and the LiteLLM mapping all
happen in the native core (``cpp/src/config/``), so an error names the exact path in the user's
file, e.g. ``model_list[2].litellm_params.api_base``. Python only turns YAML into JSON. The schema
and the LiteLLM table are in ``docs/config.md``. No message, repr or dump shows a secret.

Limits (docs/config.md "Limits"), each a ``ConfigError``, never a crash or a runaway allocation: a
config of more than ``MAX_CONFIG_BYTES``; nesting deeper than ``max_json_depth()`` (256 unless
``set_max_json_depth`` changed it; the same limit the core puts on every JSON it parses); more
than ``MAX_CONFIG_NODES`` values once YAML aliases are expanded (a "billion laughs" document is
refused while still a small graph of shared nodes), and recursive aliases.
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

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_NODES",
    "Config",
    "ConfigError",
    "load_config",
    "max_json_depth",
    "set_max_json_depth",
]

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""The largest config accepted (a file, or the JSON text of a dict); the core has the same limit."""
MAX_CONFIG_NODES = 1_000_000
"""The most values (keys, scalars, lists, mappings) a config may have once YAML aliases are expanded."""

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

    __slots__ = ("_native", "_cache")

    def __init__(self, native: Any, cache: Any = None) -> None:
        self._native = native  # _core.Config, handed to the router as it is
        self._cache = cache  # _core.CacheSettings: the groups' exact caches (README "Caching")

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


def max_json_depth() -> int:
    """The nesting limit of every JSON document the core parses (answers, stream events, configs)."""
    depth: int = _native.core().max_json_depth()
    return depth


def set_max_json_depth(depth: int) -> None:
    """Set the nesting limit (1..10000, default 256) for parses that start afterwards, process-wide.

    RFC 8259 section 9 allows a parser to limit nesting; answers and configs need a few levels, and
    a value nested without a limit would be copied and printed recursively (a stack overflow)."""
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise TypeError(f"depth must be an int, not {type(depth).__name__}")
    try:
        _native.core().set_max_json_depth(depth)
    except (ValueError, OverflowError, TypeError) as e:
        raise ValueError(str(e)) from None


def _parse(text: str, env: Optional[Mapping[str, str]]) -> Config:
    core = _native.core()
    vars_ = None if env is None else {str(k): str(v) for k, v in env.items()}
    try:
        return Config(core.parse_config(text, vars_), core.parse_cache_config(text, vars_))
    except core.ConfigError as e:
        raise ConfigError(str(e), getattr(e, "path", "")) from None


def _read(path: Path) -> str:
    data = bytearray()
    with path.open("rb") as f:  # in pieces: read(n) would allocate n bytes even for a small file
        while len(data) <= MAX_CONFIG_BYTES:
            chunk = f.read(min(1 << 20, MAX_CONFIG_BYTES + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config file is larger than {MAX_CONFIG_BYTES} bytes (16 MiB), the limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"the config file is not UTF-8 (byte {e.start})") from None
    if path.suffix.lower() == ".json":
        return text  # straight to the core, so JSON errors give the file's own line and column
    return _dump(_load_yaml(text))


def _load_yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError(
            "reading a YAML config needs PyYAML: pip install pyyaml (or pass a JSON file or a dict)"
        ) from None
    # libyaml's loader when there is one: faster, and it bounds nesting itself (1000 levels). The
    # pure-Python scanner takes time quadratic in flow nesting (100k levels: a minute): check first.
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        loader_class = yaml.SafeLoader
        _check_flow_depth(text, max_json_depth())
    loader = loader_class(text)
    try:
        node = loader.get_single_node()  # aliases are still shared nodes here: cheap to check
        if node is None:
            return None
        _check_yaml_graph(node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "syntax error"
        raise ConfigError(f"invalid YAML{where}: {problem}") from None
    except RecursionError:  # the pure-Python composer recurses once per level
        raise ConfigError(f"YAML nested deeper than {max_json_depth()} levels") from None
    finally:
        loader.dispose()


# Quoted scalars and comments (whose brackets are text), or one flow indicator.
_FLOW_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'|(?:^|(?<=\s))#[^\n]*|[\[\]{}]', re.MULTILINE)


def _check_flow_depth(text: str, limit: int) -> None:
    """Refuse flow collections (``[``, ``{``) nested deeper than ``limit``, before the scanner sees them."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for token in _FLOW_TOKEN.finditer(text):
        c = token.group()
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, token.start()) + 1
                raise ConfigError(f"YAML nested deeper than {limit} levels (at line {line})")
        elif c in "]}":
            depth = max(0, depth - 1)


def _check_yaml_graph(root: Any) -> None:
    """Refuse a composed YAML document that is too deep, recursive, or too large once its aliases are
    expanded (an alias is still the anchored node itself here)."""

    def where(node: Any) -> str:
        mark = node.start_mark
        return f" (at line {mark.line + 1}, column {mark.column + 1})"

    _measure(root, _yaml_children, "YAML aliases expand", where, max_json_depth())


def _yaml_children(node: Any) -> Optional[list[Any]]:
    value = node.value
    if not isinstance(value, list):
        return None  # a scalar
    if value and isinstance(value[0], tuple):
        return [part for pair in value for part in pair]  # a mapping: (key, value) pairs
    return value


def _value_children(value: Any) -> Optional[list[Any]]:
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def _measure(root: Any, children: Any, sharing: str, where: Any, depth_limit: Optional[int]) -> None:
    """Refuse a graph of values (composed YAML nodes, or a dict's lists and dicts) that contains itself,
    nests deeper than ``depth_limit``, or has more than MAX_CONFIG_NODES values once every shared
    node is counted at each use. Iterative, and each shared node is measured once: O(distinct
    nodes), whatever the expansion (a "billion laughs" document: 10 nodes a level, 10**9 values)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    shared = False
    in_progress: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        kids = children(node)
        if children_done:
            in_progress.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids or ())
            depth[key] = 0 if kids is None else 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_CONFIG_NODES:
                what = f"{sharing} the config to" if shared else "the config has"
                raise ConfigError(f"{what} more than {MAX_CONFIG_NODES} values, the limit")
            if depth_limit is not None and depth[key] > depth_limit:
                raise ConfigError(f"YAML nested deeper than {depth_limit} levels{where(node)}")
        elif key in size:
            shared = shared or kids is not None  # a node already measured, used again
        elif key in in_progress:
            raise ConfigError(f"recursive: a value that contains itself{where(node)}")
        else:
            in_progress.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in kids or ())


def _dump(data: Any) -> str:
    _measure(data, _value_children, "shared lists and dicts expand", lambda _: "", None)
    try:
        text = json.dumps(_jsonable(data, "", 0, max_json_depth()), allow_nan=False)
    except RecursionError:  # only with a nesting limit raised near Python's recursion limit
        raise ConfigError(f"nested deeper than Python can convert (max_json_depth() is {max_json_depth()})") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config is larger than {MAX_CONFIG_BYTES} bytes (16 MiB) as JSON, the limit")
    return text


_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(parent: str, key: str) -> str:
    """The core's path syntax: ``a.b``, ``a["x.y"]`` for keys that are not plain identifiers."""
    if _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return parent + "[" + json.dumps(key) + "]"


def _jsonable(value: Any, path: str, depth: int, max_depth: int) -> Any:
    """YAML/Python values as JSON values, failing at the path of one that has no JSON form or that
    nests deeper than ``max_depth`` (_measure has bounded the number of values)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number" if path else "expected a finite number", path)
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):  # YAML reads `api_version: 2024-06-01` as a date
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple)) and depth >= max_depth:
        message = f"nested deeper than {max_depth} levels"
        raise ConfigError(f"{path}: {message}" if path else message, path)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            name = _key_name(key, path)
            out[name] = _jsonable(item, _key_path(path, name), depth + 1, max_depth)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{path}[{i}]", depth + 1, max_depth) for i, item in enumerate(value)]
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
