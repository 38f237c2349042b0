"""The fault catalogue of issue 11, section 3: one list, read by the pytest catalogue
(tests/catalogue) and by the scorecard (``python -m llmfailover.scorecard``), so they cannot drift.

Every scenario runs against the DEFAULT router policy with one healthy fallback (``_bench``),
at real timings of seconds, and asserts the issue's target: rescued (or, for the 400s, a clean
error at once), never a truncated success, with attempts and spacing read from the fake
provider's log. Where a target needs a number the issue does not give, the number and its
reason are written next to it. ``gap`` names the issue-11 rule the router lacks today.

Timings vary across scenarios on purpose (hints of 1 and 2 s, silences of 5, 12 and 20 s, first
tokens after 3, 5, 20 and 28 s, outages of 4 and 55 s), so no rule can be tuned to one set.
"""

from __future__ import annotations

import time
from typing import Optional, TypedDict

from ..testing import Fault
from ._bench import BACKUP, PRIMARY, REPLY, Bench, Call
from ._runner import Checks, Scenario

__all__ = ["SCENARIOS", "by_name"]

# A scenario whose issue-11 rule the router lacks passes gap="issue 11: <rule>" (its xfail
# reason); every rule the catalogue exercises has landed, so none does today.
SHORT = "Four words, then done."  # both models' answer in the short stall (REPLY would take 45 s)


def _served(ck: Checks, call: Call, *who: str) -> None:
    ck.that(call.served_by in who, f"served by {' or '.join(who)} (got {call.served_by or call.error_kind()})")


def _never_truncated(ck: Checks, call: Call, whole: str = REPLY) -> None:
    if call.error is None:
        ck.that(call.text == whole, f"the whole answer (got {call.text!r})")


# --- rate limits and status errors -------------------------------------------------------------


def short_hint(status: int, hint: float, *, stream: bool, gap: str = "") -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        b.fp.script(PRIMARY, [Fault.http_status(status, retry_after=hint), Fault.ok()])
        call = b.ask(stream=stream)
        seen = b.attempts(PRIMARY)
        _served(ck, call, "primary")  # the model the user asked for, after waiting the hint
        ck.attempts(b.attempt_counts(), "primary", 2, 2)
        if len(seen) == 2:
            gap = seen[1].time - seen[0].time
            ck.that(gap >= hint - 0.05, f"retry waited the {hint:g} s Retry-After (waited {gap:.2f} s)")
        ck.within(call.elapsed, hint + 2.0)
        return call

    kind = "stream" if stream else "plain"
    return Scenario(
        f"{status}-hint-{hint:g}s-{kind}", f"{status} Retry-After: {hint:g} s, then OK ({kind})", run, gap=gap
    )


def long_hint(hint: float) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm()
        b.fp.set_default(PRIMARY, Fault.rate_limited(retry_after=hint))
        call = b.ask()
        _served(ck, call, "backup")  # a long hint: fall back at once rather than wait
        ck.attempts(b.attempt_counts(), "primary", 1, 1)
        ck.within(call.elapsed, 1.5, "answered by the fallback at once")
        return call

    return Scenario(f"429-hint-{hint:g}s-long", f"429 Retry-After: {hint:g} s (long: fall back)", run)


def rate_limited_sibling(hint: float) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm()
        b.fp.set_default(PRIMARY, Fault.rate_limited(retry_after=hint))
        call = b.ask()
        _served(ck, call, "sibling")  # same group, another target: at once, no wait
        ck.within(call.elapsed, 1.5, "answered by the sibling at once")  # not after the 2 s hint
        ck.attempts(b.attempt_counts(), "primary", 0, 1)
        return call

    return Scenario(
        f"429-hint-{hint:g}s-sibling",
        f"429 Retry-After: {hint:g} s, same group has a sibling",
        run,
        bench={"sibling": True},
    )


