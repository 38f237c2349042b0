"""The bench one scenario runs on, and what a call did.

A ``Bench`` is one ``FakeProvider`` serving two models and a drop-in ``OpenAI`` client with the
router's DEFAULT policy and one healthy fallback: the group ``main`` (deployment ``primary``,
model ``m-primary``) falls back to the group ``backup`` (deployment ``backup``, model
``m-backup``). Nothing in the policy is tuned: what a new user gets is what is measured.
Both models answer the same sentence (``REPLY``, or ``reply``), as one deterministic model
would, so a rescued stream can be compared with the whole answer character by character
(``backup_reply`` makes the fallback word it differently).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .._routing import RouteInfo, route_info
from ..errors import APIError
from ..testing import FakeProvider

__all__ = ["REPLY", "PRIMARY", "BACKUP", "SIBLING", "Bench", "Call", "LABELS"]

REPLY = "The quick brown fox jumps over the lazy dog while the old cat watches from the warm windowsill."
PRIMARY, BACKUP, SIBLING = "m-primary", "m-backup", "m-sibling"
LABELS = {PRIMARY: "primary", BACKUP: "backup", SIBLING: "sibling"}
MESSAGES = [{"role": "user", "content": "Tell me about the fox."}]


@dataclass
class Call:
    """One request and what came back (times in seconds; ``started`` since the bench began)."""

    stream: bool
    started: float
    elapsed: float = 0.0
    first_chunk: Optional[float] = None
    text: str = ""
    finish: Optional[str] = None
    model: Optional[str] = None
    usage: Optional[dict[str, Any]] = None
    error: Optional[BaseException] = None
    route: Optional[RouteInfo] = None

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def served_by(self) -> Optional[str]:
        """The deployment that served the answer ("primary", "backup", ...), None if none did."""
        served = self.route.served if self.route else None
        return served.deployment if served is not None else None

    def attempts_on(self, deployment: str) -> int:
        """How many attempts this call's route log has on ``deployment``."""
        return sum(1 for a in (self.route.attempts if self.route else []) if a.deployment == deployment)

    def error_text(self) -> str:
        e = self.error
        return "" if e is None else f"{type(e).__name__}: {str(e)[:160]}"

    def error_kind(self) -> str:
        """The error in a few words: its class and status or native code, e.g.
        ``StreamInterrupted (idle_timeout)``, ``BadRequestError (400)``; "" when none."""
        e = self.error
        if e is None:
            return ""
        cause = getattr(e, "cause", None) or e.__cause__
        # The native detail names the innermost cause last: "... (connection_closed: ...)".
        inner = re.findall(r"\(([a-z_]+)[:)]", str(getattr(cause, "detail", "")))
        code = getattr(e, "status_code", None) or (inner[-1] if inner else getattr(cause, "errc", ""))
        return f"{type(e).__name__} ({code})" if code else type(e).__name__


