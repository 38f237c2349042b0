"""The failover story in the terminal: two fake providers, one group, an outage, a rescued stream.

Two local FakeProviders (llmfailover.testing) play two LLM providers serving the group "smart":
"primary" (priority 0) and "backup" (priority 1). A steady trickle of requests (a third of them
streamed) goes through the drop-in ``llmfailover.OpenAI`` while the demo

1. lets the primary serve normally,
2. cuts one of its streams after three chunks: the stream is finished by the backup, and the
   caller sees one whole answer (``stream_recovery: continue``, set in this config because the
   router's default today is ``error``, which raises ``StreamInterrupted`` instead),
3. takes the primary down (every request answered 503): requests fail over, its breaker opens,
   traffic flows to the backup without touching the primary,
4. brings it back: a half-open trial, the breaker closes, the ramp returns its share.

Every request must be answered; the exit status is 1 if one was not. The view is live on a
terminal (rich if installed, else ANSI), one plain line per request otherwise (CI logs).

    bash scripts/demo.sh                                   # set-up, then this file (~20 s)
    .venv/bin/python examples/demo.py --requests 24 --pace 0.05 --plain
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from typing import Any, Optional

from llmfailover import OpenAI, route_info  # the only change from `from openai import OpenAI`
from llmfailover.testing import FakeProvider, Fault

MODEL = "gpt-4o-mini"
REPLY = "Failover keeps every request answered while the primary provider is down."
MESSAGES = [{"role": "user", "content": "Are you there?"}]
TARGETS = ("primary", "backup")


def config(primary: FakeProvider, backup: FakeProvider, hold: float) -> dict[str, Any]:
    """One group, two providers in priority tiers. The breaker opens after 3 failures (default 5)
    and waits ``hold`` seconds (default 5 s, doubling), the ramp holds each step as long (default
    30 s): quicker than the defaults so the whole story fits in seconds."""
    policy = {
        "breaker": {
            "consecutive_failures": 3,
            "open_base": f"{hold:g}s",
            "open_cap": f"{hold:g}s",
            "half_open_permits": 1,
        },
        "ramp": {"steps": [0.5, 1], "step_hold": f"{hold:g}s", "step_min_requests": 2},
        "retry": {"backoff_base": "20ms", "backoff_cap": "100ms"},
    }
    deps = [
        {"id": "primary", "model": MODEL, "base_url": primary.base_url, "api_key": "sk-primary", "priority": 0},
        {"id": "backup", "model": MODEL, "base_url": backup.base_url, "api_key": "sk-backup", "priority": 1},
    ]
    return {"groups": {"smart": {"deployments": deps, "policy": policy}}, "stream_recovery": "continue"}


class Story:
    """The phases over requests 0..n-1, and the faults injected as each begins: a cut stream at
    n/6, the primary down from n/3 to n/2, then back. ``hold`` (the breaker's open wait) is an
    eighth of the run, so the breaker opens, tries once during the outage, and closes after it."""

    def __init__(self, n: int, pace: float, primary: FakeProvider) -> None:
        self.cut_at, self.down_at, self.up_at = n // 6, n // 3, n // 2
        self.hold = max(0.1, (n // 8) * pace)
        self.primary = primary
        self.phase = "healthy"

    def before(self, i: int) -> Optional[str]:
        """Injects the fault due before request ``i``; returns a line for the log, or None."""
        if i == self.cut_at:
            self.primary.script(MODEL, [Fault.cut(3)])  # a script counts from the next attempt
            self.phase = "cut stream"
            return "the primary will cut the next stream after 3 chunks"
        if i == self.cut_at + 1:
            self.phase = "healthy"
        if i == self.down_at:
            self.primary.outage(MODEL, 3600)
            self.phase = "OUTAGE"
            return "the primary goes down: every request to it gets 503"
        if i == self.up_at:
            self.primary.outage(MODEL, 0)  # ends it
            self.phase = "recovered"
            return f"the primary is back up; its breaker tries it within {self.hold:g} s"
        return None

    def streams(self, i: int) -> bool:
        return i == self.cut_at or i % 3 == 2


def ask(client: OpenAI, stream: bool) -> dict[str, Any]:
    """One request; what came back, as the views show it."""
    started = time.monotonic()
    out: dict[str, Any] = {"stream": stream, "error": None}
    try:
        if stream:
            s = client.chat.completions.create(model="smart", messages=MESSAGES, stream=True)
            out["text"] = "".join(c.choices[0].delta.content or "" for c in s if c.choices)
            info = route_info(s)
        else:
            r = client.chat.completions.create(model="smart", messages=MESSAGES)
            out["text"] = r.choices[0].message.content
            info = route_info(r)
    except Exception as e:  # shown, counted, and the exit status says so
        out["error"] = f"{type(e).__name__}: {e}"
        info = route_info(e)
    out["seconds"] = time.monotonic() - started
    attempts = info.attempts if info else []
    out["served"] = info.served.deployment if info and info.served else None
    out["rescued"] = any(a.decision == "served_recovered" for a in attempts)
    out["route"] = " -> ".join(
        f"{a.deployment} {a.status or a.error or ''}".strip() + f" ({a.decision})" for a in attempts
    )
    out["whole"] = out["error"] is None and out.get("text") == REPLY
    if out["error"]:
        out["route"] += f"  !! {out['error'][:200]}"
    return out


def breakers(client: OpenAI) -> dict[str, dict[str, Any]]:
    return {s["deployment"]: s for s in client.router_snapshot()}


def describe(snap: dict[str, Any]) -> str:
    state = snap["state"]
    share = f" share {snap['share']:.0%}" if state == "closed" and snap["share"] < 1 else ""
    return f"{state}{share}"


class LineView:
    """No terminal (CI logs, pipes): one plain line per request and per event."""

    def event(self, text: str) -> None:
        print(f"---- {text}", flush=True)

    def request(self, i: int, n: int, r: dict[str, Any], snaps: dict[str, dict[str, Any]], phase: str) -> None:
        kind = "stream" if r["stream"] else "plain "
        what = "RESCUED stream" if r["rescued"] else (f"served by {r['served']}" if r["whole"] else "NOT ANSWERED")
        states = " ".join(f"{t}={describe(snaps[t])}" for t in TARGETS if t in snaps)
        print(
            f"[{i + 1:3}/{n}] {kind} {what:<20} {r['seconds'] * 1000:6.0f} ms  breakers: {states:<36}"
            f" route: {r['route']}",
            flush=True,
        )

    def close(self) -> None:
        pass


class AnsiView(LineView):
    """A terminal: a block redrawn in place (ANSI cursor moves), events scrolling above it."""

    MARK = {"primary": "\x1b[32m●\x1b[0m", "backup": "\x1b[33m●\x1b[0m", None: "\x1b[31m✗\x1b[0m"}
    STATE = {"closed": "\x1b[32m", "open": "\x1b[31m", "half_open": "\x1b[33m"}

    def __init__(self) -> None:
        self.marks: list[str] = []
        self.served = {t: 0 for t in TARGETS}
        self.lines = 0
        self.log: list[str] = []
        self.width = shutil.get_terminal_size().columns  # rows must not wrap: the redraw counts them

    def event(self, text: str) -> None:
        self.log = (self.log + [f"\x1b[1m{text[: self.width - 4]}\x1b[0m"])[-4:]

    def request(self, i: int, n: int, r: dict[str, Any], snaps: dict[str, dict[str, Any]], phase: str) -> None:
        mark = "\x1b[36m◆\x1b[0m" if r["rescued"] else self.MARK.get(r["served"] if r["whole"] else None, "?")
        self.marks.append(mark)
        if r["served"] in self.served and r["whole"]:
            self.served[r["served"]] += 1
        if r["rescued"] or r["route"].count("->"):
            line = f"#{i + 1} {'stream' if r['stream'] else 'plain'}: {r['route']}"
            self.log = (self.log + [line[: self.width - 4]])[-4:]
        rows = [
            f"\x1b[1mllmfailover demo\x1b[0m  group smart: primary (priority 0) -> backup (priority 1)"
            f"   phase: \x1b[1m{phase}\x1b[0m",
            f"requests {i + 1:3}/{n}  " + "".join(self.marks[-max(10, self.width - 20) :]),
            "          \x1b[32m●\x1b[0m primary  \x1b[33m●\x1b[0m backup  \x1b[36m◆\x1b[0m rescued stream"
            "  \x1b[31m✗\x1b[0m not answered",
        ]
        for t in TARGETS:
            s = snaps.get(t, {"state": "?", "share": 1})
            colour = self.STATE.get(s["state"], "")
            rows.append(f"  {t:<8} breaker {colour}{describe(s):<16}\x1b[0m served {self.served[t]}")
        rows += [f"  {line}" for line in self.log]
        self.draw(rows)

    def draw(self, rows: list[str]) -> None:
        out = (f"\x1b[{self.lines}F" if self.lines else "") + "".join(f"\x1b[2K{row}\n" for row in rows)
        sys.stdout.write(out)
        sys.stdout.flush()
        self.lines = len(rows)


class RichView(AnsiView):
    """The same block through rich's Live display (when rich is installed): resizing and long
    lines are rich's problem then, not a count of rows."""

    def __init__(self) -> None:
        super().__init__()
        from rich.live import Live
        from rich.text import Text

        self.text = Text
        self.live = Live(Text(""), auto_refresh=False)
        self.live.start()

    def draw(self, rows: list[str]) -> None:
        self.live.update(self.text.from_ansi("\n".join(rows)), refresh=True)

    def close(self) -> None:
        self.live.stop()


def make_view(plain: bool) -> LineView:
    if plain or not sys.stdout.isatty():
        return LineView()
    try:
        return RichView()
    except ImportError:
        return AnsiView()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="how many requests (default 60)")
    parser.add_argument("--pace", type=float, default=0.25, help="seconds between requests (default 0.25)")
    parser.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    args = parser.parse_args(argv)
    if args.requests < 12 or args.pace < 0:
        parser.error("--requests must be at least 12 and --pace at least 0")
    view = make_view(args.plain)
    try:
        return run(args.requests, args.pace, view)
    finally:
        view.close()  # rich's Live gives the terminal its cursor back


