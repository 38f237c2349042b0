"""``python -m llmfailover COMMAND ...``: ``batch`` (a durable batch job) or ``scorecard`` (the fault table).

``python -m llmfailover.scorecard`` runs the scorecard directly, as before.
"""

from __future__ import annotations

import sys
from typing import Optional

COMMANDS = {
    "batch": ("llmfailover.batch._cli", "run a JSONL batch through the router, resumable (see --help)"),
    "scorecard": ("llmfailover.scorecard.__main__", "the failover scorecard: one line per fault"),
}


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        lines = [f"  {name:10} {what}" for name, (_, what) in COMMANDS.items()]
        usage = "usage: python -m llmfailover COMMAND [ARGS ...]\n\ncommands:\n" + "\n".join(lines)
        if args and args[0] not in ("-h", "--help"):
            print(f"{usage}\n\npython -m llmfailover: unknown command {args[0]!r}", file=sys.stderr)
            return 2
        print(usage, file=sys.stderr if not args else sys.stdout)
        return 0 if args else 2
    from importlib import import_module

    module = import_module(COMMANDS[args[0]][0])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
