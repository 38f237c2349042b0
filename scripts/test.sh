#!/usr/bin/env bash
# Runs every test of the project, after scripts/setup.sh:
#   0. lint (scripts/lint.sh): clang-format, ruff, mypy, the _core.pyi drift check, clang-tidy
#   1. the GoogleTest binary, through ctest, in the scikit-build build dir (build/py)
#   2. pytest over tests/py (includes the Steady conformance and nginx TLS end-to-end tests)
#   3. pytest over tests/py again with LLMFAILOVER_HIDE_OPENAI=1 (the openai package hidden)
#   4. every notebook in notebooks/, executed with nbclient
#   5. hardening (scripts/sanitize.sh, clang builds in build/asan and build/tsan): the GoogleTest
#      binary under ASan+UBSan, a Python end-to-end subset against an ASan+UBSan _core, the
#      transport and router tests under TSan, and every libFuzzer target for FUZZ_SECONDS (12 s)
#      on its seed corpus. LLMF_SANITIZERS=0 skips step 5 (quick local runs; CI runs it).
# Every step runs even if an earlier one failed; the exit status is non-zero if any failed.
# Extra arguments are passed to both pytest runs (e.g. `bash scripts/test.sh -k tls -x`).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
RESULTS=build/test-results

log() { echo "==> $*"; }

total_start=$SECONDS
bash scripts/setup.sh || {
  echo "test.sh: ERROR: scripts/setup.sh failed; no tests were run" >&2
  exit 1
}
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

steps=() statuses=() times=()
record() { # name status seconds
  steps+=("$1") statuses+=("$2") times+=("$3")
}

# --- 0. lint -----------------------------------------------------------------------------------
# A finding fails the run (fix formatting with `bash scripts/lint.sh --fix`). clang-tidy checks only
# the units whose code or headers changed since a clean check (scripts/tidy.py's cache);
# LLMF_LINT_ARGS passes arguments, e.g. "--tidy-base origin/main".
log "lint (scripts/lint.sh)"
start=$SECONDS
# shellcheck disable=SC2086 # LLMF_LINT_ARGS is a list of words
bash scripts/lint.sh ${LLMF_LINT_ARGS:-}
record "lint" "$([[ $? == 0 ]] && echo PASS || echo FAIL)" $((SECONDS - start))

# --- 1. C++ unit tests --------------------------------------------------------------------------
log "ctest (GoogleTest) in build/py"
start=$SECONDS
if [[ ! -f build/py/CTestTestfile.cmake ]]; then
  echo "test.sh: build/py has no CTest files (was it configured with LLMFAILOVER_BUILD_TESTS=ON?)" >&2
  record "ctest" FAIL $((SECONDS - start))
else
  # A test that fails once runs once more (as the pytest steps below do); the log keeps the failure.
  ctest --test-dir build/py --output-on-failure -j2 --no-tests=error --repeat until-pass:2 \
    --output-junit "$PWD/$RESULTS/ctest.xml"
  rc=$?
  record "ctest" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" $((SECONDS - start))
fi

# --- 2./3. pytest, with and without the openai package -------------------------------------------
run_pytest() { # name, then arguments for env(1)
  local name=$1 start=$SECONDS rc
  shift
  log "pytest tests/py ($name)"
  env "$@" "$PY" -m pytest tests/py -q -rs --junitxml="$RESULTS/$name.xml" "${PYTEST_ARGS[@]}"
  rc=$?
  # A run whose only failures are 1 to 3 tests (exit 1: no crash, no collection or internal error)
  # runs those tests once more (pytest's --last-failed). If they pass, the step is FLAKY (not a
  # failure), the summary names them, and their first failures leave the counts.
  if [[ $rc == 1 ]] && "$PY" scripts/junit_flaky.py count "$RESULTS/$name.xml"; then
    log "pytest ($name): running the failed tests once more"
    if env "$@" "$PY" -m pytest tests/py -q -rs --last-failed --last-failed-no-failures none \
      --junitxml="$RESULTS/$name-rerun.xml" "${PYTEST_ARGS[@]}"; then
      "$PY" scripts/junit_flaky.py forget "$RESULTS/$name.xml" >>"$RESULTS/flaky.txt"
      record "$name" FLAKY $((SECONDS - start))
      return
    fi
  fi
  case $rc in
  0) record "$name" PASS $((SECONDS - start)) ;;
  5) record "$name" "NO TESTS" $((SECONDS - start)) ;; # pytest: nothing collected
  *) record "$name" FAIL $((SECONDS - start)) ;;
  esac
}
PYTEST_ARGS=("$@")
run_pytest pytest -u LLMFAILOVER_HIDE_OPENAI LLMFAILOVER_REQUIRE_SDKS=1
run_pytest pytest-no-openai LLMFAILOVER_HIDE_OPENAI=1

