"""Embeddings routed to Bedrock (Titan and Cohere embed through InvokeModel) and Cohere v2 embed:
an OpenAI-format primary that fails, the fallback's dialect on the wire, OpenAI's shape back."""

from __future__ import annotations

from typing import Any

import pytest
from llmfailover import OpenAI, route_info
from llmfailover.testing import FakeProvider, Fault

POLICY = {"timeouts": {"deadline": "5s"}, "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"}}


def config(fp: FakeProvider, fallback: dict[str, Any]) -> dict[str, Any]:
    primary = {"id": "a", "model": "emb-a", "base_url": fp.base_url, "api_key": "key-a", "priority": 0}
    second = {"id": "b", "priority": 1, "base_url": fp.root_url, **fallback}
    return {"groups": {"emb": {"deployments": [primary, second], "policy": POLICY}}}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")  # Bedrock signs with SigV4 from the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)


@pytest.mark.parametrize(
    "fallback, inputs, path, check_body",
    [
        # Titan embeds one text per InvokeModel call (a list is rejected naming `input`).
        (
            {"provider": "bedrock", "model": "amazon.titan-embed-text-v2:0", "region": "us-east-1"},
            "one",
            "/model/amazon.titan-embed-text-v2%3A0/invoke",
            lambda bodies: [b["inputText"] for b in bodies] == ["one"] and bodies[0]["dimensions"] == 4,
        ),
        (
            {"provider": "bedrock", "model": "cohere.embed-english-v3", "region": "us-east-1"},
            ["one", "two"],
            "/model/cohere.embed-english-v3/invoke",
            lambda bodies: [b["texts"] for b in bodies] == [["one", "two"]],
        ),
        (
            {"provider": "cohere", "model": "embed-v4.0", "api_key": "co-key"},
            ["one", "two"],
            "/v2/embed",
            lambda bodies: bodies[0]["texts"] == ["one", "two"] and bodies[0]["output_dimension"] == 4,
        ),
    ],
    ids=["bedrock-titan", "bedrock-cohere", "cohere"],
)
def test_embeddings_fail_over_to_another_provider(
    fp: FakeProvider, aws_env: None, fallback: dict[str, Any], inputs: Any, path: str, check_body: Any
) -> None:
    fp.set_default("emb-a", Fault.unavailable())
    kwargs: dict[str, Any] = {"dimensions": 4} if "cohere.embed" not in fallback["model"] else {}
    with OpenAI(config=config(fp, fallback)) as client:
        result = client.embeddings.create(model="emb", input=inputs, encoding_format="float", **kwargs)
    n = 1 if isinstance(inputs, str) else len(inputs)
    assert [d.index for d in result.data] == list(range(n))
    assert all(isinstance(x, float) for d in result.data for x in d.embedding)
    assert n == 1 or result.data[0].embedding != result.data[1].embedding
    if kwargs:
        assert all(len(d.embedding) == 4 for d in result.data)
    info = route_info(result)
    assert info is not None and info.served is not None
    assert (info.served.provider, info.served.model) == (fallback["provider"], fallback["model"])
    assert [a.decision for a in info.attempts] == ["failover", "served"]
    seen = fp.attempts(fallback["model"])
    assert seen and all(r.target == path for r in seen), [r.target for r in seen]
    assert check_body([r.json() for r in seen])


def test_a_list_for_titan_is_refused_naming_input_after_the_others_were_tried(fp: FakeProvider, aws_env: None) -> None:
    from llmfailover import BadRequestError

    fallback = {"provider": "bedrock", "model": "amazon.titan-embed-text-v2:0", "region": "us-east-1"}
    with OpenAI(config={"groups": {"emb": {"deployments": [{"base_url": fp.root_url, **fallback}]}}}) as client:
        with pytest.raises(BadRequestError) as caught:
            client.embeddings.create(model="emb", input=["one", "two"])
    assert "input" in str(caught.value) and "bedrock" in str(caught.value)
    assert fp.attempts() == []  # never sent
