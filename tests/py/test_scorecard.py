"""The scorecard's machinery (llmfailover.scorecard), fast: its command prints one line per fault,
and its verdicts tell a truncated success and a hang from a rescue. The catalogue itself, at real
timings, is tests/catalogue (bash scripts/catalogue.sh), not part of this timed run."""

from __future__ import annotations

import time

import pytest
from llmfailover.scorecard import PRIMARY, REPLY, Bench, Call, Checks, Scenario, by_name, run_one
from llmfailover.scorecard.__main__ import main
from llmfailover.testing import Fault


def test_command_prints_one_line_per_fault_and_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown", "500-once", "context-length-exceeded"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "| fault | outcome | target | time | attempts | note |"
    assert lines[2].startswith("| 500 once | rescued | met | ") and "| primary 2 |" in lines[2]
    assert lines[3].startswith("| context length exceeded | clean error | met | ")
    assert "1 rescued, 1 clean errors, 0 unsafe; target met 2/2" in out
    assert "machine: " in out and "vCPUs" in out


def test_unknown_scenario_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-fault"])
    assert exit_.value.code == 2 and "unknown scenario(s): no-such-fault" in capsys.readouterr().err


def test_a_truncated_success_is_unsafe() -> None:
    def truncated(b: Bench, ck: Checks) -> Call:
        b.fp.script(PRIMARY, [Fault.ok(content=REPLY[:20])])
        return b.ask(stream=True)

    r = run_one(Scenario("t", "truncated", truncated))
    assert (r.verdict, r.met) == ("unsafe", False)
    assert "truncated or garbled success" in r.note


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_hung_call_is_judged_unsafe_and_ended_by_closing_the_bench(use_async: bool) -> None:
    def silent(b: Bench, ck: Checks) -> Call:
        b.fp.set_default("*", Fault.no_response())  # primary and backup: nothing ever answers
        return b.ask(stream=True)

    started = time.monotonic()
    r = run_one(Scenario("h", "hung", silent, limit=1.0, bench={"use_async": use_async}))
    assert r.verdict == "unsafe" and "hung" in r.note
    assert time.monotonic() - started < 8  # the closed bench ended the waiting call


def test_a_broken_scenario_is_a_harness_error_not_a_verdict() -> None:
    def broken(b: Bench, ck: Checks) -> Call:
        raise ValueError("boom")

    r = run_one(Scenario("b", "broken", broken))
    assert r.verdict == "harness error" and "ValueError: boom" in r.note and not r.met


def test_scenario_names_are_unique_and_every_gap_names_an_issue_11_rule() -> None:
    names = [s.name for s in by_name([])]
    assert len(names) == len(set(names))
    assert all(s.gap.startswith("issue 11: ") for s in by_name([]) if s.gap)
