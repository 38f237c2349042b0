"""The fault catalogue's runner: every selected scenario runs at once, on first use, in one
session fixture (they mostly wait on sockets and timers, so the whole catalogue takes about as
long as its longest scenario); each test then judges its own scenario's result.

Not collected by the timed CI run (pyproject's ``testpaths`` is tests/py); run it with
``bash scripts/catalogue.sh`` (or ``.venv/bin/python -m pytest tests/catalogue``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from llmfailover.scorecard import Result, by_name, run_all


@dataclass
class Catalogue:
    results: dict[str, Result]
    seconds: float
    complete: bool  # every scenario of the catalogue was selected


def _selected(session: pytest.Session) -> list[str]:
    names = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.append(callspec.params["name"])
    return names


@pytest.fixture(scope="session")
def catalogue(request: pytest.FixtureRequest) -> Catalogue:
    names = _selected(request.session)
    reporter: Any = request.config.pluginmanager.get_plugin("terminalreporter")
    started = time.monotonic()

    def progress(r: Result) -> None:
        if reporter is not None:
            reporter.write_line(
                f"  [{time.monotonic() - started:5.1f} s] {r.scenario.name}: {r.verdict}, "
                f"target {'met' if r.met else 'missed'}"
            )

    if reporter is not None:
        reporter.write_line(f"\nrunning {len(names)} fault scenarios at once ...")
    results = run_all(by_name(names), on_result=progress)
    return Catalogue(results, time.monotonic() - started, complete=len(by_name([])) == len(set(names)))