# --- 4. notebooks -------------------------------------------------------------------------------
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if ((${#notebooks[@]})); then
  log "notebooks: ${notebooks[*]}"
  start=$SECONDS
  "$PY" - "$RESULTS/notebooks.xml" "${notebooks[@]}" <<'EOF'
import re, sys, time
from xml.sax.saxutils import quoteattr
import nbformat
from nbclient import NotebookClient

out, paths = sys.argv[1], sys.argv[2:]
cases, failed = [], 0
for path in paths:
    t0 = time.monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": "notebooks"}}).execute()
        err = None
        print(f"    PASS {path} ({time.monotonic() - t0:.1f}s)")
    except Exception as e:  # a failing cell raises CellExecutionError with the traceback
        failed += 1
        err = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(e).__name__}: {e}")  # no ANSI colours
        err = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", err)  # not allowed in XML
        print(f"    FAIL {path}\n{err}")
    cases.append((path, time.monotonic() - t0, err))
with open(out, "w") as f:
    f.write(f'<testsuite name="notebooks" tests="{len(cases)}" failures="{failed}">\n')
    for path, secs, err in cases:
        f.write(f'<testcase name={quoteattr(path)} time="{secs:.2f}">')
        if err:
            f.write(f"<failure message={quoteattr(err[:2000])}/>")
        f.write("</testcase>\n")
    f.write("</testsuite>\n")
sys.exit(1 if failed else 0)
EOF
  rc=$?
  record "notebooks" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" $((SECONDS - start))
else
  log "notebooks: none in notebooks/"
fi

# --- 5. sanitizers and fuzz smoke -----------------------------------------------------------------
if [[ ${LLMF_SANITIZERS:-1} == 0 ]]; then
  log "hardening steps skipped (LLMF_SANITIZERS=0)"
else
  for step in asan-ctest asan-pytest tsan-ctest fuzz-smoke; do
    log "hardening: $step"
    start=$SECONDS
    bash scripts/sanitize.sh "$step" "$RESULTS/$step.xml"
    rc=$?
    case $rc in
    0) record "$step" PASS $((SECONDS - start)) ;;
    5) record "$step" "NO TESTS" $((SECONDS - start)) ;;
    *) record "$step" FAIL $((SECONDS - start)) ;;
    esac
  done
fi

# --- summary --------------------------------------------------------------------------------------
echo
echo "==================== test summary ===================="
failed=0
for i in "${!steps[@]}"; do
  printf '  %-18s %-9s %4ss\n' "${steps[$i]}" "${statuses[$i]}" "${times[$i]}"
  [[ ${statuses[$i]} == FAIL ]] && failed=1
done
echo "  wall time: $((SECONDS - total_start))s (set-up included)"
((failed)) && echo "test.sh: FAILED (see the steps marked FAIL above)"
if [[ -s $RESULTS/flaky.txt ]]; then
  echo "FLAKY: these failed once and passed when run again (fix them):"
  sed 's/^/  /' "$RESULTS/flaky.txt"
fi
# Test counts over all runners, from their JUnit XML (a test run twice counts twice); last line.
"$PY" - "$RESULTS" <<'EOF'
import glob, sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
names = []  # the failed tests, printed last so that the tail of a CI log names them
for path in sorted(glob.glob(f"{sys.argv[1]}/*.xml")):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        continue
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
            bad = next(c for c in case if c.tag in ("failure", "error"))
            why = (bad.get("message") or bad.text or "").strip().splitlines()[:1]
            step = path.rsplit("/", 1)[-1].removesuffix(".xml")
            test = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            names.append(f"  FAILED [{step}] {test}: {why[0][:300] if why else ''}")
        elif "skipped" in tags or case.get("status") in ("notrun", "disabled"):
            skipped += 1
        else:
            passed += 1
if names:
    print("\n".join(names[:40]))
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
EOF
exit "$failed"
