#!/usr/bin/env bash
# The bench's peers, kept out of the project's venv and its test command (issue 14):
#   - LiteLLM's Router in its own venv, .venv-bench (versions pinned in bench/constraints.txt);
#   - Portkey's open-source gateway from npm into .cache/bench-npm (version pinned below).
# Idempotent; bench/run.py skips (and says so) a peer that is not installed.
#
#   bash bench/setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORTKEY_VERSION=1.15.2

if [[ ! -x .venv-bench/bin/python ]]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/pip install -q -c bench/constraints.txt litellm

if ! command -v npm >/dev/null; then
  echo "bench/setup.sh: npm not found (Debian package npm; scripts/setup.sh installs it)" >&2
  exit 1
fi
npm install --no-audit --no-fund --silent --prefix .cache/bench-npm "@portkey-ai/gateway@${PORTKEY_VERSION}"
echo "==> bench peers ready: $(.venv-bench/bin/python -c 'import importlib.metadata as m; print("litellm", m.version("litellm"))'), portkey gateway ${PORTKEY_VERSION}"
