"""Result types: openai's own classes when importable, look-alikes with the same shapes otherwise."""

from __future__ import annotations

import json

import llmfailover
import pytest
from conftest import HIDE_OPENAI
from llmfailover import types
from llmfailover._compat import HAS_OPENAI, response_types
from llmfailover._http import Headers, Request, Response
from llmfailover._response import parse_model
from llmfailover.types import _chat, _misc

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-x",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}],
            },
        }
    ],
    "usage": {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 1},
        "completion_tokens_details": {"reasoning_tokens": 2},
    },
    "x_provider_field": {"kept": True},
}


def _response(headers: list[tuple[str, str]] = ()) -> Response:  # type: ignore[assignment]
    return Response(200, Headers(headers), Request("POST", "http://h/v1/chat/completions"))


def test_selection_follows_openai_availability() -> None:
    assert HAS_OPENAI is (not HIDE_OPENAI)
    cls = response_types()["ChatCompletion"]
    assert types.ChatCompletion is cls
    if HAS_OPENAI:
        import openai.types.chat

        assert cls is openai.types.chat.ChatCompletion
        assert types.CreateEmbeddingResponse is __import__("openai").types.CreateEmbeddingResponse
    else:
        assert cls is _chat.ChatCompletion


@pytest.mark.parametrize("cls", [_chat.ChatCompletion, types.ChatCompletion])
def test_completion_shape_and_extras(cls: type) -> None:
    c = parse_model(cls, json.dumps(COMPLETION).encode(), _response([("X-Request-Id", "req_9")]))
    assert isinstance(c, cls)
    call = c.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == ("call_1", "f", '{"a":1}')
    assert c.usage.prompt_tokens_details.cached_tokens == 1
    assert c.usage.completion_tokens_details.reasoning_tokens == 2
    assert c.x_provider_field == {"kept": True}
    assert c._request_id == "req_9"
    assert json.loads(c.to_json())["x_provider_field"] == {"kept": True}
    assert c.to_dict()["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("cls", [_chat.ChatCompletion, types.ChatCompletion])
def test_off_enum_values_fall_back_to_construct(cls: type) -> None:
    data = json.loads(json.dumps(COMPLETION))
    data["choices"][0]["finish_reason"] = "model_length"  # Mistral
    c = parse_model(cls, json.dumps(data).encode(), _response())
    assert c.choices[0].finish_reason == "model_length"
    assert c.choices[0].message.tool_calls[0].function.name == "f"  # nested models built too


def test_strict_validation_raises() -> None:
    data = dict(COMPLETION, choices=[{"index": 0, "finish_reason": "model_length", "message": {"role": "assistant"}}])
    with pytest.raises(llmfailover.APIResponseValidationError) as info:
        parse_model(types.ChatCompletion, json.dumps(data).encode(), _response(), strict=True)
    assert info.value.status_code == 200


@pytest.mark.parametrize("cls", [_chat.ChatCompletionChunk, types.ChatCompletionChunk])
def test_chunks_including_azure_prelude(cls: type) -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hé"}, "finish_reason": None}],
    }
    parsed = parse_model(cls, json.dumps(chunk).encode(), _response())
    assert parsed.choices[0].delta.content == "hé"
    prelude = {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": []}
    parsed = parse_model(cls, json.dumps(prelude).encode(), _response())
    assert parsed.choices == [] and parsed.prompt_filter_results == []


def test_own_embedding_and_model_types() -> None:
    e = _misc.CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "e",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )
    assert e.data[0].embedding == [0.5]
    m = _misc.Model.model_validate({"id": "m", "created": 1, "object": "model", "owned_by": "me"})
    assert m.to_dict() == {"id": "m", "created": 1, "object": "model", "owned_by": "me"}


def test_own_models_mirror_openai_field_names() -> None:
    openai_types = pytest.importorskip("openai.types")
    import openai.types.chat as oc

    pairs = [
        (_chat.ChatCompletion, oc.ChatCompletion),
        (_chat.ChatCompletionChunk, oc.ChatCompletionChunk),
        (_chat.ChatCompletionMessage, oc.ChatCompletionMessage),
        (_chat.CompletionUsage, openai_types.CompletionUsage),
        (_misc.CreateEmbeddingResponse, openai_types.CreateEmbeddingResponse),
        (_misc.Model, openai_types.Model),
    ]
    for ours, theirs in pairs:
        missing = set(ours.model_fields) - set(theirs.model_fields)
        assert not missing, (ours, missing)
        required = {k for k, f in theirs.model_fields.items() if f.is_required()}
        assert required <= set(ours.model_fields), (ours, required - set(ours.model_fields))