@dataclass
class Bench:
    """A fake upstream and a client with the default policy. ``close()`` ends both (idempotent),
    which also ends a call stuck on a silent target: the scenario runner relies on that."""

    sibling: bool = False
    hedge: bool = False  # main: hedge {delay: p95}, the primary preferred (priority) so it is hedged
    backup_provider: str = "openai"
    reply: str = REPLY  # what both models answer
    backup_reply: Optional[str] = None  # another text: the fallback is a model that words it differently
    stream_recovery: Optional[str] = None
    use_async: bool = False  # AsyncOpenAI on an event loop of the bench's own
    fp: FakeProvider = field(init=False)
    client: Any = field(init=False)
    loop: Optional[asyncio.AbstractEventLoop] = field(init=False, default=None)
    t0: float = field(init=False)

    def __post_init__(self) -> None:
        from .. import AsyncOpenAI, OpenAI

        self.fp = FakeProvider(threads=2)
        self.set_replies()
        self.client = (AsyncOpenAI if self.use_async else OpenAI)(config=self.config())
        self.loop = asyncio.new_event_loop() if self.use_async else None
        self.t0 = time.monotonic()

    def config(self) -> dict[str, Any]:
        def dep(id_: str, model: str, **kw: Any) -> dict[str, Any]:
            return {"id": id_, "model": model, "base_url": self.fp.base_url, "api_key": f"sk-{id_}", **kw}

        first = {"priority": 0} if self.hedge else {}
        main = [dep("primary", PRIMARY, **first)]
        if self.sibling:  # a second deployment of the same group, as a multi-region setup has
            main.append(dep("sibling", SIBLING, **({"priority": 1} if self.hedge else {})))
        group: dict[str, Any] = {"deployments": main}
        if self.hedge:
            group["policy"] = {"hedge": {"delay": "p95"}}
        config: dict[str, Any] = {
            "groups": {
                "main": group,
                "backup": {"deployments": [dep("backup", BACKUP, provider=self.backup_provider)]},
            },
            "fallbacks": {"main": ["backup"]},
        }
        if self.stream_recovery:
            config["stream_recovery"] = self.stream_recovery
        return config

    def set_replies(self) -> None:
        self.fp.set_reply("*", self.reply)
        self.fp.set_reply(BACKUP, self.backup_reply or self.reply)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def warm(self, n: int = 3, *, stream: bool = False) -> None:
        """``n`` healthy calls (the primary's "normal"), then a fresh attempt log on the fake."""
        for _ in range(n):
            call = self.ask(stream=stream)
            if not call.answered:
                raise RuntimeError(f"warm-up call failed: {call.error_text()}")
        self.fp.reset()
        self.set_replies()

    def ask(self, *, stream: bool = False, timeout: Optional[float] = None, include_usage: bool = False) -> Call:
        """One chat completion for the group ``main``; every outcome is captured, none raised."""
        kw: dict[str, Any] = {"model": "main", "messages": MESSAGES}
        if timeout is not None:
            kw["timeout"] = timeout
        if stream and include_usage:
            kw["stream_options"] = {"include_usage": True}
        start = time.monotonic()
        call = Call(stream=stream, started=start - self.t0)
        try:
            if self.loop is not None:
                self.loop.run_until_complete(self._ask_async(call, kw, start))
            elif stream:
                s = self.client.chat.completions.create(stream=True, **kw)
                call.route = route_info(s)
                for chunk in s:
                    _take_chunk(call, chunk, start)
                call.route = route_info(s) or call.route
            else:
                _take_result(call, self.client.chat.completions.create(**kw))
        except Exception as e:  # noqa: BLE001 - the scorecard judges every outcome, clean or not
            call.error = e
            call.route = call.route or route_info(e)
        call.elapsed = time.monotonic() - start
        return call

    async def _ask_async(self, call: Call, kw: dict[str, Any], start: float) -> None:
        if call.stream:
            s = await self.client.chat.completions.create(stream=True, **kw)
            call.route = route_info(s)
            async for chunk in s:
                _take_chunk(call, chunk, start)
            call.route = route_info(s) or call.route
        else:
            _take_result(call, await self.client.chat.completions.create(**kw))

    def attempts(self, model: Optional[str] = None) -> list[Any]:
        return self.fp.attempts(model)

    def attempt_counts(self) -> dict[str, int]:
        """Attempts the fake saw per deployment label since the last ``warm()``/reset."""
        counts: dict[str, int] = {}
        for a in self.fp.attempts():
            label = LABELS.get(a.model, a.model)
            counts[label] = counts.get(label, 0) + 1
        return counts

    def snapshot_states(self) -> dict[str, str]:
        """Each deployment's breaker state now ("closed", "open", "half_open", ...)."""
        return {s["deployment"]: s["state"] for s in self.client.router_snapshot()}

    def close(self) -> None:
        try:
            self.fp.close()
        finally:
            if self.loop is None:
                self.client.close()
            else:  # the async client's close() only closes the engine: any loop will do
                asyncio.run(self.client.close())
                if not self.loop.is_running():  # still running: a hung call, ended by the close
                    self.loop.close()


def _take_result(call: Call, result: Any) -> None:
    call.route = route_info(result)
    call.text = result.choices[0].message.content or ""
    call.finish = result.choices[0].finish_reason
    call.model = result.model
    call.usage = result.usage.model_dump() if result.usage is not None else None


def _take_chunk(call: Call, chunk: Any, start: float) -> None:
    if call.first_chunk is None:
        call.first_chunk = time.monotonic() - start
    call.model = chunk.model
    if chunk.usage is not None:
        call.usage = chunk.usage.model_dump()
    if chunk.choices:
        call.text += chunk.choices[0].delta.content or ""
        call.finish = chunk.choices[0].finish_reason or call.finish


def is_clean_error(error: BaseException) -> bool:
    """An error a caller can handle: one of the openai-compatible classes, with a message."""
    return isinstance(error, APIError) and bool(str(error))
