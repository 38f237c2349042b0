"""load_config: YAML and JSON files, dicts and keyword arguments, LiteLLM configs, errors with .path,
and no secret in any repr, dump, warning or error."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path
from typing import Any

import pytest
from llmfailover import config as config_module
from llmfailover.config import Config, ConfigError, load_config
from llmfailover.errors import LlmFailoverError


@pytest.fixture(autouse=True)
def _native_config() -> None:
    core = pytest.importorskip("llmfailover._core")
    if not hasattr(core, "parse_config"):
        pytest.skip("llmfailover._core has no parse_config yet (rebuild the extension)")


SECRET = "sk-TOPSECRET-0123456789"

SMART_YAML = """
groups:
  smart:
    deployments:
      - {provider: openai, model: gpt-4o, api_key: os.environ/OPENAI_API_KEY, weight: 2, region: us,
         price: {input: 2.5, output: 10}}
      - {provider: azure, model: gpt-4o-eu, base_url: https://x.openai.azure.com, api_version: 2024-06-01,
         api_key: "${AZURE_KEY}"}
    policy: {timeouts: {first_token: 10s, deadline: 60s}, retry: {max_attempts: 2}}
  cheap:
    deployments: [{model: gpt-4o-mini, api_key: [k1, k2]}]
  long:
    deployments: [{model: gpt-4.1}]
fallbacks: {smart: [cheap]}
context_window_fallbacks: {smart: [long]}
content_policy_fallbacks: {}
default_fallbacks: [cheap]
defaults: {timeouts: {idle: 20s}, breaker: {consecutive_failures: 3}}
degraded_answer: "Sorry, we are busy."
stream_recovery: continue
"""

LITELLM_YAML = """
model_list:
  - model_name: gpt-4o
    litellm_params: {model: azure/gpt-4o-eu, api_key: os.environ/AZ_KEY, api_base: os.environ/AZ_BASE, rpm: 900, order: 1}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY, rpm: 100, order: 2, timeout: 30}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY}
router_settings: {routing_strategy: simple-shuffle, num_retries: 2, cooldown_time: 30,
  fallbacks: [{"gpt-4o": ["claude"]}], enable_pre_call_checks: true, redis_host: os.environ/REDIS_HOST}
