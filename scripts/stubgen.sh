#!/usr/bin/env bash
# Generates python/llmfailover/_core.pyi, the type stub of the native module, from the built
# extension: pybind11-stubgen (pinned in constraints.txt) reads the signatures and docstrings the
# bindings declare (cpp/bindings: py::arg names, py::typing return types, docstrings), then ruff
# formats the stub with the repository's settings.
#
#   bash scripts/stubgen.sh            rewrite python/llmfailover/_core.pyi
#   bash scripts/stubgen.sh OUT.pyi    write it elsewhere (scripts/lint.sh diffs that against the file)
#
# Needs the built package (scripts/setup.sh). Do not edit _core.pyi by hand: change the bindings'
# docstrings and signatures and run this.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
STUB=python/llmfailover/_core.pyi
out=${1:-$STUB}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --exit-code: an unresolvable name or invalid default is an error, not a silently weakened stub.
"$PY" -m pybind11_stubgen llmfailover._core --exit-code -o "$tmp" >"$tmp/log" 2>&1 || {
  cat "$tmp/log" >&2
  echo "stubgen.sh: pybind11-stubgen failed for llmfailover._core" >&2
  exit 1
}
# The str-valued enums as the typing spec writes enum members (scripts/stub_enums.py).
"$PY" scripts/stub_enums.py "$tmp/llmfailover/_core.pyi"
# Formatted as if it were the file in the tree (ruff reads pyproject.toml through the name).
.venv/bin/ruff check --fix-only --quiet --stdin-filename "$STUB" <"$tmp/llmfailover/_core.pyi" |
  .venv/bin/ruff format --quiet --stdin-filename "$STUB" - >"$tmp/_core.pyi"
mv "$tmp/_core.pyi" "$out"
