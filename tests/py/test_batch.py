"""Durable batch jobs (``llmfailover.batch``, ``python -m llmfailover batch``) against FakeProvider.

Config: group "g" = deployments "a" (m-a) and "b" (m-b); short timeouts, backoff and breaker
waits, so an outage of both is seen and left within a fraction of a second. The kill -9 test runs
Helpers (``make_config``, ``write_input``, ``read_output``, ...) are imported by
test_batch_cli.py (kill -9 and Ctrl-C of the command line, exit codes) and test_batch_redis.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import llmfailover
import pytest
from llmfailover.batch import BatchInputError, BatchStateError
from llmfailover.batch._records import write_jsonl
from llmfailover.testing import FakeProvider, Fault

SECRET = "sk-batch-secret-0123456789"
POLICY = {
    "timeouts": {"first_token": "500ms", "idle": "500ms", "deadline": "2s"},
    "retry": {"backoff_base": "5ms", "backoff_cap": "20ms"},
    "breaker": {"consecutive_failures": 2, "open_base": "100ms", "open_cap": "200ms"},
}


def make_config(fp: FakeProvider, models: tuple[str, ...] = ("m-a", "m-b"), **dep: Any) -> dict[str, Any]:
    deployments = [{"id": m, "model": m, "base_url": fp.base_url, "api_key": f"{SECRET}-{m}", **dep} for m in models]
    return {"groups": {"g": {"deployments": deployments, "policy": POLICY}}}


def request(i: int, url: str = "/v1/chat/completions") -> dict[str, Any]:
    body: dict[str, Any] = {"model": "g", "messages": [{"role": "user", "content": f"question {i}"}]}
    if url == "/v1/embeddings":
        body = {"model": "g", "input": f"text {i}"}
    return {"custom_id": f"req-{i}", "method": "POST", "url": url, "body": body}


def write_input(path: Path, n: int, extra_lines: Optional[dict[int, str]] = None) -> Path:
    """``n`` chat requests req-0 .. req-(n-1); ``extra_lines`` puts raw text at those 1-based lines."""
    lines = [json.dumps(request(i)) for i in range(n)]
    for line, text in sorted((extra_lines or {}).items()):
        lines.insert(line - 1, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_exactly_once(records: list[dict[str, Any]], n: int) -> None:
    counts = Counter(r["custom_id"] for r in records)
    assert sorted(counts) == sorted(f"req-{i}" for i in range(n))
    assert max(counts.values()) == 1, [c for c, k in counts.items() if k > 1][:5]


def run(items: Any, fp: FakeProvider, tmp_path: Path, **kw: Any) -> llmfailover.batch.BatchResult:
    kw.setdefault("config", make_config(fp))
    kw.setdefault("output", tmp_path / "out.jsonl")
    kw.setdefault("progress", False)
    return llmfailover.batch(items, **kw)


# --- inputs and outputs ---------------------------------------------------------------------------


def test_jsonl_job_writes_openai_batch_records_in_input_order(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        src = tmp_path / "in.jsonl"
        src.write_text(
            "".join(
                json.dumps(request(i, u)) + "\n"
                for i, u in enumerate(["/v1/chat/completions"] * 5 + ["/v1/embeddings"])
            )
        )
        result = run(src, fp, tmp_path)
    records = read_output(tmp_path / "out.jsonl")
    assert [r["custom_id"] for r in records] == [f"req-{i}" for i in range(6)]
    assert result.records == records and (result.succeeded, result.failed) == (6, 0)
    first = records[0]
    assert set(first) == {"id", "custom_id", "response", "error"} and first["error"] is None
    assert first["response"]["status_code"] == 200 and first["response"]["request_id"]
    assert first["response"]["body"]["object"] == "chat.completion"
    assert records[5]["response"]["body"]["data"][0]["embedding"]
    assert result.texts()[0].startswith("Hello from m-")
    assert SECRET not in (tmp_path / "out.jsonl").read_text()
    assert SECRET.encode() not in (tmp_path / "out.jsonl.state.sqlite").read_bytes()
    assert result.state == tmp_path / "out.jsonl.state.sqlite"
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_a_list_of_bodies_and_strings_run_in_order(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        fp.set_reply("*", "same")
        result = run(
            ["one", {"messages": [{"role": "user", "content": "two"}]}, {"input": "three"}],
            fp,
            tmp_path,
            model="g",
            output=None,
            state=False,
        )
        sent = [a.json() for a in fp.attempts()]
    assert [r["custom_id"] for r in result.records] == ["request-0", "request-1", "request-2"]
    assert result.texts()[:2] == ["same", "same"] and result.bodies()[2]["object"] == "list"
    assert sorted(str(s.get("messages", s.get("input"))) for s in sent)[-1] == "three"
    assert result.state is None and result.output is None


def test_a_pandas_series_uses_its_index_as_custom_id(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    with FakeProvider() as fp:
        result = run(pd.Series(["a", "b"], index=["x", "y"]), fp, tmp_path, model="g", output=None, state=False)
    assert [r["custom_id"] for r in result.records] == ["x", "y"] and result.succeeded == 2


def test_malformed_lines_are_reported_with_their_line_number_and_the_rest_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {
        3: "{not json",
        5: "[1, 2]",
        7: json.dumps({"method": "POST", "body": {}}),
        9: json.dumps({**request(99), "url": "/v1/files"}),
    }
    src = write_input(tmp_path / "in.jsonl", 6, bad)
    with FakeProvider() as fp:
        result = run(src, fp, tmp_path)
        assert len(fp.attempts()) == 6
    assert [p.split(":")[0] for p in result.invalid_lines] == ["line 3", "line 5", "line 7"]
    assert "not valid JSON" in result.invalid_lines[0] and "custom_id" in result.invalid_lines[2]
    records = read_output(tmp_path / "out.jsonl")
    assert len(records) == 10 and result.succeeded == 6
    assert [r["error"]["line"] for r in records if r["custom_id"] is None] == [3, 5, 7]
    logged = [r.getMessage() for r in caplog.records if r.name == "llmfailover.batch"]
    assert logged[0].startswith("batch input line 3: not valid JSON") and len(logged) == 4
    files = [r for r in records if r["custom_id"] == "req-99"][0]
    assert files["error"]["code"] == "invalid_request" and "/v1/files" in files["error"]["message"]


def test_a_byte_order_mark_crlf_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + b"\r\n\r\n".join(json.dumps(request(i)).encode() for i in range(3)) + b"\r\n")
    with FakeProvider() as fp:
        result = run(src, fp, tmp_path, state=False)
    assert result.succeeded == 3 and result.invalid_lines == []


def test_a_duplicate_custom_id_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", 5, {6: json.dumps(request(1))})
    with FakeProvider() as fp:
        with pytest.raises(BatchInputError, match=r"'req-1' appears twice \(line 2 and line 6\)"):
            run(src, fp, tmp_path)
        assert fp.attempts() == []
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.jsonl.state.sqlite").exists()


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"concurrency": 0}, "concurrency must be"),
        ({"request_deadline": -1}, "request_deadline must be"),
        ({"config": None}, "exactly one of config= .* or client="),
        ({"redis": "redis://127.0.0.1:1", "state": "x.sqlite"}, "state= .* and redis= .* are exclusive"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path: Path, kw: dict[str, Any], match: str) -> None:
    with FakeProvider() as fp, pytest.raises(BatchInputError, match=match):
        run([request(0)], fp, tmp_path, **kw)


def test_client_errors_fail_only_their_request_with_the_upstream_error(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        fp.set_default("m-x", Fault.http_status(400, error_message="bad prompt"))
        started = time.monotonic()
        result = run([request(i) for i in range(3)], fp, tmp_path, config=make_config(fp, ("m-x",)))
        assert time.monotonic() - started < 5  # not buffered as an outage
    assert result.failed == 3
    r = result.records[0]
    assert r["response"]["status_code"] == 400 and r["response"]["body"]["error"]["message"] == "bad prompt"


def test_output_is_replaced_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")

    def crashing() -> Any:
        yield {"a": 1}
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        write_jsonl(out, crashing())
    assert out.read_text() == "old\n" and os.listdir(tmp_path) == ["out.jsonl"]  # no temp file left


def test_body_fields_the_client_does_not_know_are_sent_as_they_are(tmp_path: Path) -> None:
    body = {"model": "g", "messages": [{"role": "user", "content": "x"}], "a_future_field": {"k": 1}, "seed": 7}
    with FakeProvider() as fp:
        result = run([{"custom_id": "c", "url": "/v1/chat/completions", "body": body}], fp, tmp_path, state=False)
        sent = fp.attempts()[0].json()
    assert result.succeeded == 1 and sent["a_future_field"] == {"k": 1} and sent["seed"] == 7


def test_sends_are_paced_by_the_groups_rpm(tmp_path: Path) -> None:
    with FakeProvider() as fp:  # two deployments of 600 rpm: 20 requests/s for the group
        started = time.monotonic()
        result = run([request(i) for i in range(21)], fp, tmp_path, config=make_config(fp, rpm=600), state=False)
        elapsed = time.monotonic() - started
        times = sorted(a.time for a in fp.attempts())
    assert result.succeeded == 21
    assert elapsed >= 0.95 and times[-1] - times[0] >= 0.9, (elapsed, times[-1] - times[0])


def test_pacer_spaces_sends_by_rpm_and_tpm_with_an_injected_clock() -> None:
    from llmfailover.batch._pacing import Pacer, group_limits

    now = [100.0]
    limits = group_limits(
        [
            {"group": "g", "deployment": "a", "rpm": 60, "tpm": 0},
            {"group": "g", "deployment": "a", "rpm": 60, "tpm": 0},  # a second key of the same deployment
            {"group": "g", "deployment": "b", "rpm": 0, "key_rpm": 30},  # two keys of 30 rpm each
            {"group": "g", "deployment": "b", "rpm": 0, "key_rpm": 30},
            {"group": "t", "deployment": "c", "rpm": 0, "tpm": 6000},
            {"group": "u", "deployment": "d", "rpm": 10, "tpm": 0},
            {"group": "u", "deployment": "e", "rpm": 0, "tpm": 0},
            {"group": "v", "deployment": "f", "rpm": 100, "key_rpm": 20},  # capped by its one key
        ]
    )
    assert limits == {"g": (120.0, 0.0), "t": (0.0, 6000.0), "u": (0.0, 0.0), "v": (20.0, 0.0)}
    pacer = Pacer(limits, clock=lambda: now[0])
    assert [pacer.delay("g", 10) for _ in range(3)] == [0.0, 0.5, 1.0]
    assert [pacer.delay("t", 50) for _ in range(3)] == [0.0, 0.5, 1.0]  # 50 tokens at 100 tokens/s
    assert pacer.delay("u", 10) == pacer.delay("u", 10) == 0.0
    now[0] += 10
    assert pacer.delay("g", 10) == 0.0  # idle time is not saved up into a burst
    pacer.workers = 2  # two processes share the job: each takes half the rate
    assert [pacer.delay("g", 10) for _ in range(3)] == [0.5, 1.5, 2.5]


def test_the_progress_bar_shows_rate_failovers_and_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeProvider() as fp:
        fp.set_default("m-a", Fault.server_error(500))
        config = make_config(fp)
        config["groups"]["g"]["deployments"][0]["weight"] = 1e6  # a first, then the failover to b
        result = run([request(i) for i in range(5)], fp, tmp_path, config=config, progress=True, state=False)
    err = capsys.readouterr().err
    assert result.succeeded == 5
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "5/5" in last and "req/s" in last and "failed=0" in last, last
    failovers = int(last.split("failovers=")[1].split(",")[0])
    assert failovers >= 1 and "tokens=" in last, last


def test_a_plain_openai_client_works_too_and_its_outages_are_waited_out(tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    with FakeProvider() as fp:
        fp.script("m-p", [Fault.status(503), Fault.status(503), Fault.ok()])  # 503 is an outage: waited out
        fp.set_default("m-q", Fault.status(404))  # a client error: that request fails
        client = openai.OpenAI(base_url=fp.base_url, api_key=SECRET, max_retries=0)
        items = [
            {"custom_id": m, "url": "/v1/chat/completions", "body": {"model": m, "messages": []}}
            for m in ("m-p", "m-q")
        ]
        result = llmfailover.batch(items, client=client, state=False, progress=False)
        client.close()
    assert [r["response"]["status_code"] for r in result.records] == [200, 404]


def test_cost_comes_from_the_route_info_when_the_router_prices_answers(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from llmfailover import RouteInfo
    from llmfailover.batch._progress import Progress
    from llmfailover.batch._runner import _cost
    from llmfailover.batch._store import Totals

    def routed(cost: Any) -> Any:
        info = RouteInfo(served=None)
        info.cost = cost  # type: ignore[attr-defined]
        return SimpleNamespace(_llmfailover=info)

    assert _cost(routed(SimpleNamespace(usd=0.002, waste_usd=0.0005))) == pytest.approx(0.0025)
    assert _cost(routed(SimpleNamespace(usd=None, waste_usd=0.0))) is None  # unknown price: tokens shown
    assert _cost(routed(0.01)) == 0.01 and _cost(SimpleNamespace()) is None
    totals = Totals()
    totals.add(True, 1, 10, 0.0025)
    totals.add(True, 0, 10, None)
    bar = Progress(2, Totals(), enabled=True)
    bar.update(totals, paused=True)
    bar.close()
    assert "cost=$0.0025" in capsys.readouterr().err


# --- state file -----------------------------------------------------------------------------------


def test_a_corrupt_state_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    state = tmp_path / "job.sqlite"
    state.write_bytes(b"this is not a database" * 100)
    with FakeProvider() as fp:
        with pytest.raises(BatchStateError, match=rf"state file '{state}' is not a usable SQLite database"):
            run([request(0)], fp, tmp_path, state=state)
        assert fp.attempts() == []


def test_a_locked_state_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    state = tmp_path / "job.sqlite"
    holder = sqlite3.connect(state)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with FakeProvider() as fp:
            started = time.monotonic()
            with pytest.raises(BatchStateError, match=rf"state file '{state}' is locked by another process"):
                run([request(0)], fp, tmp_path, state=state)
            assert time.monotonic() - started < 10
    finally:
        holder.close()


def test_a_state_file_of_another_input_is_refused(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        run([request(0)], fp, tmp_path)
        with pytest.raises(BatchStateError, match="belongs to a different input"):
            run([request(1)], fp, tmp_path)


def test_a_finished_job_run_again_sends_nothing(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        first = run([request(i) for i in range(5)], fp, tmp_path)
        again = run([request(i) for i in range(5)], fp, tmp_path)
        assert len(fp.attempts()) == 5
    assert again.records == first.records


# --- outages --------------------------------------------------------------------------------------


def test_an_outage_of_every_target_mid_job_pauses_and_the_job_finishes_after_recovery(tmp_path: Path) -> None:
    n, outage = 300, 1.5
    with FakeProvider() as fp:
        result: dict[str, Any] = {}
        job = threading.Thread(
            target=lambda: result.update(r=run([request(i) for i in range(n)], fp, tmp_path, concurrency=4))
        )
        job.start()
        deadline = time.monotonic() + 20
        while len(fp.attempts()) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        down_at = time.monotonic()
        fp.outage("m-a", outage)
        fp.outage("m-b", outage)
        job.join(timeout=40)
        assert not job.is_alive()
        log = fp.attempts()
    failures = [a for a in log if a.status == 503]
    assert failures, "the outage was not seen"
    assert result["r"].succeeded == n and result["r"].failed == 0
    assert_exactly_once(result["r"].records, n)
    ok_after = [a for a in log if a.status == 200 and a.time > failures[-1].time]
    assert ok_after, "nothing was served after the outage"
    # Paused, not spinning: the fake saw far fewer failed attempts than an unpaced retry loop makes.
    assert len(failures) < 200, len(failures)
    assert time.monotonic() - down_at >= outage * 0.9


def test_an_outage_of_one_group_does_not_pause_another(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        config = make_config(fp)
        config["groups"]["h"] = {"deployments": [{"id": "h", "model": "m-h", "base_url": fp.base_url, "api_key": "k"}]}
        fp.outage("m-a", 1.0)
        fp.outage("m-b", 1.0)
        items = [request(i) for i in range(4)]
        items += [
            {"custom_id": f"h-{i}", "url": "/v1/embeddings", "body": {"model": "h", "input": "x"}} for i in range(40)
        ]
        result = run(items, fp, tmp_path, config=config, concurrency=8, state=False)
        served_h = [a.time for a in fp.attempts("m-h")]
        first_ok_g = min(a.time for a in fp.attempts() if a.model != "m-h" and a.status == 200)
    assert result.succeeded == 44
    assert len(served_h) == 40 and max(served_h) < first_ok_g, (max(served_h), first_ok_g)


def test_the_request_deadline_bounds_the_wait_through_an_outage(tmp_path: Path) -> None:
    with FakeProvider() as fp:
        fp.outage("m-a", 60)
        fp.outage("m-b", 60)
        started = time.monotonic()
        result = run([request(i) for i in range(4)], fp, tmp_path, request_deadline=1.0)
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 8, elapsed
    assert result.failed == 4
    err = result.records[0]["error"]
    assert err["code"] == "deadline_exceeded" and "1 s" in err["message"] and SECRET not in err["message"]


def test_a_queue_behind_a_long_outage_fails_at_once_not_one_deadline_after_another(tmp_path: Path) -> None:
    n, concurrency, deadline = 40, 2, 0.5
    with FakeProvider() as fp:
        fp.outage("m-a", 60)
        fp.outage("m-b", 60)
        started = time.monotonic()
        result = run([request(i) for i in range(n)], fp, tmp_path, concurrency=concurrency, request_deadline=deadline)
        elapsed = time.monotonic() - started
    # Waiting out each request's deadline in turn would take n / concurrency * deadline = 10 s.
    assert elapsed < 5, elapsed
    assert result.failed == n and {r["error"]["code"] for r in result.records} == {"deadline_exceeded"}
    assert "every target has been down for" in result.records[-1]["error"]["message"]


def test_retry_failed_runs_the_failed_requests_again_after_the_outage(tmp_path: Path) -> None:
    items = [request(i) for i in range(6)] + ["not a request"]
    with FakeProvider() as fp:
        fp.outage("m-a", 60)
        fp.outage("m-b", 60)
        first = run(items, fp, tmp_path, request_deadline=0.3)
        fp.reset()  # the targets are back
        unchanged = run(items, fp, tmp_path)
        assert fp.attempts() == []  # a finished job, failures included, is not sent again by default
        again = run(items, fp, tmp_path, retry_failed=True)
        assert len(fp.attempts()) == 6  # the failed requests, not the invalid entry
    assert (first.failed, unchanged.failed, again.succeeded, again.failed) == (7, 7, 6, 1)
    records = read_output(tmp_path / "out.jsonl")
    assert_exactly_once([r for r in records if r["custom_id"] != "request-6"], 6)
    assert records[-1]["error"]["code"] == "invalid_request"
