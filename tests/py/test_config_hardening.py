"""Hostile configs and answers (issue 10, items 2, 5 and 9): YAML alias bombs, recursive aliases,
nesting past the limit in YAML, JSON and dicts, oversized files, CR/LF in values from the file or
the environment; and, through the router, answers nested too deep (failover naming the provider)
and hostile model names (one percent-encoded path segment). Each is a ConfigError (or a failover)
within bounded time and memory, never a crash, a RecursionError or a secret in a message."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Iterator

import pytest
from llmfailover import OpenAI, route_info
from llmfailover import config as config_module
from llmfailover.config import MAX_CONFIG_BYTES, ConfigError, load_config, max_json_depth, set_max_json_depth
from llmfailover.testing import FakeProvider, Fault

SECRET = "sk-TOPSECRET-0123456789"
GROUP = {"groups": {"g": {"deployments": [{"model": "m"}]}}}

BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
groups: {g: {deployments: [{model: m}]}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class Bounded:
    """Asserts a block takes less than `seconds` and allocates less than `megabytes` (Python heap)."""

    def __init__(self, seconds: float = 1.0, megabytes: float = 50) -> None:
        self.seconds, self.megabytes = seconds, megabytes

    def __enter__(self) -> "Bounded":
        tracemalloc.start()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        took = time.monotonic() - self.t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert took < self.seconds, f"took {took:.2f} s"
        assert peak < self.megabytes, f"peak {peak:.1f} MiB"


@pytest.fixture(params=["libyaml", "pure"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both PyYAML loaders: libyaml's (when built with it) and the pure-Python one."""
    yaml = pytest.importorskip("yaml")
    if request.param == "pure":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    return str(request.param)


# --- YAML: alias bombs, recursion, nesting ---------------------------------------------------------


def test_billion_laughs_is_refused_fast_and_small(tmp_path: Path, yaml_loader: str) -> None:
    """Before: yaml.safe_load shares the aliased lists, then the conversion to JSON expanded 10**9
    strings (gigabytes, then an abort). Now the composed graph is measured, shared nodes once."""
    path = write(tmp_path, "bomb.yaml", BILLION_LAUGHS)
    with Bounded(seconds=1.0, megabytes=4), pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value) == "YAML aliases expand the config to more than 1000000 values, the limit"


def test_aliases_within_the_budget_still_work(tmp_path: Path, yaml_loader: str) -> None:
    text = """
    base: &key {model: m, api_key: k, weight: 2}
    groups:
      g: {deployments: [*key, *key]}
    """
    config = load_config(write(tmp_path, "ok.yaml", text.replace("\n    ", "\n")))
    assert [d["weight"] for d in config.deployments] == [2, 2]


def test_recursive_alias_is_a_config_error(tmp_path: Path, yaml_loader: str) -> None:
    with pytest.raises(ConfigError, match="recursive: a value that contains itself"):
        load_config(write(tmp_path, "loop.yaml", "groups: &a {g: {deployments: [*a]}}\n"))


def test_deep_yaml_is_a_config_error(tmp_path: Path, yaml_loader: str) -> None:
    block = "".join(" " * i + f"k{i}:\n" for i in range(300)) + " " * 300 + "v: 1\n"
    flow = "x: " + "[" * 100_000 + "]" * 100_000 + "\n"
    for name, text in (("block.yaml", block), ("flow.yaml", flow)):
        with Bounded(seconds=10, megabytes=200), pytest.raises(ConfigError) as e:
            load_config(write(tmp_path, name, text))
        assert "nest" in str(e.value), str(e.value)


# --- JSON files, dicts, sizes ------------------------------------------------------------------


def test_json_file_nested_a_million_levels(tmp_path: Path) -> None:
    deep = "[" * 1_000_000 + "]" * 1_000_000
    path = write(
        tmp_path,
        "deep.json",
        '{"groups": {"g": {"deployments": [{"model": "m", "credentials": {"k": ' + deep + "}}]}}}",
    )
    with Bounded(seconds=2, megabytes=20), pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).startswith("JSON nested deeper than 256 levels at line 1, column ")