def persistent(
    fault: Fault, name: str, text: str, *, stream: bool, max_primary: int = 3, bench: Optional[dict[str, object]] = None
) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        b.fp.set_default(PRIMARY, fault)
        call = b.ask(stream=stream)
        _served(ck, call, "backup")
        ck.attempts(b.attempt_counts(), "primary", 1, max_primary)
        ck.within(call.elapsed, 5.0)  # backoff of a few retries: base 0.5 s, full jitter
        _never_truncated(ck, call)
        return call

    return Scenario(name, text, run, bench=bench or {})


def once(fault: Fault, name: str, text: str, *, stream: bool) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        b.fp.script(PRIMARY, [fault])
        call = b.ask(stream=stream)
        _served(ck, call, "primary", "backup")
        ck.attempts(b.attempt_counts(), "primary", 1, 2)
        ck.within(call.elapsed, 3.0)
        return call

    return Scenario(name, text, run)


def bad_request(fault: Fault, name: str, text: str) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm()
        b.fp.set_default(PRIMARY, fault)
        call = b.ask()
        got = call.error_kind() or "an answer"
        ck.that(getattr(call.error, "status_code", None) == 400, f"a 400 BadRequestError (got {got})")
        ck.attempts(b.attempt_counts(), "primary", 1, 1)  # never retried: the request is the problem
        ck.attempts(b.attempt_counts(), "backup", 0, 1)
        ck.within(call.elapsed, 1.5, "the error raised at once")
        return call

    return Scenario(name, text, run, expect="clean error")


# --- silence and slowness before the first token -----------------------------------------------


def silent_then_hangup(seconds: float, *, stream: bool, timeout: Optional[float] = None) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        b.fp.set_default(PRIMARY, Fault(delay_before_headers=seconds, action="close"))
        call = b.ask(stream=stream, timeout=timeout)
        _served(ck, call, "backup")
        ck.attempts(b.attempt_counts(), "primary", 1, 1)  # silent, then closed: not retried there
        ck.within(call.elapsed, seconds + 2.0)
        return call

    kind = "stream" if stream else "plain"
    extra = f", timeout={timeout:g}" if timeout else ""
    name = f"silent-{seconds:g}s-hangup-{kind}" + (f"-timeout{timeout:g}" if timeout else "")
    return Scenario(name, f"silent {seconds:g} s, then hang-up ({kind}{extra})", run, limit=max(60.0, 3 * seconds + 20))


def silent_forever(*, warm: bool, limit_s: float, timeout: Optional[float] = None, gap: str = "") -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        if warm:
            b.warm(stream=True)
        else:
            b.fp.reset()
            b.set_replies()
        b.fp.set_default(PRIMARY, Fault.no_response())
        call = b.ask(stream=True, timeout=timeout)
        _served(ck, call, "backup")
        ck.attempts(b.attempt_counts(), "primary", 1, 1)
        ck.within(call.elapsed, limit_s)
        return call

    how = "warm primary" if warm else "cold primary"
    extra = f", timeout={timeout:g}" if timeout else ""
    name = f"silent-minutes-{'warm' if warm else 'cold'}" + (f"-timeout{timeout:g}" if timeout else "")
    return Scenario(name, f"silent for minutes ({how}, stream{extra})", run, gap=gap, limit=90.0)


def slow_first_token(seconds: float, *, stream: bool, limit_s: float, gap: str = "", hedged: bool = False) -> Scenario:
    """``hedged``: the group has a sibling and ``hedge: {delay: p95}`` (opt-in): the sibling gets
    the same request after the primary's p95 (floored at 100 ms) and answers first."""

    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        slow = Fault.slow_first_token(seconds) if stream else Fault.slow_headers(seconds)
        b.fp.script(PRIMARY, [slow])
        call = b.ask(stream=stream)
        _served(ck, call, *(("sibling",) if hedged else ("primary", "backup")))
        if hedged:
            ck.attempts(b.attempt_counts(), "primary", 1, 1)  # the hedged attempt, then cancelled
            ck.attempts(b.attempt_counts(), "sibling", 1, 1)
        ck.within(call.elapsed, limit_s)
        _never_truncated(ck, call)
        return call

    kind = "stream" if stream else "plain"
    return Scenario(
        f"first-token-{seconds:g}s-{kind}" + ("-hedged" if hedged else ""),
        f"first token after {seconds:g} s ({kind}, warm primary" + (", hedge on, a sibling)" if hedged else ")"),
        run,
        gap=gap,
        limit=max(60.0, seconds + 30),
        bench={"sibling": True, "hedge": True} if hedged else {},
    )


