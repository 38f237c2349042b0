"""Shared by the cross-provider tests: an OpenAI-format primary and one fallback deployment of
each provider on the same FakeProvider (Vertex with a throw-away service-account key whose
token_uri is the fake's OAuth endpoint), and the AWS keys Bedrock's SigV4 signing reads."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from llmfailover.testing import FakeProvider

POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "2s", "idle": "2s", "deadline": "5s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SERVICE_ACCOUNT = "router@proj-1.iam.gserviceaccount.com"
MODELS = {
    "anthropic": "claude-x",
    "gemini": "gemini-x",
    "vertex": "gemini-v",
    "bedrock": BEDROCK_MODEL,
    "cohere": "command-x",
}


def set_aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bedrock signs with SigV4 from the environment (the fake does not check the signature)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)


@functools.lru_cache(maxsize=1)
def rsa_private_pem() -> str:
    """A service-account key for Vertex, made once (2048-bit RSA, as Google's)."""
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return str(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    )


def fallback_deployment(fp: FakeProvider, provider: str, tmp_path: Path) -> dict[str, Any]:
    dep: dict[str, Any] = {
        "id": "b",
        "provider": provider,
        "model": MODELS[provider],
        "base_url": fp.root_url,
        "api_key": f"key-{provider}",
        "priority": 1,
    }
    if provider == "gemini":
        dep["base_url"] = f"{fp.root_url}/v1beta"
    elif provider == "bedrock":
        del dep["api_key"]  # else the key would be a Bedrock API key (Bearer), not SigV4
        dep["region"] = "us-east-1"
    elif provider == "vertex":
        key_file = tmp_path / "service-account.json"  # its token_uri is the fake's OAuth endpoint
        key_file.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "proj-1",
                    "private_key_id": "kid-1",
                    "private_key": rsa_private_pem(),
                    "client_email": SERVICE_ACCOUNT,
                    "client_id": "1",
                    "token_uri": f"{fp.root_url}/token",
                }
            )
        )
        del dep["api_key"]
        dep.update(region="us-central1", credentials=str(key_file))
    return dep


def failover_config(fp: FakeProvider, provider: str, tmp_path: Path) -> dict[str, Any]:
    """Group "smart": primary "a" (OpenAI format, model m-a) first, then the provider's fallback "b"."""
    primary = {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "key-a", "priority": 0}
    return {
        "groups": {"smart": {"deployments": [primary, fallback_deployment(fp, provider, tmp_path)], "policy": POLICY}}
    }