general_settings: {master_key: os.environ/LITELLM_MASTER_KEY, background_health_checks: true}
"""

ENV = {"OPENAI_API_KEY": SECRET, "AZURE_KEY": SECRET, "AZ_KEY": SECRET, "AZ_BASE": "https://eu.openai.azure.com"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def smart_dict() -> dict[str, Any]:
    return {"groups": {"smart": {"deployments": [{"model": "gpt-4o", "api_key": "${KEY}"}]}}}


def test_yaml_file(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    config = load_config(write(tmp_path, "router.yaml", SMART_YAML), env=ENV)
    assert config.groups == ["smart", "cheap", "long"]
    assert config.warnings == []
    az = config.deployments[1]
    assert az["group"] == "smart" and az["id"] == "smart#1" and az["provider"] == "azure"
    assert az["api_version"] == "2024-06-01"  # YAML reads it as a date; it arrives as the string
    assert az["api_key"] == ["***"]
    assert config.deployments[2]["api_key"] == ["***", "***"]
    assert config.fallbacks == {"smart": ["cheap"]}
    assert config.context_window_fallbacks == {"smart": ["long"]}
    assert config.content_policy_fallbacks == {}
    assert config.default_fallbacks == ["cheap"]
    assert config.degraded_answer == "Sorry, we are busy."
    assert config.stream_recovery == "continue"
    assert config.routing_strategy == "simple-shuffle"
    smart = config.policy_for("smart")
    assert smart["timeouts"] == {
        "connect": "5s",
        "first_token": "10s",
        "first_token_factor": 10,
        "first_token_samples": 3,
        "idle": "20s",
        "deadline": "1m",
    }
    assert smart["retry"]["max_attempts"] == 2
    assert config.policy_for("cheap")["breaker"]["consecutive_failures"] == 3
    assert config.policy_for("cheap")["retry"]["max_attempts"] == 3


def test_yml_suffix_and_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("yaml")
    monkeypatch.setenv("KEY", SECRET)
    config = load_config(write(tmp_path, "r.yml", "groups: {a: {deployments: [{model: m, api_key: '${KEY}'}]}}"))
    assert config.deployments[0]["api_key"] == ["***"]


def test_json_file(tmp_path: Path) -> None:
    path = write(tmp_path, "router.json", json.dumps(smart_dict()))
    config = load_config(str(path), env={"KEY": SECRET})
    assert config.groups == ["smart"]
    assert config.deployments[0]["base_url"] == "https://api.openai.com/v1"


def test_dict_and_keyword_arguments() -> None:
    by_dict = load_config(smart_dict(), env={"KEY": SECRET})
    by_kwargs = load_config(groups=smart_dict()["groups"], env={"KEY": SECRET})
    assert by_dict == by_kwargs
    assert load_config(by_dict) is by_dict
    assert by_dict != load_config(smart_dict(), env={"KEY": "other"})


def test_litellm_yaml(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = LITELLM_YAML.replace("anthropic/claude-sonnet-4-5", "gpt-4o-mini")
    config = load_config(write(tmp_path, "config.yaml", text), env=ENV | {"ANTHROPIC_API_KEY": SECRET})
    assert config.groups == ["gpt-4o", "claude"]
    assert [d["provider"] for d in config.deployments] == ["azure", "openai", "openai"]
    assert [d["priority"] for d in config.deployments] == [1, 2, 0]
    assert config.fallbacks == {"gpt-4o": ["claude"]}
    assert config.policy_for("gpt-4o")["timeouts"]["first_token"] == "30s"
    assert config.policy_for("claude")["retry"]["max_attempts"] == 3
    assert config.policy_for("claude")["breaker"]["open_base"] == "30s"
    assert config.warnings == [
        "router_settings.enable_pre_call_checks: ignored (LiteLLM setting not used by llmfailover)",
        "router_settings.redis_host: ignored (LiteLLM setting not used by llmfailover)",
        "general_settings.master_key: ignored (LiteLLM proxy setting not used by llmfailover)",
        "general_settings.background_health_checks: LiteLLM runs these for its /health endpoint only; "
        "set router_settings.enable_health_check_routing to probe for routing",
    ]


def test_litellm_config_with_an_anthropic_deployment_loads(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    config = load_config(write(tmp_path, "config.yaml", LITELLM_YAML), env=ENV | {"ANTHROPIC_API_KEY": SECRET})
    assert "anthropic" in {d["provider"] for d in config.deployments}
    assert SECRET not in repr(config) and SECRET not in config.to_json()


def test_litellm_unsupported_provider_names_the_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"model_list": [{"model_name": "a", "litellm_params": {"model": "watsonx/granite"}}]})
    assert info.value.path == "model_list[0].litellm_params.model"
    assert "provider 'watsonx' is not supported yet" in str(info.value)


@pytest.mark.parametrize(
    ("deployment", "path", "message"),
    [
        ({"model": "m", "weight": -1}, "groups.smart.deployments[0].weight", "expected a number in [0, "),
        ({"model": "m", "api_key": "${NOPE}"}, "groups.smart.deployments[0].api_key", "NOPE is not set"),
        ({"weight": 1}, "groups.smart.deployments[0].model", "required"),
        ({"model": "m", "provider": "azure"}, "groups.smart.deployments[0].base_url", "required for provider azure"),
    ],
)
def test_errors_carry_the_path(deployment: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"groups": {"smart": {"deployments": [deployment]}}}, env={})
    error = info.value
    assert error.path == path
    assert str(error).startswith(path + ": ")
    assert message in str(error)
    assert isinstance(error, ValueError) and isinstance(error, LlmFailoverError)
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, str(again)) == (error.path, str(error))


def test_policy_error_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(groups={"smart": {"deployments": [{"model": "m"}], "policy": {"retry": {"max_attempts": 6}}}})
    assert info.value.path == "groups.smart.policy.retry.max_attempts"
    assert "expected an integer in [1, 5]" in str(info.value)


def test_file_syntax_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "bad.json", '{"groups": {\n  "a": [}'))
    assert info.value.path == "" and "invalid JSON at line 2, column 9" in str(info.value)
    pytest.importorskip("yaml")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "bad.yaml", "groups:\n  a: [1, 2\nkey: " + SECRET + "\n"))
    assert info.value.path == "" and "invalid YAML at line" in str(info.value)
    assert SECRET not in str(info.value)


def test_values_without_a_json_form_name_their_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(groups={"a": {"deployments": [{"model": "m", "tags": {"x"}}]}})
    assert info.value.path == "groups.a.deployments[0].tags"
    with pytest.raises(ConfigError) as info:
        load_config(groups={"a.b": {"deployments": [{"model": "m", "weight": float("nan")}]}})
    assert info.value.path == 'groups["a.b"].deployments[0].weight'


def test_secrets_never_shown(tmp_path: Path) -> None:
    data = {
        "groups": {
            "smart": {
                "deployments": [
                    {
                        "model": "m",
                        "api_key": SECRET,
                        "headers": {"Authorization": "Bearer " + SECRET},
                        "colour": SECRET,
                    },
                    {"model": "m", "api_key": "${KEY}", "base_url": f"https://user:{SECRET}@h.example/v1?key={SECRET}"},
                ]
            }
        },
    }
    config = load_config(data, env={"KEY": SECRET})
    shown = [repr(config), config.to_json(), str(config.deployments), str(config.warnings), repr(config._native)]
    assert all(SECRET not in text for text in shown)
    assert config.warnings == ["groups.smart.deployments[0].colour: unknown key, ignored"]
    assert config.deployments[1]["base_url"] == "https://***@h.example/v1?***"
    for bad in (
        {"model": "m", "api_key": [SECRET, 1]},
        {"model": "m", "weight": SECRET},
        {"model": "m", "provider": SECRET},
        {"model": "m", "base_url": SECRET},
    ):
        with pytest.raises(ConfigError) as info:
            load_config(groups={"smart": {"deployments": [bad]}})
        assert SECRET not in str(info.value) and SECRET not in info.value.path


def test_repr_and_dump_round_trip() -> None:
    config = load_config(smart_dict(), env={"KEY": SECRET})
    assert repr(config) == "Config(groups=['smart'], deployments=1, warnings=0)"
    dumped = config.to_dict()
    assert dumped["groups"]["smart"]["deployments"][0]["api_key"] == ["***"]
    assert load_config(dumped).to_dict() == dumped


def test_argument_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        load_config()
    with pytest.raises(TypeError):
        load_config(smart_dict(), groups={})
    with pytest.raises(TypeError):
        load_config(42)  # type: ignore[arg-type]
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)
    with pytest.raises(ImportError, match="pip install pyyaml"):
        load_config(write(tmp_path, "r.yaml", "groups: {}"))


def test_public_names() -> None:
    assert config_module.__all__ == [
        "MAX_CONFIG_BYTES",
        "MAX_CONFIG_NODES",
        "Config",
        "ConfigError",
        "load_config",
        "max_json_depth",
        "set_max_json_depth",
    ]
    assert issubclass(ConfigError, ValueError)
    assert Config.__slots__ == ("_native", "_cache")
