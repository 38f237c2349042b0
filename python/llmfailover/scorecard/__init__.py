"""The failover scorecard: issue 11's fault catalogue, run end to end against ``FakeProvider``.

    python -m llmfailover.scorecard                 # every fault, one line each (about 90 s)
    python -m llmfailover.scorecard --markdown      # the same as the README's table
    python -m llmfailover.scorecard 503-persistent-plain cut-mid-answer

Each scenario (``SCENARIOS``) runs on its own fake upstream and a client with the router's
default policy and one healthy fallback, at real timings; all run at once. A line says whether
the caller was rescued, got a clean error, or got something unsafe (a truncated success, a
hang), the time to answer, the attempts per target, and whether issue 11's target is met.
The pytest catalogue (``tests/catalogue``, ``bash scripts/catalogue.sh``) asserts the same list.
"""

from ._bench import BACKUP, PRIMARY, REPLY, Bench, Call
from ._runner import Checks, Result, Scenario, run_all, run_one
from ._scenarios import SCENARIOS, by_name

__all__ = [
    "SCENARIOS",
    "by_name",
    "Scenario",
    "Result",
    "Checks",
    "run_one",
    "run_all",
    "Bench",
    "Call",
    "REPLY",
    "PRIMARY",
    "BACKUP",
]
