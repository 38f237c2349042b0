#!/usr/bin/env bash
# The main demo: set-up (scripts/setup.sh, incremental), then examples/demo.py (about 20 s).
# Two local fake providers serve one group; the demo cuts a stream (rescued by the backup), takes
# the primary down (requests fail over, its breaker opens) and brings it back, with a live view
# of who served each request and each breaker's state (plain lines when not on a terminal).
# Every request must be answered (exit status 1 otherwise). No network and no API key needed.
# Arguments go to the demo: `bash scripts/demo.sh --requests 24 --pace 0.05 --plain`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "==> running examples/demo.py"
exec .venv/bin/python examples/demo.py "$@"
