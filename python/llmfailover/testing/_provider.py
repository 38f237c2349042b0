"""``FakeProvider``: the in-process fault-injecting OpenAI-compatible server, and its log records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, Union

from ._fault import Fault

__all__ = ["AttemptRecord", "FakeProvider"]


@dataclass(frozen=True)
class AttemptRecord:
    """One request the fake received and what it did with it.

    ``outcome`` is ``"ok"``, ``"status:429"``, ``"reset"``, ``"close"``, ``"no_response"``,
    ``"cut:3"``, ``"stall:2"``, ``"malformed:1"``, ``"error_event:2"``, ``"no_done"`` (several
    stream faults joined with ``,``); ``status`` is 0 when no response was sent by design.
    """

    time: float  # seconds since the provider started
    model: str
    attempt: int  # 1-based, per model
    method: str
    target: str  # path and query
    headers: Tuple[Tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)
    stream: bool
    request_id: str = field(repr=False)
    status: int
    outcome: str

    def header(self, name: str) -> Optional[str]:
        """The last request header called ``name`` (case-insensitive), or None."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body)

    @classmethod
    def _from_core(cls, r: Any) -> "AttemptRecord":
        return cls(
            time=r.time,
            model=r.model,
            attempt=r.attempt,
            method=r.method,
            target=r.target,
            headers=tuple(r.headers),
            body=r.body,
            stream=r.stream,
            request_id=r.request_id,
            status=r.status,
            outcome=r.outcome,
        )


class FakeProvider:
    """A fault-injecting fake of the OpenAI API on 127.0.0.1 (an ephemeral port by default).

    Serving starts on construction. Point a client at ``base_url`` (OpenAI) or ``root_url``
    (Azure ``azure_endpoint``), script faults per model and per attempt, then assert on
    ``attempts()``::

        with FakeProvider() as fp:
            fp.script("gpt-4o", [Fault.rate_limited(retry_after=0.1), Fault.ok()])
            client = openai.OpenAI(base_url=fp.base_url, api_key="k")
            client.chat.completions.create(model="gpt-4o", messages=[...])
            assert [a.outcome for a in fp.attempts("gpt-4o")] == ["status:429", "ok"]

    Attempt N of a model (counted from its ``script`` call) gets ``script[N-1]``; otherwise, in
    order: an active ``outage``, the model's ``set_default``, then the same for the wildcard model
    ``"*"``, else healthy.
    ``close()`` (or leaving the ``with`` block) stops the server and closes every connection;
    ``attempts()`` still works afterwards. Safe to use from several threads.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        reply_words: int = 3,
        embedding_dimensions: int = 8,
        models: Optional[Sequence[str]] = None,
    ) -> None:
        from .. import _core  # the native module (a FakeProvider is always the real server)

        self._core_module = _core
        self._fp = _core.FakeProvider(
            host=host,
            port=port,
            threads=threads,
            reply_words=reply_words,
            embedding_dimensions=embedding_dimensions,
            models=None if models is None else list(models),
        )
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._fp.port)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the OpenAI client's ``base_url``."""
        return str(self._fp.base_url)

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``: Azure's ``azure_endpoint``."""
        return str(self._fp.root_url)

    @property
    def closed(self) -> bool:
        return self._closed

    def script(self, model: str, faults: Iterable[Fault]) -> None:
        """The Nth attempt of ``model`` after this call gets ``faults[N-1]`` (counted from 1).

        Replaces an earlier script for ``model``, used up or not; ``attempts()`` keeps counting.
        """
        self._fp.script(model, [self._fault(f) for f in faults])

    def set_default(self, model: str, fault: Fault) -> None:
        """The fault for every attempt of ``model`` (``"*"``: every model) no script entry covers."""
        self._fp.set_default(model, self._fault(fault))

    def set_reply(self, model: str, content: str) -> None:
        """The reply text for ``model`` (``"*"``: every model without its own)."""
        self._fp.set_reply(model, content)

    def set_tool_call(self, model: str, name: str, arguments: Union[str, Mapping[str, Any]]) -> None:
        """From now on ``model``'s chat answer (``"*"``: every model without its own reply or tool
        call) is one call of tool ``name`` with ``arguments`` (JSON text of an object, or a mapping,
        sent as ``json.dumps`` of it), in the serving dialect's shape, plain and streamed:

        * OpenAI: ``message.tool_calls[0]`` (id ``call_...``), finish_reason ``tool_calls``;
          streamed as ``delta.tool_calls`` (id and name first, then the arguments in pieces).
        * Anthropic: a ``tool_use`` block (id ``toolu_...``), stop_reason ``tool_use``;
          streamed as ``input_json_delta`` pieces.
        * Gemini / Vertex: a ``functionCall`` part (no id), finishReason ``STOP``; streamed in one chunk.
        * Bedrock: a ``toolUse`` block (``tooluse_...``), stopReason ``tool_use``; streamed as
          contentBlockStart + contentBlockDelta ``toolUse.input`` pieces.
        * Cohere: ``message.tool_calls`` (id ``<name>_...``), finish_reason ``TOOL_CALL``; streamed
          as tool-call-start / -delta / -end.

        Streamed argument pieces concatenate to ``arguments`` as given. An attempt whose
        ``Fault(content=...)`` is set answers that text instead (e.g. the turn after the tool
        result); stream faults apply as to text. Raises ValueError for an empty name or arguments
        that are not a JSON object.
        """
        if isinstance(arguments, Mapping):
            text = json.dumps(dict(arguments))
        elif isinstance(arguments, str):
            text = arguments
        else:
            raise TypeError(f"arguments must be a str of JSON or a mapping, got {type(arguments).__name__}")
        self._fp.set_tool_call(model, name, text)

    def outage(self, model: str, seconds: float, fault: Optional[Fault] = None) -> None:
        """From now for ``seconds``, every request for ``model`` gets ``fault`` (default: 503)."""
        self._fp.outage(model, float(seconds), None if fault is None else self._fault(fault))

    def attempts(self, model: Optional[str] = None) -> List[AttemptRecord]:
        """The requests received so far, in arrival order (only ``model``'s when given)."""
        return [AttemptRecord._from_core(r) for r in self._fp.attempts(model)]

    def reset(self) -> None:
        """Forgets scripts, defaults, replies, tool calls, outages, attempt counters and records."""
        self._fp.reset()

    def close(self) -> None:
        """Stops the server and closes every connection (idempotent)."""
        self._closed = True
        self._fp.stop()

    def __enter__(self) -> "FakeProvider":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.base_url
        return f"<FakeProvider {state}>"

    def _fault(self, fault: Fault) -> Any:
        if not isinstance(fault, Fault):
            raise TypeError(f"expected llmfailover.testing.Fault, got {type(fault).__name__}")
        return fault._to_core(self._core_module)