def run(n: int, pace: float, view: LineView) -> int:
    answered = 0
    with FakeProvider() as primary, FakeProvider() as backup:
        for fp in (primary, backup):
            fp.set_reply(MODEL, REPLY)  # the same answer from both, as a deterministic model gives
        story = Story(n, pace, primary)
        view.event(f"two fake providers: primary {primary.base_url}, backup {backup.base_url}")
        with OpenAI(config=config(primary, backup, story.hold)) as client:
            for i in range(n):
                started = time.monotonic()
                note = story.before(i)
                if note:
                    view.event(note)
                r = ask(client, story.streams(i))
                answered += r["whole"]
                if story.phase == "recovered" and r["served"] == "primary":
                    story.phase = "back"
                    view.event("the primary serves again: one half-open trial passed, its breaker closed")
                view.request(i, n, r, breakers(client), story.phase)
                time.sleep(max(0.0, pace - (time.monotonic() - started)))
            snaps = breakers(client)
    served = {t: sum(a.outcome == "ok" for a in fp.attempts()) for t, fp in zip(TARGETS, (primary, backup))}
    print(
        f"\n{answered}/{n} requests answered in full; upstream answers: "
        f"primary {served['primary']}, backup {served['backup']}; breakers at the end: "
        + ", ".join(f"{t} {describe(snaps[t])}" for t in TARGETS)
    )
    return 0 if answered == n else 1


if __name__ == "__main__":
    sys.exit(main())