def test_dicts_nested_past_the_limit_name_the_path() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(10_000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(ConfigError) as e:
        load_config({**GROUP, "extra": deep})
    assert "nested deeper than 256 levels" in str(e.value)
    assert e.value.path.startswith("extra.x.x.x")
    loop: dict[str, Any] = {"model": "m"}
    loop["self"] = loop
    with pytest.raises(ConfigError, match="recursive: a value that contains itself"):
        load_config({"groups": {"g": {"deployments": [loop]}}})


def test_shared_lists_in_a_dict_are_counted_per_use() -> None:
    bomb: Any = ["lol"] * 10
    for _ in range(8):
        bomb = [bomb] * 10
    with Bounded(seconds=1, megabytes=20), pytest.raises(ConfigError) as e:
        load_config({**GROUP, "extra": bomb})
    assert str(e.value) == "shared lists and dicts expand the config to more than 1000000 values, the limit"


def test_files_over_16_mib_are_refused_without_reading_them_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_CONFIG_BYTES * 4)
    with Bounded(seconds=1, megabytes=MAX_CONFIG_BYTES / 2**20 + 8), pytest.raises(ConfigError, match="16 MiB"):
        load_config(path)
    with pytest.raises(ConfigError, match="16 MiB"):
        load_config({**GROUP, "pad": "x" * MAX_CONFIG_BYTES})


def test_the_depth_limit_is_configurable() -> None:
    assert max_json_depth() == 256
    nested: Any = 1
    for _ in range(300):
        nested = [nested]
    try:
        set_max_json_depth(400)
        assert load_config({**GROUP, "extra": nested}).groups == ["g"]
        set_max_json_depth(8)
        with pytest.raises(ConfigError, match="deeper than 8 levels"):
            load_config({**GROUP, "extra": [[[[[[[[[1]]]]]]]]]})
    finally:
        set_max_json_depth(256)
    with pytest.raises(ValueError, match=r"\[1, 10000\]"):
        set_max_json_depth(0)
    with pytest.raises(ValueError, match=r"\[1, 10000\]"):
        set_max_json_depth(10001)  # deeper values would again risk the stack
    with pytest.raises(ValueError):
        set_max_json_depth(-1)
    with pytest.raises(TypeError):
        set_max_json_depth(True)
    assert {"max_json_depth", "set_max_json_depth", "MAX_CONFIG_BYTES"} <= set(config_module.__all__)


# --- CR, LF, NUL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("api_key", "k\r\nX-Evil: 1", "groups.g.deployments[0].api_key"),
        ("api_key", "os.environ/EVIL", "groups.g.deployments[0].api_key"),
        ("base_url", "https://x.example/v1\nHost: evil", "groups.g.deployments[0].base_url"),
        ("headers", {"X-Team": "${EVIL}"}, "groups.g.deployments[0].headers.X-Team"),
        ("headers", {"X-A\r\nX-B": "1"}, 'groups.g.deployments[0].headers["X-A\\r\\nX-B"]'),
        ("api_version", "2024-06-01\x00", "groups.g.deployments[0].api_version"),
        ("model", "m\r\n", "groups.g.deployments[0].model"),
    ],
)
def test_line_breaks_never_reach_a_header_or_url(field: str, value: Any, path: str) -> None:
    deployment = {"model": "m", field: value}
    with pytest.raises(ConfigError) as e:
        load_config({"groups": {"g": {"deployments": [deployment]}}}, env={"EVIL": SECRET + "\r\nX-Evil: 1"})
    if "\\r" not in path:
        assert e.value.path == path
    assert SECRET not in str(e.value) and SECRET not in repr(e.value)


def test_litellm_yaml_with_a_line_break_from_the_environment(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o, api_key: os.environ/KEY}\n"
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "config.yaml", text), env={"KEY": SECRET + "\n"})
    assert e.value.path == "model_list[0].litellm_params.api_key"
    assert "CR, LF or NUL" in str(e.value) and SECRET not in str(e.value)


# --- through the router ------------------------------------------------------------------------


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


DEEP = "[" * 200_000 + "]" * 200_000
DEEP_ANSWERS = {
    "anthropic": '{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": '
    '[{"type": "tool_use", "id": "t", "name": "f", "input": {"k": ' + DEEP + "}}], "
    '"stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}}',
    "gemini": '{"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "f", "args": '
    '{"k": ' + DEEP + '}}}]}, "finishReason": "STOP"}]}',
}