# --- breaks after the first token --------------------------------------------------------------


def mid_stream(
    fault: Fault,
    name: str,
    text: str,
    *,
    limit_s: float,
    gap: str = "",
    timeout: Optional[float] = None,
    whole: str = REPLY,
    use_async: bool = False,
) -> Scenario:

    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=True)
        b.fp.script(PRIMARY, [fault])
        call = b.ask(stream=True, timeout=timeout)
        ck.that(call.answered, f"no error (got {call.error_kind()})")
        _never_truncated(ck, call, whole)
        ck.that(call.finish == "stop", f"finish_reason stop (got {call.finish})")
        ck.within(call.elapsed, limit_s)
        return call

    return Scenario(
        name,
        text,
        run,
        gap=gap,
        limit=max(60.0, limit_s + 30),
        whole=lambda c: c.text == whole,
        bench={"reply": whole, "use_async": use_async},
    )


def cut_fallback_rejects_prefill() -> Scenario:
    # FakeProvider cannot refuse a prefill by itself (it answers whatever it is sent), so the
    # backup's first attempt, the recovery request, is scripted to refuse one, as Mistral does
    # for an assistant prefix it cannot continue; the restart that should follow is answered.
    refuse = Fault.http_status(
        400,
        error_code="invalid_request_prefix",
        error_message="Assistant message with prefix=true is not supported here",
    )

    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=True)
        b.fp.script(PRIMARY, [Fault.cut(5)])
        b.fp.script(BACKUP, [refuse, Fault.ok()])
        call = b.ask(stream=True)
        ck.that(call.answered, f"no error (got {call.error_kind()})")
        _never_truncated(ck, call)
        ck.within(call.elapsed, 3.0)
        return call

    return Scenario(
        "cut-fallback-rejects-prefill",
        "stream cut; the fallback (mistral) rejects prefill",
        run,
        bench={"backup_provider": "mistral"},
    )


def cut_fallback_words_differently() -> Scenario:
    # The fallback is another model: a restart cannot repeat the delivered words exactly. The fake
    # answers a continuation prompt with its whole sentence, so the target checked is the shape:
    # no error, the delivered words first, then more, and a finish.
    delivered = " ".join(REPLY.split()[:4])  # Fault.cut(4): four content chunks, one word each
    other = "A different model phrases the same story in its own words entirely."

    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=True)
        b.fp.script(PRIMARY, [Fault.cut(4)])
        call = b.ask(stream=True)
        ck.that(call.answered, f"no error (got {call.error_kind()})")
        ck.that(
            call.text.startswith(delivered) and len(call.text) > len(delivered) + 10,
            f"the delivered {delivered!r} continued (got {call.text!r})",
        )
        ck.that(call.finish == "stop", f"finish_reason stop (got {call.finish})")
        ck.within(call.elapsed, 3.0)
        return call

    return Scenario(
        "cut-fallback-words-differently",
        "stream cut; the fallback words its answer differently",
        run,
        bench={"backup_reply": other},
        whole=lambda c: c.text.startswith(delivered) and c.finish == "stop",
    )


def everything_down(primary: Fault, name: str, text: str, *words: str) -> Scenario:
    """No healthy fallback, for once: the clean error's message must summarise the route (each
    target and what it did), as issue 11's "errors say what happened" asks, not only the last."""

    def run(b: Bench, ck: Checks) -> Call:
        b.warm()
        b.fp.set_default(PRIMARY, primary)
        b.fp.set_default(BACKUP, Fault.unavailable())
        call = b.ask()
        message = str(call.error or "")
        ck.that(all(w in message for w in words), f"the message names {', '.join(words)} (got {message[:120]!r})")
        ck.within(call.elapsed, 20.0, "the error raised")
        return call

    return Scenario(name, text, run, expect="clean error")


