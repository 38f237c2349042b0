"""Runs scenarios (each on its own ``Bench``, concurrently, under a hard time limit) and judges them.

Verdicts, from what the caller got, before any target is checked:

* ``rescued``: every call answered with the whole answer (``REPLY``, or what the scenario
  accepts as whole);
* ``clean error``: some call raised an openai-compatible ``APIError`` and no call was unsafe;
* ``unsafe``: a call "succeeded" with a truncated or garbled answer, raised something else, or
  hung past the scenario's limit (the bench is then closed under it, which ends the call);
* ``harness error``: the scenario itself broke (e.g. its warm-up failed): no verdict.

``met`` is whether the issue-11 target holds: the verdict the scenario expects, and every one of
its checks (spacing, attempts per target, time to answer) passed.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence, Union, cast

from ._bench import REPLY, Bench, Call, is_clean_error

__all__ = ["Checks", "Scenario", "Result", "run_one", "run_all"]


class Checks:
    """The target's conditions, collected (not raised) so every miss is reported at once."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.notes: list[str] = []  # measurements worth printing even when the target is met

    def note(self, text: str) -> None:
        self.notes.append(text)

    def that(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failed.append(what)
        return ok

    def within(self, seconds: float, limit: float, what: str = "answered") -> bool:
        return self.that(seconds <= limit, f"{what} within {limit:g} s (took {seconds:.1f} s)")

    def attempts(self, counts: dict[str, int], label: str, low: int, high: int) -> bool:
        n = counts.get(label, 0)
        span = f"{low}" if low == high else f"{low}-{high}"
        return self.that(low <= n <= high, f"{span} attempt(s) on {label} (got {n})")


Outcome = Union[Call, Sequence[Call]]
RunFn = Callable[[Bench, Checks], Outcome]


@dataclass(frozen=True)
class Scenario:
    """One fault of the catalogue. ``run`` scripts the fault on the bench, makes the call(s) and
    checks the target; ``gap`` names the issue-11 rule the router lacks today (the catalogue marks
    the scenario xfail(strict) with it, the scorecard prints it), "" when the target holds."""

    name: str
    fault: str
    run: RunFn
    expect: str = "rescued"  # or "clean error"
    gap: str = ""
    limit: float = 60.0  # seconds before the call counts as hung
    bench: dict[str, object] = field(default_factory=dict)  # Bench options (sibling, ...)
    whole: Optional[Callable[[Call], bool]] = None  # what counts as a whole answer (default: REPLY)


@dataclass
class Result:
    scenario: Scenario
    verdict: str
    seconds: float  # time to answer: the last call's (the one under test), or the longest of many
    attempts: dict[str, int]
    failed: list[str]
    calls: list[Call]
    note: str = ""  # why the verdict, when not rescued
    measured: list[str] = field(default_factory=list)  # the scenario's own measurements

    @property
    def met(self) -> bool:
        return self.verdict == self.scenario.expect and not self.failed

    def explain(self) -> str:
        lines = [
            f"{self.scenario.name}: {self.verdict} (expected {self.scenario.expect}) in {self.seconds:.1f} s, "
            f"attempts {self.attempts}"
        ]
        lines += [f"  target missed: {f}" for f in self.failed]
        lines += [f"  {self.note}"] if self.note else []
        lines += [f"  measured: {m}" for m in self.measured]
        for c in self.calls[-3:]:
            route = str(c.route) if c.route else "-"
            lines.append(f"  call at {c.started:.1f} s: {c.error_text() or repr(c.text[:60])}; route: {route[:400]}")
        return "\n".join(lines)


def _verdict(s: Scenario, calls: list[Call]) -> tuple[str, str]:
    whole = s.whole or (lambda c: c.text == REPLY)
    for c in calls:
        if c.error is None and not whole(c):
            return "unsafe", f"a truncated or garbled success: {c.text!r}"
        if c.error is not None and not is_clean_error(c.error):
            return "unsafe", f"not an API error: {c.error_text()}"
    if any(c.error is not None for c in calls):
        first = next(c for c in calls if c.error is not None)
        return "clean error", first.error_text()
    return "rescued", ""


def run_one(s: Scenario) -> Result:
    """Runs ``s`` on a fresh bench in a worker thread; past ``s.limit`` it is judged hung."""
    bench = Bench(**s.bench)  # type: ignore[arg-type]
    checks = Checks()
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["out"] = s.run(bench, checks)
        except BaseException as e:  # noqa: BLE001 - a broken scenario is reported, not raised here
            box["crash"] = e

    worker = threading.Thread(target=work, name=f"scenario-{s.name}", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(s.limit)
    hung = worker.is_alive()
    attempts = bench.attempt_counts()
    bench.fp.close()  # ends a call still waiting on a silent target
    worker.join(10)
    bench.close()  # the client (and its event loop) once the call is over
    if hung:
        took = time.monotonic() - started
        return Result(
            s, "unsafe", took, attempts, checks.failed, [], f"no answer after {s.limit:g} s (hung)", checks.notes
        )
    if "crash" in box:  # the harness broke (a failed warm-up, a bug): not a verdict on the router
        crash = box["crash"]
        return Result(
            s,
            "harness error",
            time.monotonic() - started,
            attempts,
            checks.failed,
            [],
            f"{type(crash).__name__}: {crash}",
            checks.notes,
        )
    out = cast(Outcome, box["out"])  # what s.run returned
    calls = [out] if isinstance(out, Call) else list(out)
    verdict, note = _verdict(s, calls)
    seconds = calls[-1].elapsed if isinstance(out, Call) else max(c.elapsed for c in calls)
    return Result(s, verdict, seconds, attempts, checks.failed, calls, note, checks.notes)


def run_all(
    scenarios: Iterable[Scenario], *, on_result: Optional[Callable[[Result], None]] = None, workers: int = 64
) -> dict[str, Result]:
    """Runs every scenario at once (they mostly wait on sockets and timers); results by name."""
    scenarios = list(scenarios)
    results: dict[str, Result] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(scenarios)))) as pool:
        futures = {pool.submit(run_one, s): s for s in scenarios}
        for f in concurrent.futures.as_completed(futures):
            r = f.result()
            results[r.scenario.name] = r
            if on_result is not None:
                on_result(r)
    return results