@pytest.mark.parametrize("provider", sorted(DEEP_ANSWERS))
def test_a_deep_answer_fails_over_naming_the_provider(fp: FakeProvider, provider: str) -> None:
    """Before: a segfault on the io thread (the whole interpreter)."""
    model = {"anthropic": "claude-x", "gemini": "gemini-x"}[provider]
    base = fp.root_url + ("/v1beta" if provider == "gemini" else "")
    fp.set_default(model, Fault(status=200, body=DEEP_ANSWERS[provider]))
    config = {
        "groups": {
            "smart": {
                "deployments": [
                    {"id": "a", "provider": provider, "model": model, "base_url": base, "api_key": "k", "priority": 0},
                    {"id": "b", "model": "m-b", "base_url": fp.base_url, "api_key": "k", "priority": 1},
                ]
            }
        }
    }
    with OpenAI(config=config) as client:
        result = client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "hi"}])
        info = route_info(result)
    assert result.model == "m-b"
    assert info is not None
    assert [(a.deployment, a.decision) for a in info.attempts][-1] == ("b", "served")
    first = info.attempts[0]
    assert (first.deployment, first.decision, first.reason) == ("a", "failover", "bad_response")
    assert provider in first.message and "nested deeper than 256 levels" in first.message


def test_a_deep_stream_chunk_fails_over_before_the_first_token(fp: FakeProvider) -> None:
    """The router's inspector refuses the chunk (parse_json) instead of committing it and handing
    Python's json a value it cannot read (RecursionError)."""
    chunk = {
        "id": "x",
        "object": "chat.completion.chunk",
        "model": "m-a",
        "choices": [{"index": 0, "delta": {"content": "hi", "x": "DEEP"}}],
    }
    sse = "data: " + json.dumps(chunk).replace('"DEEP"', DEEP) + "\n\ndata: [DONE]\n\n"
    fp.set_default("m-a", Fault(status=200, body=sse, headers={"content-type": "text/event-stream"}))
    config = {
        "groups": {
            "smart": {
                "deployments": [
                    {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "k", "priority": 0},
                    {"id": "b", "model": "m-b", "base_url": fp.base_url, "api_key": "k", "priority": 1},
                ]
            }
        }
    }
    with OpenAI(config=config) as client:
        stream = client.chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        models = {c.model for c in stream}
        info = route_info(stream)
    assert models == {"m-b"}
    assert info is not None
    assert [(a.deployment, a.decision) for a in info.attempts] == [("a", "failover"), ("b", "served")]


@pytest.mark.parametrize(
    ("model", "segment"),
    [("../../admin", "..%2F..%2Fadmin"), ("x?key=evil", "x%3Fkey%3Devil"), ("a#b", "a%23b")],
)
def test_hostile_gemini_model_names_stay_one_path_segment(fp: FakeProvider, model: str, segment: str) -> None:
    config = {
        "groups": {
            "g": {
                "deployments": [
                    {"provider": "gemini", "model": model, "base_url": fp.root_url + "/v1beta", "api_key": "k"}
                ]
            }
        }
    }
    with OpenAI(config=config) as client:
        client.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
    [attempt] = fp.attempts()
    assert attempt.target == f"/v1beta/models/{segment}:generateContent"
    assert attempt.model == model  # the fake decodes the segment as Google does


def test_a_dot_dot_model_is_refused_before_sending(fp: FakeProvider) -> None:
    config = {
        "groups": {
            "g": {
                "deployments": [
                    {"provider": "gemini", "model": "..", "base_url": fp.root_url + "/v1beta", "api_key": "k"}
                ]
            }
        }
    }
    with OpenAI(config=config) as client, pytest.raises(Exception) as e:
        client.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
    assert "gemini" in str(e.value) and '".."' in str(e.value)
    assert fp.attempts() == []


def test_json_of_the_core_stays_valid_json() -> None:
    """The dump reads back (to_json / to_dict go through the depth-limited parser)."""
    config = load_config(GROUP)
    assert json.loads(config.to_json()) == config.to_dict()
    assert sys.getrecursionlimit() >= 1000