# --- outages under a trickle of requests -------------------------------------------------------


def outage(seconds: float, every: float, *, return_within: float, gap: str = "") -> Scenario:
    """The primary answers 503 for ``seconds`` under a request every ``every`` seconds; the trickle
    goes on after its recovery until the primary serves again (and two more), at most 40 s."""
    watch = 40.0

    def run(b: Bench, ck: Checks) -> list[Call]:
        b.warm()
        b.fp.outage(PRIMARY, seconds)  # 503 for every request in the window
        start = b.now()
        recovered = start + seconds
        calls: list[Call] = []
        back: list[Call] = []
        while b.now() < recovered + watch and len(back) < 3:
            t = b.now()
            calls.append(b.ask())
            if calls[-1].started >= recovered and calls[-1].served_by == "primary":
                back.append(calls[-1])
            time.sleep(max(0.0, every - (b.now() - t)))
        ck.that(all(c.answered for c in calls), f"every request answered ({sum(not c.answered for c in calls)} not)")
        if ck.that(bool(back), f"the primary served again within {watch:g} s of its recovery"):
            ck.note(f"the primary served again {back[0].started - recovered:.1f} s after it recovered")
            ck.within(back[0].started - recovered, return_within, "the primary served again")
        else:
            ck.note(f"the primary did not serve again in the {watch:g} s after it recovered")
        longest = max(c.elapsed for c in calls)
        ck.that(longest <= 5.0, f"no request waited over 5 s (longest {longest:.1f} s)")
        late = [c for c in calls if start + 10 <= c.started < recovered]  # the breaker has opened by then
        most = max((c.attempts_on("primary") for c in late), default=0)
        ck.that(most <= 1, f"at most one attempt per request on the down primary once its breaker opened (got {most})")
        return calls

    return Scenario(
        f"outage-{seconds:g}s-trickle",
        f"primary down {seconds:g} s, a request every {every:g} s",
        run,
        gap=gap,
        limit=seconds + watch + 30,
    )


# --- accounting --------------------------------------------------------------------------------


def accounting(*, stream: bool) -> Scenario:
    def run(b: Bench, ck: Checks) -> Call:
        b.warm(stream=stream)
        b.fp.set_default(PRIMARY, Fault.unavailable())
        call = b.ask(stream=stream, include_usage=stream)
        _served(ck, call, "backup")
        ck.that(call.model == BACKUP, f"the answer names the fallback's model {BACKUP} (got {call.model})")
        words = len(REPLY.split())
        got = (call.usage or {}).get("completion_tokens")
        ck.that(got == words, f"usage is the fallback's ({words} completion tokens, got {got})")
        return call

    kind = "stream" if stream else "plain"
    return Scenario(f"accounting-{kind}", f"accounting: model and usage of the fallback ({kind})", run)


class _Mode(TypedDict):
    stream: bool


