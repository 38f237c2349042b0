"""Issue 11's fault catalogue, end to end from Python against FakeProvider at real timings.

One test per scenario of ``llmfailover.scorecard.SCENARIOS`` (the scorecard prints the same
list): the target holds (rescued, or a clean error for the 400s; never a truncated success;
attempts, spacing and time to answer as the scenario states). A scenario whose rule the router
lacks today is ``xfail(strict=True)`` with that rule as the reason, so it flips to a failure
("XPASS(strict)") the day the rule lands and the mark must go.
"""

from __future__ import annotations

from typing import Any

import pytest
from llmfailover.scorecard import SCENARIOS, Scenario


def _param(s: Scenario) -> Any:
    # raises=AssertionError: a broken harness is a failure, never an expected one
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=s.gap)] if s.gap else []
    return pytest.param(s.name, id=s.name, marks=marks)


@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", [_param(s) for s in SCENARIOS])
def test_fault_is_handled(catalogue: Any, name: str) -> None:
    r = catalogue.results[name]
    if r.verdict == "harness error":
        raise RuntimeError(r.explain())
    assert r.verdict != "unsafe", r.explain()
    assert r.met, r.explain()


@pytest.mark.timeout(400)
def test_whole_catalogue_takes_under_two_minutes(catalogue: Any) -> None:
    if not catalogue.complete:
        pytest.skip("only part of the catalogue was selected")
    assert catalogue.seconds < 120, f"the catalogue took {catalogue.seconds:.0f} s"
