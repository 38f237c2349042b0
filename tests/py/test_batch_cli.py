"""``python -m llmfailover batch`` in a child process: kill -9 and Ctrl-C in the middle of a job,
then the same command resumes it; exit codes; the ``python -m llmfailover`` dispatch.

The child is killed when the fake has seen part of the requests; the assertions bound what the
upstream saw twice (at most what was in flight) and check each custom_id is answered once.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import llmfailover
import pytest
from llmfailover.testing import FakeProvider, Fault
from test_batch import assert_exactly_once, make_config, read_output, request, write_input


def _cli(src: Path, cfg: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmfailover",
        "batch",
        str(src),
        "--config",
        str(cfg),
        "--output",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_kill_9_mid_job_then_the_same_command_resumes_every_custom_id_exactly_once(tmp_path: Path) -> None:
    n, concurrency = 2000, 16
    src = write_input(tmp_path / "in.jsonl", n)
    out, cfg = tmp_path / "out.jsonl", tmp_path / "router.json"
    with FakeProvider(threads=2) as fp:
        cfg.write_text(json.dumps(make_config(fp)))
        child = subprocess.Popen(_cli(src, cfg, out, "--concurrency", str(concurrency)), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 40
        while len(fp.attempts()) < n // 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
        child.stderr.close()  # type: ignore[union-attr]
        sent_before = len(fp.attempts())
        assert not out.exists()  # the output is written only at the end
        with closing(sqlite3.connect(out.with_name("out.jsonl.state.sqlite"))) as db:  # its lock died with it
            states = dict(db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert states.get("done", 0) > 0 and states.get("pending", 0) + states.get("in_flight", 0) > 0, states

        again = subprocess.run(_cli(src, cfg, out), capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        sent = len(fp.attempts())
    records = read_output(out)
    assert_exactly_once(records, n)
    assert all(r["response"]["status_code"] == 200 for r in records)
    # Resent at most what was in flight at the kill (the upstream may see those twice).
    assert n <= sent <= n + concurrency, (sent_before, sent)
    assert f"{n} succeeded, 0 failed" in again.stderr


# `python -m llmfailover` with Python's Ctrl-C handler installed whatever the child inherits: a
# job started in the background without job control (`cmd &` in a script, nohup) has SIGINT
# ignored, Python then keeps it ignored, and this test could never interrupt the child.
_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('llmfailover', run_name='__main__', alter_sys=True)"
)


def test_ctrl_c_keeps_the_answers_in_and_puts_the_rest_back_to_pending(tmp_path: Path) -> None:
    n = 400
    src = write_input(tmp_path / "in.jsonl", n)
    out, cfg = tmp_path / "out.jsonl", tmp_path / "router.json"
    with FakeProvider(threads=2) as fp:
        fp.set_default("*", Fault.slow_headers(0.02))
        cfg.write_text(json.dumps(make_config(fp)))
        argv = _cli(src, cfg, out, "--concurrency", "4")
        child = subprocess.Popen([argv[0], "-c", _WITH_CTRL_C, *argv[3:]], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 40
        while len(fp.attempts()) < 40 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
        assert child.returncode == 130 and "run the same command again to resume" in err, err
        with closing(sqlite3.connect(out.with_name("out.jsonl.state.sqlite"))) as db:
            states = dict(db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
        assert "in_flight" not in states and states["done"] > 0 and states["pending"] > 0, states
        assert main_in_process(_cli(src, cfg, out)) == 0
    assert_exactly_once(read_output(out), n)


def main_in_process(argv: list[str]) -> int:
    from llmfailover.__main__ import main

    return main(argv[3:])  # without "python -m llmfailover"


def test_the_command_line_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from llmfailover.__main__ import main

    src = write_input(tmp_path / "in.jsonl", 2, {2: json.dumps(request(0))})
    cfg = tmp_path / "router.json"
    with FakeProvider() as fp:
        cfg.write_text(json.dumps(make_config(fp)))
        assert main(_cli(src, cfg, tmp_path / "out.jsonl")[3:]) == 2
        assert "'req-0' appears twice (line 1 and line 2)" in capsys.readouterr().err
        fp.set_default("m-b", Fault.http_status(400))
        fp.set_default("m-a", Fault.http_status(400))
        assert main(_cli(write_input(tmp_path / "in2.jsonl", 2), cfg, tmp_path / "out2.jsonl")[3:]) == 1
        assert "0 succeeded, 2 failed (0 invalid lines)" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("groups: 3\n")
    assert main(_cli(tmp_path / "in2.jsonl", tmp_path / "bad.yaml", tmp_path / "out3.jsonl")[3:]) == 2
    assert f"error: config '{tmp_path / 'bad.yaml'}'" in capsys.readouterr().err
    assert main(["nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'nope'" in err and "batch" in err and "scorecard" in err


def test_llmfailover_batch_is_callable_and_the_cli_dispatches_to_the_scorecard(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import llmfailover.batch as module
    from llmfailover.__main__ import main

    assert llmfailover.batch is module and callable(module) and module.BatchResult
    assert main(["scorecard", "--list"]) == 0
    assert "429" in capsys.readouterr().out
