#!/usr/bin/env bash
# Lint: the habits the test command enforces (scripts/test.sh runs this as its "lint" step).
#
#   bash scripts/lint.sh                 every check (clang-tidy: on the changed units, see below);
#                                        exit 1 on any finding
#   bash scripts/lint.sh --fix           apply the formatters (clang-format, ruff format, ruff's safe
#                                        fixes) and regenerate python/llmfailover/_core.pyi, then check
#   bash scripts/lint.sh --tidy-base REF clang-tidy on the units REF..worktree changed (or whose
#                                        repository headers it changed); default REF: the merge-base
#                                        with main on a branch, HEAD~1 on main (the last merge)
#   bash scripts/lint.sh --tidy-all      clang-tidy on every unit (~10 min on 2 idle cores when the
#                                        cache is cold; units found clean before are skipped)
#   bash scripts/lint.sh STEP...         only these steps (clang-format ruff mypy stubs clang-tidy)
#
# Steps:
#   clang-format  clang-format-14 --dry-run -Werror (.clang-format) on every C++ file git knows
#                 (tracked or new, not ignored), except tests/vendor and third_party (vendored as is)
#   ruff          ruff check and ruff format --check ([tool.ruff] in pyproject.toml)
#   mypy          mypy on python/llmfailover ([tool.mypy]: strict on the public API)
#   stubs         python/llmfailover/_core.pyi is what scripts/stubgen.sh generates from the built
#                 _core (fails with the diff otherwise; fix: bash scripts/stubgen.sh)
#   clang-tidy    scripts/tidy.py: .clang-tidy over cpp/src and cpp/bindings with
#                 build/py/compile_commands.json; units found clean are cached by content (see there)
# Needs scripts/setup.sh (the tools, .venv and build/py). LLMF_TIDY_JOBS sets clang-tidy's jobs.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.venv/bin
CLANG_FORMAT=${LLMF_CLANG_FORMAT:-clang-format-14}

fix=0 tidy_base="" tidy_all=0 only=()
while (($#)); do
  case $1 in
  --fix) fix=1 ;;
  --tidy-base)
    tidy_base=${2:?--tidy-base needs a git ref}
    shift
    ;;
  --tidy-all) tidy_all=1 ;;
  clang-format | ruff | mypy | stubs | clang-tidy) only+=("$1") ;;
  -h | --help)
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "lint.sh: unknown argument '$1' (see --help)" >&2
    exit 2
    ;;
  esac
  shift
done
wanted() { ((${#only[@]} == 0)) || [[ " ${only[*]} " == *" $1 "* ]]; }

steps=() statuses=() times=()
run_step() { # name command...
  local name=$1 start=$SECONDS rc
  shift
  wanted "$name" || return 0
  echo "==> lint: $name"
  "$@"
  rc=$?
  steps+=("$name") statuses+=("$([[ $rc == 0 ]] && echo PASS || echo FAIL)") times+=($((SECONDS - start)))
}

cxx_files() {
  git ls-files -z --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.h' '*.cc' ':(exclude)tests/vendor' ':(exclude)third_party' |
    while IFS= read -r -d '' f; do [[ -f $f ]] && printf '%s\0' "$f"; done
}

step_clang_format() {
  if ((fix)); then cxx_files | xargs -0 -r "$CLANG_FORMAT" -i; fi
  # One finding per badly formatted line, as file:line:col; the fix is the command below.
  if ! cxx_files | xargs -0 -r "$CLANG_FORMAT" --dry-run -Werror; then
    echo "lint.sh: C++ formatting differs from .clang-format; fix: bash scripts/lint.sh --fix" \
      "(or $CLANG_FORMAT -i FILE...)" >&2
    return 1
  fi
}

step_ruff() {
  if ((fix)); then
    "$VENV/ruff" check --fix --quiet . || true # what remains is reported below
    "$VENV/ruff" format --quiet .
  fi
  local rc=0
  "$VENV/ruff" check . || rc=1
  "$VENV/ruff" format --check . || {
    rc=1
    echo "lint.sh: fix: bash scripts/lint.sh --fix (or .venv/bin/ruff format FILE...)" >&2
  }
  return $rc
}

step_mypy() { "$VENV/mypy"; }

step_stubs() {
  if ((fix)); then bash scripts/stubgen.sh || return 1; fi
  local tmp rc
  tmp=$(mktemp --suffix=.pyi)
  if ! bash scripts/stubgen.sh "$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  diff -u --label "python/llmfailover/_core.pyi (committed)" --label "generated from the built _core" \
    python/llmfailover/_core.pyi "$tmp"
  rc=$?
  rm -f "$tmp"
  ((rc == 0)) || echo "lint.sh: _core.pyi drifted from the bindings; fix: bash scripts/stubgen.sh" \
    "(after scripts/setup.sh rebuilt _core)" >&2
  return $rc
}

# The full run takes ~10 min on 2 cores (each unit parses Boost.Asio/Beast), too slow for every
# test run; by default clang-tidy checks what this branch (or main's last merge) changed.
default_tidy_base() {
  if git rev-parse -q --verify main >/dev/null && [[ $(git rev-parse HEAD) != "$(git rev-parse main)" ]]; then
    git merge-base HEAD main
  elif git rev-parse -q --verify HEAD~1 >/dev/null; then
    echo HEAD~1
  fi
}

step_clang_tidy() {
  local args=()
  if ((!tidy_all)); then
    [[ -n $tidy_base ]] || tidy_base=$(default_tidy_base)
    [[ -n $tidy_base ]] && args=(--base "$tidy_base")
  fi
  "$VENV/python" scripts/tidy.py "${args[@]}"
}

start=$SECONDS
run_step clang-format step_clang_format
run_step ruff step_ruff
run_step mypy step_mypy
run_step stubs step_stubs
run_step clang-tidy step_clang_tidy

echo
echo "------------------ lint summary ------------------"
failed=0
for i in "${!steps[@]}"; do
  printf '  %-14s %-5s %4ss\n' "${steps[$i]}" "${statuses[$i]}" "${times[$i]}"
  [[ ${statuses[$i]} == FAIL ]] && failed=1
done
echo "  lint time: $((SECONDS - start))s"
((failed)) && echo "lint.sh: FAILED (fix: bash scripts/lint.sh --fix formats; the rest needs a code change)"
exit $failed