def _scenarios() -> list[Scenario]:
    plain: _Mode = {"stream": False}
    stream: _Mode = {"stream": True}
    return [
        short_hint(429, 1, **plain),
        short_hint(429, 2, **stream),
        short_hint(503, 1.5, **plain),
        long_hint(30),
        rate_limited_sibling(2),
        persistent(Fault.rate_limited(retry_after=None), "429-persistent-no-hint", "429 persistent, no hint", **plain),
        once(Fault.server_error(500), "500-once", "500 once", **plain),
        persistent(Fault.unavailable(), "503-persistent-plain", "503 persistent (plain)", **plain),
        persistent(Fault.unavailable(), "503-persistent-stream", "503 persistent (stream)", **stream),
        persistent(
            Fault.unavailable(),
            "503-persistent-async",
            "503 persistent (AsyncOpenAI, stream)",
            **stream,
            bench={"use_async": True},
        ),
        once(Fault.reset(), "reset-before-headers", "reset before headers (stream)", **stream),
        # max_attempts: the transport's re-send on a fresh connection (a pooled one closed unanswered)
        # counts as one of them.
        persistent(Fault.reset(), "reset-persistent", "reset before headers, every time", **plain),
        silent_then_hangup(5, **plain),
        silent_then_hangup(12, **stream),
        silent_then_hangup(20, stream=True, timeout=30),
        silent_forever(warm=False, limit_s=35.0),  # cold: nothing learned, the 30 s default applies
        # A primary that normally answers in milliseconds: leave it well before the 30 s default.
        silent_forever(warm=True, limit_s=10.0),
        silent_forever(warm=False, timeout=30, limit_s=16.0),  # half of 30 s, then the fallback
        slow_first_token(3, stream=True, limit_s=4.5),
        slow_first_token(5, stream=False, limit_s=6.5),
        slow_first_token(20, stream=True, limit_s=12.0),
        slow_first_token(28, stream=False, limit_s=15.0),
        slow_first_token(3, stream=True, limit_s=1.0, hedged=True),
        slow_first_token(20, stream=True, limit_s=1.0, hedged=True),
        slow_first_token(28, stream=False, limit_s=1.0, hedged=True),
        mid_stream(Fault.cut(4), "cut-mid-answer", "stream cut mid-answer", limit_s=3.0),
        mid_stream(
            Fault.cut(10).replace(chunk_delay=0.1), "cut-late-slow", "stream cut late, slow chunks", limit_s=4.0
        ),
        mid_stream(
            Fault.cut(4), "cut-mid-answer-async", "stream cut mid-answer (AsyncOpenAI)", limit_s=3.0, use_async=True
        ),
        once(Fault.cut(0), "cut-plain-body", "plain answer cut mid-body", **plain),
        # Pauses of 2.5 s between chunks, well under any idle limit: wait (or rescue), never cut.
        mid_stream(
            Fault(chunk_delay=2.5),
            "stall-short",
            "stalls of 2.5 s between chunks",
            whole=SHORT,
            limit_s=(len(SHORT.split()) + 1) * 2.5 + 4,
        ),
        mid_stream(Fault.stall(4), "stall-long", "stall forever after 4 chunks (default idle 30 s)", limit_s=33.0),
        mid_stream(
            Fault.stall(6), "stall-long-timeout20", "stall forever after 6 chunks, timeout=20", limit_s=20.0, timeout=20
        ),
        mid_stream(Fault.malformed(0), "malformed-first-chunk", "malformed first chunk", limit_s=2.0),
        mid_stream(Fault.malformed(5), "malformed-mid-stream", "malformed chunk mid-stream", limit_s=3.0),
        mid_stream(Fault.no_done(), "no-done", "no [DONE] at the end", limit_s=2.0),
        bad_request(Fault.context_length_exceeded(), "context-length-exceeded", "context length exceeded"),
        bad_request(Fault.content_policy(), "content-filter", "content filter"),
        cut_fallback_rejects_prefill(),
        cut_fallback_words_differently(),
        everything_down(
            Fault.unavailable(), "all-down-503", "no healthy target: primary and backup 503", "primary", "backup", "503"
        ),
        everything_down(
            Fault(delay_before_headers=2, action="close"),
            "all-down-silent",
            "no healthy target: primary silent 2 s then hang-up, backup 503",
            "primary",
            "silent",
            "backup",
            "503",
        ),
        outage(4, every=0.5, return_within=15),
        outage(55, every=2, return_within=15),
        accounting(stream=False),
        accounting(stream=True),
    ]


SCENARIOS: list[Scenario] = _scenarios()


def by_name(names: list[str]) -> list[Scenario]:
    """The scenarios with these names (all of them for an empty list), in catalogue order."""
    if not names:
        return list(SCENARIOS)
    known = {s.name for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in SCENARIOS if s.name in names]
