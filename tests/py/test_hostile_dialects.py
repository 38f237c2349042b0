"""Hostile upstreams in the other providers' dialects (issue 10: "wrong types in every field of
every dialect"; item 2: nesting deep enough to exhaust a recursive parser's stack).

A routed client whose group "g" has a hostile Anthropic, Gemini or Cohere deployment first and a
``FakeProvider`` (OpenAI) deployment second: every bad answer must fail over to the fake within
the deadline (a bad answer is the deployment's fault), and a healthy call follows on the same
client. Answers whose text is fine but whose metadata is odd (usage, stop reason) are served, as
openai-python's lenient parsing would. Deeply nested cases run in a child interpreter, since a
stack overflow in the native translator kills the process (it does on main).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import _hostile
import pytest
from _hostile import HostileServer, Req, ok_response

DEEP = 100_000


def _deep(inner: str = "1") -> str:
    return '{"a":' * DEEP + inner + "}" * DEEP


ANTHROPIC = {
    "text-not-string": {"content": [{"type": "text", "text": 5}]},
    "content-not-list": {"content": "hello"},
    "usage-wrong-types": {"content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": "many"}},
    "stop-reason-object": {"content": [{"type": "text", "text": "hi"}], "stop_reason": {"x": 1}},
    "tool-input-deep": None,  # built as text below: json.dumps would recurse
}
GEMINI = {
    "candidates-not-list": {"candidates": "many"},
    "parts-wrong-types": {"candidates": [{"content": {"parts": [{"text": 5}]}, "finishReason": 7}]},
    "no-candidates": {"usageMetadata": {"promptTokenCount": "x"}},
    "args-deep": None,
}
COHERE = {
    "message-not-object": {"id": "c", "finish_reason": "COMPLETE", "message": "hello"},
    "content-wrong-types": {"id": "c", "finish_reason": 5, "message": {"role": "assistant", "content": [{"text": 5}]}},
}


def _anthropic(case: str) -> bytes:
    if case == "tool-input-deep":
        return (
            '{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"tool_use",'
            '"content":[{"type":"tool_use","id":"t1","name":"f","input":' + _deep() + "}],"
            '"usage":{"input_tokens":1,"output_tokens":1}}'
        ).encode()
    base = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return json.dumps({**base, **ANTHROPIC[case]}).encode()


def _gemini(case: str) -> bytes:
    if case == "args-deep":
        return (
            '{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":'
            + _deep()
            + '}}]},"finishReason":"STOP"}]}'
        ).encode()
    return json.dumps(GEMINI[case]).encode()


def _cohere(case: str) -> bytes:
    return json.dumps(COHERE[case]).encode()


BUILD = {"anthropic": _anthropic, "gemini": _gemini, "cohere": _cohere}
CASES = [(p, c) for p, table in (("anthropic", ANTHROPIC), ("gemini", GEMINI), ("cohere", COHERE)) for c in table]
XFAIL: dict[tuple[str, str], str] = {}  # (provider, case) -> reason, for a known bug


def behaviour(provider: str, case: str) -> Any:
    body = BUILD[provider](case)

    def run(conn: socket.socket, req: Req) -> bool:
        conn.sendall(ok_response(body))
        return True

    return run


def config(server: HostileServer, fake_url: str, provider: str, case: str) -> dict[str, Any]:
    base = {
        "anthropic": server.base_url.removesuffix("/v1"),
        "gemini": server.base_url.removesuffix("/v1") + "/v1beta",
        "cohere": server.base_url.removesuffix("/v1"),
    }[provider]
    policy = {
        "timeouts": {"first_token": "1s", "idle": "1s", "deadline": "5s"},
        "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
    }
    return {
        "groups": {
            "g": {
                "deployments": [
                    {
                        "id": "hostile",
                        "provider": provider,
                        "model": f"{provider}-{case}",
                        "base_url": base,
                        "api_key": "k-hostile",
                        "weight": 1e6,
                        "priority": 0,
                    },
                    {"id": "fallback", "model": "fb", "base_url": fake_url, "api_key": "k-fb", "priority": 1},
                ],
                "policy": policy,
            },
            "h": {"deployments": [{"id": "healthy", "model": "ok", "base_url": server.base_url, "api_key": "k"}]},
        }
    }


LENIENT = {("anthropic", "usage-wrong-types"), ("anthropic", "stop-reason-object")}  # valid text, odd metadata


def run_case(provider: str, case: str) -> None:
    from llmfailover import OpenAI
    from llmfailover.testing import FakeProvider

    behaviours = {f"{provider}-{case}": behaviour(provider, case)}
    with HostileServer(behaviours) as server, FakeProvider(reply_words=3) as fp:
        with OpenAI(config=config(server, fp.base_url, provider, case)) as client:
            started = time.monotonic()
            r = client.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
            expected = "hi" if (provider, case) in LENIENT else "Hello from fb."  # served, or failed over
            assert r.choices[0].message.content == expected, r
            assert time.monotonic() - started < 6
            assert any(q.model == f"{provider}-{case}" for q in server.requests)  # the hostile one was tried
            for _ in range(2):
                r = client.chat.completions.create(model="h", messages=[{"role": "user", "content": "hi"}])
                assert r.choices[0].message.content == "hello"


@pytest.mark.parametrize(
    "provider, case",
    [
        pytest.param(
            p, c, id=f"{p}-{c}", marks=[pytest.mark.xfail(strict=True, reason=XFAIL[(p, c)])] if (p, c) in XFAIL else []
        )
        for p, c in CASES
    ],
)
def test_a_bad_answer_in_a_dialect_fails_over(provider: str, case: str) -> None:
    if (provider, case) not in XFAIL:  # cannot crash the process: in-process, fast
        return run_case(provider, case)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, provider, case], env=env, capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{provider} {case}: the child hung for 30 s")
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"


if __name__ == "__main__":
    import faulthandler

    faulthandler.enable()
    faulthandler.dump_traceback_later(25, exit=True)
    run_case(sys.argv[1], sys.argv[2])
    print("ok", _hostile.__name__)
