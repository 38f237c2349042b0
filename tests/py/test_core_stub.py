"""The native module's typed boundary: value types behave as their generated stub
(python/llmfailover/_core.pyi, scripts/stubgen.sh) says, and the stub describes the module."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

_core = pytest.importorskip("llmfailover._core")

STUB = Path(__file__).resolve().parents[2] / "python" / "llmfailover" / "_core.pyi"
CONFIG = json.dumps({"groups": {"g": {"deployments": [{"model": "m", "base_url": "http://127.0.0.1:9/v1"}]}}})


@pytest.mark.parametrize(
    "make, other",
    [
        (lambda: _core.Timeouts(connect=2.0, first_byte=3.0), _core.Timeouts(connect=2.0)),
        (lambda: _core.Fault(status=503, headers=[("retry-after", "1")]), _core.Fault(status=503)),
        (lambda: _core.parse_config(CONFIG), _core.parse_config(CONFIG.replace('"m"', '"n"'))),
    ],
    ids=["Timeouts", "Fault", "Config"],
)
def test_values_compare_and_hash_alike(make, other):
    # The stub declares __eq__(other: Any) -> bool and __hash__ -> int (a value type, not the
    # `__hash__ = None` pybind11 gives a class with __eq__ only): equal values hash alike.
    a, b = make(), make()
    assert a == b and hash(a) == hash(b)
    assert len({a, b, other}) == 2
    assert a != other
    assert (a == "not a value") is False and a != 5


def test_stub_names_every_public_member_of_the_module():
    tree = ast.parse(STUB.read_text())
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    constants = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    for name in dir(_core):
        if name.startswith("_"):
            continue
        assert name in classes or name in functions or name in constants, (
            f"_core.{name} is missing from _core.pyi (run scripts/stubgen.sh)"
        )
    for name, node in classes.items():
        members = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
        # class attributes: enum members (`failover = "failover"`) and constants (`FIELDS: ...`)
        members |= {t.id for m in node.body if isinstance(m, ast.Assign) for t in m.targets if isinstance(t, ast.Name)}
        members |= {m.target.id for m in node.body if isinstance(m, ast.AnnAssign) and isinstance(m.target, ast.Name)}
        public = {m for m in vars(getattr(_core, name)) if not m.startswith("_")}
        assert public <= members, f"{name}: {sorted(public - members)} missing from _core.pyi"
