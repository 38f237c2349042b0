"""Test helpers: ``FakeProvider``, a fault-injecting fake of the OpenAI API, for testing failover.

    from llmfailover.testing import FakeProvider, Fault

    with FakeProvider() as fp:
        fp.script("gpt-4o", [Fault.status(503), Fault.cut_after(2), Fault.ok()])
        ...  # point any OpenAI-compatible client at fp.base_url
        assert [a.outcome for a in fp.attempts("gpt-4o")] == ["status:503", "cut:2", "ok"]

Endpoints: ``POST /v1/chat/completions`` (JSON or SSE), ``POST /v1/embeddings`` (float or
base64), ``GET /v1/models``; also without ``/v1`` and as Azure ``/openai/deployments/{d}/...``.
Replies are deterministic ("Hello from <model>." by default); ``set_reply(model, text)`` changes
the text, ``set_tool_call(model, name, arguments)`` makes the answer a tool call instead. Other
providers' dialects (Anthropic, Gemini, Vertex AI, Bedrock, Cohere) answer on their own paths
(docs/providers.md "Testing against the dialects").
"""

from ._fault import Fault
from ._provider import AttemptRecord, FakeProvider

__all__ = ["AttemptRecord", "FakeProvider", "Fault"]
