"""Pacing (rpm/tpm from the router config) and the outage gate of a batch job.

``Pacer`` spaces sends so a model group's requests and estimated tokens stay under the sum of its
deployments' ``rpm``/``tpm`` (no pacing when a deployment of the group has no limit): the router
would refuse the excess anyway (it enforces the same limits before sending), so pacing only keeps
the job from spinning on refusals. ``OutageGate`` pauses a job whose requests all meet an outage:
one request at a time probes, with exponential backoff, and the others wait until a probe succeeds
(the breaker pattern's half-open probe, M. Nygard, "Release It!", 2nd ed., ch. 5).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional

__all__ = ["Pacer", "OutageGate", "Gates", "DeadlineExceeded", "Stopped", "estimate_tokens"]

Clock = Callable[[], float]


class DeadlineExceeded(Exception):
    """The request's deadline passed while it waited (for pacing or for a target to come back)."""


class Stopped(Exception):
    """The job is stopping (interrupted); the request goes back to pending."""


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """A rough token count for tpm pacing: 4 bytes of JSON per token, plus the answer's cap."""
    cap = body.get("max_completion_tokens") or body.get("max_tokens") or 0
    return len(json.dumps(body, default=str)) // 4 + (cap if isinstance(cap, int) else 0)


def _limit(deployment: float, keys: list[float]) -> float:
    """One deployment's limit (0 = none): its own, or its keys' sum when every key has one, the
    smaller when both apply."""
    per_keys = sum(keys) if keys and all(k > 0 for k in keys) else 0.0
    both = [x for x in (deployment, per_keys) if x > 0]
    return min(both) if both else 0.0


def group_limits(snapshot: list[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """(rpm, tpm) per model group from ``client.router_snapshot()`` (one row per deployment x key):
    the sum over the group's deployments, 0 (unlimited) when one of them has no limit."""
    deps: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in snapshot:
        deps.setdefault((str(row.get("group")), str(row.get("deployment"))), []).append(row)
    limits: dict[str, tuple[float, float]] = {}
    for (group, _), rows in deps.items():
        rpm, tpm = (
            _limit(float(rows[0].get(axis) or 0), [float(r.get(f"key_{axis}") or 0) for r in rows])
            for axis in ("rpm", "tpm")
        )
        old = limits.get(group)
        if old is None:
            limits[group] = (rpm, tpm)
        else:  # a deployment without a limit makes the group unlimited on that axis
            limits[group] = (
                old[0] + rpm if old[0] > 0 and rpm > 0 else 0.0,
                old[1] + tpm if old[1] > 0 and tpm > 0 else 0.0,
            )
    return limits


class Pacer:
    """Spaces sends per group: the next send of a group may start 60/rpm s after the previous one,
    and 60*tokens/tpm s after it for tokens; ``workers`` processes sharing a job (Redis) each take
    1/workers of that. Thread-safe; the caller sleeps, not the pacer."""

    def __init__(self, limits: Mapping[str, tuple[float, float]], clock: Clock = time.monotonic) -> None:
        self._limits = dict(limits)
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.workers = 1  # set by the job from its store (live consumers of a Redis job)

    def delay(self, group: str, tokens: int) -> float:
        """Books a send now and returns how long to wait before it (0 when the group has no limits)."""
        rpm, tpm = self._limits.get(group, (0.0, 0.0))
        if rpm <= 0 and tpm <= 0:
            return 0.0
        spacing = max(60.0 / rpm if rpm > 0 else 0.0, 60.0 * tokens / tpm if tpm > 0 else 0.0) * max(self.workers, 1)
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(group, now))
            self._next[group] = start + spacing
        return start - now


class OutageGate:
    """Closed while targets answer. The first outage error opens it: from then on callers wait in
    ``enter``, except one probe at a time, every ``backoff`` (doubling up to ``cap``); a success
    closes it and wakes everyone. Thread-safe."""

    def __init__(self, base: float = 0.25, cap: float = 8.0, clock: Clock = time.monotonic) -> None:
        self._base, self._cap, self._clock = base, cap, clock
        self._cond = threading.Condition()
        self._down = False
        self._probing = False
        self._backoff = base
        self._next_probe = 0.0
        self._down_since = 0.0
        self._stopped = False
        self.outages = 0  # times the gate opened (for the progress bar and tests)

    @property
    def down(self) -> bool:
        return self._down

    def enter(self, deadline: Optional[float], patience: Optional[float] = None) -> bool:
        """Waits until the request may be sent; True when it goes as the probe (call ``success``
        or ``failure(probe=True)`` after it). Raises Stopped, or DeadlineExceeded at ``deadline``
        or at once when the gate has been open for ``patience`` s: with every target down that
        long, each queued request would only wait out its own deadline in turn (a job of N
        requests, C at a time, would take N/C deadlines to fail)."""
        with self._cond:
            while True:
                if self._stopped:
                    raise Stopped()
                now = self._clock()
                if not self._down:
                    return False
                if not self._probing and now >= self._next_probe:
                    self._probing = True
                    return True
                if deadline is not None and now >= deadline:
                    raise DeadlineExceeded("no target answered in time")
                if patience is not None and now - self._down_since >= patience:
                    raise DeadlineExceeded(f"every target has been down for {now - self._down_since:.0f} s")
                until = self._next_probe if not self._probing else now + self._cap
                if deadline is not None:
                    until = min(until, deadline)
                self._cond.wait(max(until - now, 0.001))

    def success(self) -> None:
        with self._cond:
            if self._down or self._probing:
                self._down = self._probing = False
                self._backoff = self._base
                self._cond.notify_all()

    def failure(self, probe: bool) -> None:
        with self._cond:
            now = self._clock()
            if not self._down:
                self._down = True
                self._down_since = now
                self.outages += 1
                self._backoff = self._base
                self._next_probe = now + self._backoff
            elif probe:
                self._backoff = min(self._backoff * 2, self._cap)
                self._next_probe = now + self._backoff
            if probe:
                self._probing = False
            self._cond.notify_all()

    def release_probe(self) -> None:
        """The probe ended without telling whether targets are back (e.g. a client error)."""
        with self._cond:
            self._probing = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Sleeps (for pacing) unless the job stops first."""
        with self._cond:
            end = self._clock() + seconds
            while not self._stopped:
                left = end - self._clock()
                if left <= 0:
                    return
                self._cond.wait(left)
            raise Stopped()


class Gates:
    """One ``OutageGate`` per model group: an outage of one group's targets pauses only its requests."""

    def __init__(self, **gate_options: Any) -> None:
        self._options = gate_options
        self._gates: dict[str, OutageGate] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def get(self, group: str) -> OutageGate:
        with self._lock:
            gate = self._gates.get(group)
            if gate is None:
                gate = self._gates[group] = OutageGate(**self._options)
                if self._stopped:
                    gate.stop()
            return gate

    @property
    def down(self) -> bool:
        with self._lock:
            return any(g.down for g in self._gates.values())

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for g in self._gates.values():
                g.stop()
