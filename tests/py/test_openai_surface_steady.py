"""Every openai resource that Steady (the spec-validating mock, tests/py/_servers.py) can serve, through
``llmfailover.OpenAI`` with only the import swapped: openai's own code over ``llmfailover.Transport``.

Each call must reach Steady exactly once as a request valid for the official OpenAI spec
(``steady_checks``, as in test_conformance.py), multipart uploads and binary answers included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Callable

import llmfailover
import pytest
from conftest import HIDE_OPENAI
from test_conformance import steady, steady_checks  # noqa: F401 (the module-scoped fixture)

pytestmark = pytest.mark.skipif(HIDE_OPENAI, reason="openai hidden: these resources need openai")

JSONL = (
    "batch.jsonl",
    b'{"custom_id": "1", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n',
    "application/jsonl",
)
WAV = ("hello.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28), "audio/wav")


@pytest.fixture
def client(steady: Any) -> Iterator[Any]:  # noqa: F811
    with llmfailover.OpenAI(base_url=steady.base_url, api_key="My API Key", max_retries=0) as c:
        yield c


CALLS: list[tuple[str, str, str, Callable[[Any], Any]]] = [
    ("files.create", "POST", "/files", lambda c: c.files.create(file=JSONL, purpose="batch")),
    ("files.list", "GET", "/files", lambda c: list(c.files.list())),
    ("files.retrieve", "GET", "/files/file-abc", lambda c: c.files.retrieve("file-abc")),
    ("files.content", "GET", "/files/file-abc/content", lambda c: c.files.content("file-abc").read()),
    ("files.delete", "DELETE", "/files/file-abc", lambda c: c.files.delete("file-abc")),
    (
        "batches.create",
        "POST",
        "/batches",
        lambda c: c.batches.create(input_file_id="file-abc", endpoint="/v1/chat/completions", completion_window="24h"),
    ),
    ("batches.retrieve", "GET", "/batches/batch_1", lambda c: c.batches.retrieve("batch_1")),
    (
        "images.generate",
        "POST",
        "/images/generations",
        lambda c: c.images.generate(prompt="a cat", model="gpt-image-1"),
    ),
    (
        "audio.speech",
        "POST",
        "/audio/speech",
        lambda c: c.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hello").read(),
    ),
    (
        "audio.transcriptions",
        "POST",
        "/audio/transcriptions",
        lambda c: c.audio.transcriptions.create(model="whisper-1", file=WAV),
    ),
    ("moderations", "POST", "/moderations", lambda c: c.moderations.create(input="hi", model="omni-moderation-latest")),
    (
        "completions",
        "POST",
        "/completions",
        lambda c: c.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi"),
    ),
    ("responses.create", "POST", "/responses", lambda c: c.responses.create(model="gpt-4o-mini", input="Say hi")),
    ("responses.retrieve", "GET", "/responses/resp_1", lambda c: c.responses.retrieve("resp_1")),
    ("vector_stores.create", "POST", "/vector_stores", lambda c: c.vector_stores.create(name="docs")),
    ("fine_tuning.jobs.list", "GET", "/fine_tuning/jobs", lambda c: c.fine_tuning.jobs.list()),
    ("models.list", "GET", "/models", lambda c: list(c.models.list())),
]


@pytest.mark.parametrize("name,method,path,call", CALLS, ids=[c[0] for c in CALLS])
def test_resource_through_openais_code(
    steady: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    name: str,
    method: str,
    path: str,  # noqa: F811
    call: Callable[[Any], Any],
) -> None:
    with steady_checks(steady, method, path):
        result = call(client)
    assert result is not None


def test_async_upload_and_responses(steady: Any) -> None:  # noqa: F811
    async def main() -> None:
        async with llmfailover.AsyncOpenAI(base_url=steady.base_url, api_key="k", max_retries=0) as c:
            with steady_checks(steady, "POST", "/files"):
                await c.files.create(file=JSONL, purpose="batch")
            with steady_checks(steady, "POST", "/responses"):
                await c.responses.create(model="gpt-4o-mini", input="Say hi")

    asyncio.run(main())
