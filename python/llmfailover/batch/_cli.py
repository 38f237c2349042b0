"""``python -m llmfailover batch INPUT.jsonl --config CONFIG --output OUTPUT.jsonl [options]``.

Running the same command again resumes the job (its state is ``OUTPUT.jsonl.state.sqlite``, or
``--state``). With ``--redis URL`` every process running the command shares the job. Exit status:
0 when every request succeeded, 1 when some failed (their errors are in the output), 2 when the
job could not run (bad arguments, a duplicate custom_id, an unusable state file or Redis), 130
when interrupted (Ctrl-C: answers already in are kept, the rest wait for the next run).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional

from ..config import ConfigError
from . import DEFAULT_CONCURRENCY, DEFAULT_REQUEST_DEADLINE, BatchError, batch


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m llmfailover batch", description=__doc__.split("\n")[0])
    p.add_argument("input", help="requests, one JSON object a line (OpenAI Batch API format)")
    p.add_argument("--config", required=True, help="the router config (YAML or JSON; a LiteLLM config works too)")
    p.add_argument("--output", required=True, help="where the results go (OpenAI batch output JSONL, input order)")
    p.add_argument("--state", help="the SQLite state file (default: OUTPUT.state.sqlite)")
    p.add_argument("--concurrency", type=_positive(int), default=DEFAULT_CONCURRENCY, help="requests in flight")
    p.add_argument(
        "--request-deadline",
        type=_positive(float),
        default=DEFAULT_REQUEST_DEADLINE,
        help="seconds a request may wait through outages before it fails (default: %(default)g)",
    )
    p.add_argument("--redis", metavar="URL", help="share the job through Redis Streams (redis://, rediss://, unix://)")
    p.add_argument("--redis-prefix", default="llmfailover:batch", help="key prefix on Redis")
    p.add_argument("--job", help="the job's name on Redis (default: a digest of the input)")
    p.add_argument(
        "--claim-idle",
        type=_positive(float),
        default=30.0,
        help="seconds after which a silent worker's requests are taken over (Redis; default: %(default)g)",
    )
    p.add_argument("--retry-failed", action="store_true", help="run the requests an earlier run failed again")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = batch(
            args.input,
            config=args.config,
            output=args.output,
            state=args.state,
            concurrency=args.concurrency,
            request_deadline=args.request_deadline,
            progress=not args.no_progress,
            redis=args.redis,
            redis_prefix=args.redis_prefix,
            job=args.job,
            claim_idle=args.claim_idle,
            retry_failed=args.retry_failed,
        )
    except ConfigError as e:  # its message names the place in the file
        print(f"python -m llmfailover batch: error: config {args.config!r}: {e}", file=sys.stderr)
        return 2
    except BatchError as e:
        print(f"python -m llmfailover batch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m llmfailover batch: interrupted; run the same command again to resume", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    for problem in result.invalid_lines:
        print(f"{args.input}: {problem}", file=sys.stderr)
    print(
        f"{result.succeeded} succeeded, {result.failed} failed ({len(result.invalid_lines)} invalid lines); "
        f"output: {result.output}",
        file=sys.stderr,
    )
    return 0 if result.failed == 0 else 1
