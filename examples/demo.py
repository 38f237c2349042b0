"""llmfailover in one minute: the openai client API, with a native engine underneath.

A local FakeProvider (llmfailover.testing) plays the LLM API. It is scripted to answer the first
attempt with 429 Too Many Requests (Retry-After: 0.2 s) and the second with success. The client
is the drop-in `from llmfailover import OpenAI`: it honours Retry-After and retries, plainly and
streaming, and the fake provider's attempt log shows what went over the wire.

    bash scripts/demo.sh            # set-up, then this file
    .venv/bin/python examples/demo.py
"""

from __future__ import annotations

import time

from llmfailover import OpenAI  # the only change from `from openai import OpenAI`
from llmfailover.testing import Fault, FakeProvider

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]


def show_attempts(fp: FakeProvider) -> None:
    attempts = fp.attempts(MODEL)
    print(f"  the fake provider saw {len(attempts)} attempts:")
    for a in attempts:
        print(f"    #{a.attempt}  t={a.time:6.3f}s  {a.method} {a.target}{' (stream)' if a.stream else ''}"
              f"  -> {a.status} {a.outcome}")
    if len(attempts) >= 2:
        print(f"  the retry went out {(attempts[1].time - attempts[0].time) * 1000:.0f} ms after the 429")


def main() -> None:
    with FakeProvider(reply_words=8) as fp:
        print(f"fake provider at {fp.base_url}; script for {MODEL}: 429 (Retry-After 0.2 s), then 200\n")
        client = OpenAI(base_url=fp.base_url, api_key="sk-demo", max_retries=2)

        # 1. A plain chat completion.
        fp.script(MODEL, [Fault.rate_limited(retry_after=0.2), Fault.ok()])
        start = time.perf_counter()
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        elapsed = time.perf_counter() - start
        print("1. chat.completions.create()")
        print(f"  answer: {completion.choices[0].message.content!r}")
        print(f"  id={completion.id}  finish_reason={completion.choices[0].finish_reason}  "
              f"usage={completion.usage.total_tokens} tokens")
        print(f"  took {elapsed * 1000:.1f} ms in all (including the 200 ms the 429 asked us to wait)")
        show_attempts(fp)

        # 2. The same, streaming: the retry happens before the first chunk reaches the caller.
        fp.reset()  # clears the attempt log and the scripts
        fp.script(MODEL, [Fault.rate_limited(retry_after=0.2), Fault.ok()])
        start = time.perf_counter()
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        first_chunk_at = None
        pieces = []
        chunks = 0
        for chunk in stream:
            if first_chunk_at is None:
                first_chunk_at = time.perf_counter() - start
            chunks += 1
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
        elapsed = time.perf_counter() - start
        print("\n2. chat.completions.create(stream=True)")
        print(f"  answer: {''.join(pieces)!r}  ({chunks} chunks)")
        print(f"  first chunk after {(first_chunk_at or 0) * 1000:.1f} ms, whole stream {elapsed * 1000:.1f} ms")
        show_attempts(fp)
        client.close()


if __name__ == "__main__":
    main()
