#!/usr/bin/env bash
# The main demo: set-up (scripts/setup.sh, incremental), then examples/demo.py.
# A local fake provider answers one 429 then succeeds; llmfailover.OpenAI retries it, plainly and
# streaming. No network and no API key needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "==> running examples/demo.py"
exec .venv/bin/python examples/demo.py "$@"
