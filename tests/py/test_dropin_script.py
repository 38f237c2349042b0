"""An openai-python script gives the same output with only its imports swapped to llmfailover."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import HIDE_OPENAI
from llmfailover.testing import Fault

SCRIPT = Path(__file__).parent / "scripts" / "openai_demo.py"
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"
HIDE = (
    "import importlib.abc, sys\n"
    "class H(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'openai' or name.startswith('openai.'): raise ModuleNotFoundError(name)\n"
    "sys.meta_path.insert(0, H())\n"
)


def _swap_imports(text: str) -> str:
    out = text.replace("\nimport openai\n", "\nimport llmfailover as openai\n")
    out = out.replace("\nfrom openai import OpenAI\n", "\nfrom llmfailover import OpenAI\n")
    assert out.count("llmfailover") == text.count("llmfailover") + 2, "the import lines changed"
    return out


def _run(script: Path, fp: Any, *, hide_openai: bool = False) -> str:
    fp.reset()
    fp.script("rate-limited", [Fault.rate_limited(retry_after=0.01)])
    fp.script("broken", [Fault.server_error(502)])
    env = dict(
        os.environ,
        OPENAI_API_KEY="sk-demo-key",
        OPENAI_BASE_URL=fp.base_url,
        PYTHONPATH=os.pathsep.join([str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")]),
    )
    code = (HIDE if hide_openai else "") + f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_demo_script_output_is_the_same(fp: Any, tmp_path: Path) -> None:
    swapped = tmp_path / "llmfailover_demo.py"
    swapped.write_text(_swap_imports(SCRIPT.read_text()))
    ours = _run(swapped, fp, hide_openai=HIDE_OPENAI)
    assert "----- errors -----\nRateLimitError 429\nInternalServerError 502 True\n" in ours
    try:
        import openai  # noqa: F401
    except ImportError:
        if HIDE_OPENAI:  # compare with the real SDK in a child process that can import it
            probe = subprocess.run([sys.executable, "-c", "import openai"], capture_output=True)
            if probe.returncode != 0:
                pytest.skip("openai is not installed")
        else:
            pytest.skip("openai is not installed")
    theirs = _run(SCRIPT, fp)
    assert ours == theirs
