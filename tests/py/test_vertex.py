"""Vertex AI through the router, and Gemini embeddings through the drop-in client.

A service-account key is made at test time (``cryptography``) with its ``token_uri`` on the fake
provider, whose ``/token`` endpoint checks the JWT bearer grant and hands out ``fake-token-N``; the
fake's Vertex paths answer only to ``Authorization: Bearer fake-token-*``. The assertion the router
sent is then verified with google-auth against the public key, and google-genai's own Vertex client
is run against the same fake (so the fake's token endpoint and Vertex answers match Google's
libraries, and our router matches the fake).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from llmfailover import OpenAI, route_info
from llmfailover.testing import FakeProvider, Fault

rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")

EMAIL = "router@proj-1.iam.gserviceaccount.com"
MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "2s", "idle": "2s", "deadline": "10s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}


@pytest.fixture(scope="module")
def rsa_key() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def key_file(fp: FakeProvider, rsa_key: tuple[str, str], tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "proj-1",
                "private_key_id": "kid-1",
                "private_key": rsa_key[0],
                "client_email": EMAIL,
                "client_id": "1",
                "token_uri": f"{fp.root_url}/token",
            }
        )
    )
    return path


def vertex_dep(fp: FakeProvider, key_file: Path, **kw: Any) -> dict[str, Any]:
    return {
        "id": "v",
        "provider": "vertex",
        "model": "gemini-x",
        "base_url": fp.root_url,
        "region": "us-central1",
        "credentials": str(key_file),
        **kw,
    }


def gemini_dep(fp: FakeProvider, model: str = "gemini-y", **kw: Any) -> dict[str, Any]:
    return {
        "id": "g",
        "provider": "gemini",
        "model": model,
        "base_url": f"{fp.root_url}/v1beta",
        "api_key": "test-key",
        **kw,
    }


def routed(*deployments: dict[str, Any]) -> dict[str, Any]:
    return {"groups": {"smart": {"deployments": list(deployments), "policy": POLICY}}}


def assertion_of(record: Any) -> str:
    form = urllib.parse.parse_qs(record.body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    (assertion,) = form["assertion"]
    return str(assertion)


def test_vertex_chat_and_stream_with_one_token(fp: FakeProvider, key_file: Path, rsa_key: tuple[str, str]) -> None:
    with OpenAI(config=routed(vertex_dep(fp, key_file))) as client:
        result = client.chat.completions.create(model="smart", messages=MESSAGES)
        assert result.choices[0].message.content == "Hello from gemini-x."
        info = route_info(result)
        assert info is not None and info.served is not None
        assert (info.served.provider, info.served.model) == ("vertex", "gemini-x")
        stream = client.chat.completions.create(model="smart", messages=MESSAGES, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "Hello from gemini-x."

    (token_call,) = fp.attempts(EMAIL)  # fetched once, cached for the second call
    assert (token_call.method, token_call.target, token_call.outcome) == ("POST", "/token", "ok")
    calls = fp.attempts("gemini-x")
    assert [c.target for c in calls] == [
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-x:generateContent",
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-x:streamGenerateContent?alt=sse",
    ]
    assert {c.header("authorization") for c in calls} == {"Bearer fake-token-1"}

    from google.auth import jwt

    assertion = assertion_of(token_call)
    claims = jwt.decode(assertion, certs=rsa_key[1], audience=f"{fp.root_url}/token")
    assert claims["iss"] == EMAIL
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.decode_header(assertion) == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}


def test_litellm_vertex_config(fp: FakeProvider, key_file: Path) -> None:
    config = {
        "model_list": [
            {
                "model_name": "smart",
                "litellm_params": {
                    "model": "vertex_ai/gemini-x",
                    "vertex_project": "proj-2",
                    "vertex_location": "europe-west4",
                    "vertex_credentials": str(key_file),
                    "api_base": fp.root_url,
                },
            }
        ]
    }
    with OpenAI(config=config) as client:
        result = client.chat.completions.create(model="smart", messages=MESSAGES)
    assert result.choices[0].message.content == "Hello from gemini-x."
    (call,) = fp.attempts("gemini-x")
    assert call.target.startswith("/v1/projects/proj-2/locations/europe-west4/publishers/google/models/gemini-x:")


def test_a_refused_token_fails_over_and_the_route_names_auth(fp: FakeProvider, key_file: Path) -> None:
    fp.set_default(EMAIL, Fault.status(400))  # {"error": "invalid_grant", "error_description": "Invalid JWT ..."}
    with OpenAI(config=routed(vertex_dep(fp, key_file), gemini_dep(fp, priority=1))) as client:
        result = client.chat.completions.create(model="smart", messages=MESSAGES)
    assert result.choices[0].message.content == "Hello from gemini-y."
    info = route_info(result)
    assert info is not None
    first, served = info.attempts
    assert (first.deployment, first.reason, first.decision) == ("v", "auth", "failover")
    assert "invalid_grant" in (first.message or "")
    assert served.deployment == "g"
    assert fp.attempts("gemini-x") == []


def test_a_short_lived_token_is_refreshed(fp: FakeProvider, key_file: Path) -> None:
    short = json.dumps({"access_token": "fake-token-short", "expires_in": 1, "token_type": "Bearer"})
    fp.script(EMAIL, [Fault(body=short)])
    with OpenAI(config=routed(vertex_dep(fp, key_file))) as client:
        client.chat.completions.create(model="smart", messages=MESSAGES)
        time.sleep(0.6)  # past half its life: refreshed
        client.chat.completions.create(model="smart", messages=MESSAGES)
    assert len(fp.attempts(EMAIL)) == 2
    assert [c.header("authorization") for c in fp.attempts("gemini-x")] == [
        "Bearer fake-token-short",
        "Bearer fake-token-2",
    ]


def test_gemini_embeddings_through_the_drop_in_client(fp: FakeProvider) -> None:
    config = routed(gemini_dep(fp, "gemini-embedding-001"))
    with OpenAI(config=config) as client:
        default = client.embeddings.create(model="smart", input=["one", "two"])  # asks for base64, gets floats
        sized = client.embeddings.create(model="smart", input="three", dimensions=4, encoding_format="float")
    assert [d.index for d in default.data] == [0, 1]
    assert all(isinstance(x, float) for x in default.data[0].embedding)
    assert len(default.data[0].embedding) == 8 and default.data[0].embedding != default.data[1].embedding
    assert len(sized.data[0].embedding) == 4
    assert default.model == "gemini-embedding-001"
    first, second = fp.attempts("gemini-embedding-001")
    assert first.target == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert first.json() == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "one"}]}},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "two"}]}},
        ]
    }
    assert second.json()["requests"][0]["outputDimensionality"] == 4
    info = route_info(default)
    assert info is not None and info.served is not None
    assert "encoding_format base64 is not supported by gemini" in (info.served.message or "")


def test_token_arrays_are_rejected_naming_input(fp: FakeProvider) -> None:
    from llmfailover import BadRequestError

    with OpenAI(config=routed(gemini_dep(fp, "gemini-embedding-001"))) as client:
        with pytest.raises(BadRequestError) as caught:
            client.embeddings.create(model="smart", input=[[1, 2, 3]])
    assert "token arrays" in str(caught.value)
    assert fp.attempts() == []


@pytest.mark.needs_sdk("google.genai", "google.genai.types", "google.oauth2.service_account", "requests")
def test_google_genai_vertex_client_against_the_fake(fp: FakeProvider, key_file: Path) -> None:
    """google-auth's own assertion passes the fake's token endpoint, and google-genai parses the
    fake's Vertex answers: the fake speaks Google's dialect, so our router's agreement with it counts."""
    from google import genai
    from google.genai import types as genai_types
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    client = genai.Client(
        vertexai=True,
        project="proj-1",
        location="us-central1",
        credentials=credentials,
        http_options=genai_types.HttpOptions(base_url=fp.root_url, timeout=5000),
    )
    try:
        res = client.models.generate_content(model="gemini-x", contents="Say hello")
        assert res.text == "Hello from gemini-x."
        chunks = list(client.models.generate_content_stream(model="gemini-x", contents="Say hello"))
        assert "".join(c.text or "" for c in chunks) == "Hello from gemini-x."
        emb = client.models.embed_content(
            model="gemini-embedding-001",
            contents=["a", "b"],
            config=genai_types.EmbedContentConfig(output_dimensionality=4),
        )
        assert emb.embeddings is not None and [len(e.values or []) for e in emb.embeddings] == [4, 4]
    finally:
        client.close()
    (token_call,) = fp.attempts(EMAIL)
    assert token_call.outcome == "ok"
    assert {c.header("authorization") for c in fp.attempts("gemini-x")} == {"Bearer fake-token-1"}


@pytest.mark.needs_sdk("google.genai", "google.genai.types")
def test_google_genai_gemini_api_embeddings_against_the_fake(fp: FakeProvider) -> None:
    """The fake's Gemini API batchEmbedContents is what google-genai sends and parses."""
    from google import genai
    from google.genai import types as genai_types

    client = genai.Client(
        api_key="test-key",
        http_options=genai_types.HttpOptions(base_url=fp.root_url, api_version="v1beta", timeout=5000),
    )
    try:
        emb = client.models.embed_content(
            model="gemini-embedding-001",
            contents=["a", "b", "c"],
            config=genai_types.EmbedContentConfig(output_dimensionality=3),
        )
    finally:
        client.close()
    assert emb.embeddings is not None and [len(e.values or []) for e in emb.embeddings] == [3, 3, 3]
    (rec,) = fp.attempts("gemini-embedding-001")
    assert rec.target == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert rec.header("x-goog-api-key") == "test-key"
