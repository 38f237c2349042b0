#!/usr/bin/env bash
# Issue 11's fault catalogue, end to end against FakeProvider at real timings (about two minutes;
# not part of scripts/test.sh): set-up (incremental), then pytest over tests/catalogue.
# Scenarios the router cannot rescue yet are xfail(strict): they must fail, and flip when fixed.
# Extra arguments go to pytest, e.g. `bash scripts/catalogue.sh -k 429`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "==> pytest tests/catalogue"
exec .venv/bin/python -m pytest tests/catalogue -q -rxX -p no:cacheprovider "$@"
