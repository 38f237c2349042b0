#!/usr/bin/env bash
# Sanitizer and fuzz-smoke steps of the test command (scripts/test.sh runs each one as a step):
#
#   bash scripts/sanitize.sh asan-ctest  [JUNIT]   GoogleTest binary under ASan+UBSan (ctest)
#   bash scripts/sanitize.sh asan-pytest [JUNIT]   Python end-to-end subset against an ASan+UBSan _core
#   bash scripts/sanitize.sh tsan-ctest  [JUNIT]   transport and router GoogleTest suites under TSan
#   bash scripts/sanitize.sh fuzz-smoke  [JUNIT]   every libFuzzer target for FUZZ_SECONDS (default 12) on its seeds
#   bash scripts/sanitize.sh build asan|tsan       only build
#
# Build dirs (clang-14, -O1, line tables, ccache'd; the default build in build/py is untouched):
#   build/asan  core + tests + _core + fuzz targets, -fsanitize=address,undefined (+ fuzzer-no-link
#               coverage, so the fuzzers and the tests share one build); _core goes to a staged copy
#               of the package, build/asan/stage/llmfailover, imported through PYTHONPATH.
#   build/tsan  core + the tests of tests/cpp/transport and tests/cpp/router, -fsanitize=thread.
# UBSan is built with -fno-sanitize-recover: undefined behaviour fails the run.
# Needs scripts/setup.sh first (clang-14, libclang-rt-14-dev, .venv with pybind11).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
PY=$REPO/.venv/bin/python
CXX=${LLMF_CLANGXX:-clang++-14}
FUZZ_TARGETS=(fuzz_sse fuzz_eventstream fuzz_http_response fuzz_provider fuzz_config)

# ---- known findings, skipped until the fix is merged (the lead removes a line after merging) ----
# Each entry names the issue item whose fix removes it. ctest: regular expressions on test names;
# pytest: node ids for --deselect.
ASAN_CTEST_SKIP=(
)
ASAN_PYTEST_SKIP=(
)
TSAN_CTEST_SKIP=(
)
# -------------------------------------------------------------------------------------------------

# The Python subset run against the ASan _core (globs: files another branch adds are picked up
# when they exist, and their absence is no error).
ASAN_PYTEST_GLOBS=(tests/py/test_hostile*.py tests/py/test_cancel_stress.py tests/py/test_client.py
                   tests/py/test_router*.py tests/py/test_async.py)

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

log() { echo "==> sanitize: $*"; }
die() {
  echo "sanitize.sh: ERROR: $*" >&2
  exit 1
}

command -v "$CXX" >/dev/null || die "$CXX not found: run scripts/setup.sh (installs clang-14 and libclang-rt-14-dev)"
[[ -x $PY ]] || die ".venv missing: run scripts/setup.sh"

configure() { # kind
  local kind=$1 dir=build/$1 args=()
  case $kind in
  asan)
    args=(-DLLMFAILOVER_SANITIZE="address;undefined" -DLLMFAILOVER_BUILD_FUZZERS=ON -DLLMFAILOVER_BUILD_PYTHON=ON
          -DLLMFAILOVER_PYTHON_OUT_DIR="$REPO/$dir/stage/llmfailover"
          -DPython_EXECUTABLE="$PY" -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)")
    ;;
  tsan)
    args=(-DLLMFAILOVER_SANITIZE=thread -DLLMFAILOVER_BUILD_PYTHON=OFF -DLLMFAILOVER_TEST_DIRS="transport;router")
    ;;
  *) die "unknown build '$kind' (asan or tsan)" ;;
  esac
  args+=(-DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only"
         -DLLMFAILOVER_BUILD_TESTS=ON -DLLMFAILOVER_WERROR=ON)
  # Configured once; again when these arguments change (a build dir from before keeps none of a new flag).
  local stamp=$dir/.llmf-configure-args
  [[ -f $dir/build.ninja && "$(cat "$stamp" 2>/dev/null)" == "${args[*]}" ]] && return 0
  log "configuring $dir"
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; die "cmake configure of $dir failed"; }
  echo "${args[*]}" >"$stamp"
}

build() { # kind
  local kind=$1 dir=build/$1 start=$SECONDS targets=(llmfailover_tests)
  [[ $kind == asan ]] && targets=("${FUZZ_TARGETS[@]}" _core llmfailover_tests)
  mkdir -p build
  configure "$kind"
  log "building ${targets[*]} in $dir (log: $dir/build.log)"
  if ! cmake --build "$dir" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" --target "${targets[@]}" >"$dir/build.log" 2>&1; then
    tail -n 80 "$dir/build.log" >&2
    die "building $dir failed (full log: $REPO/$dir/build.log)"
  fi
  log "$dir built in $((SECONDS - start))s"
  if [[ $kind == asan ]]; then # the staged package: sources from python/, _core from this build
    local stage=$dir/stage/llmfailover
    mkdir -p "$stage"
    (cd python/llmfailover && find . -name '_core*.so' -prune -o -name __pycache__ -prune -o -type f -print) |
      while read -r f; do mkdir -p "$stage/$(dirname "$f")" && cp -p "python/llmfailover/$f" "$stage/$f"; done
    # The editable install of build/py puts an import hook first in sys.meta_path, ahead of
    # PYTHONPATH; sitecustomize runs after the .pth files and takes that hook out again.
    cat >"$dir/stage/sitecustomize.py" <<'EOF'
import sys
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ScikitBuildRedirectingFinder"]
EOF
  fi
}

skip_regex() { # entries -> one alternation (for ctest -E), "" when none
  local IFS='|'
  echo "$*"
}

run_ctest() { # kind junit skips...
  local kind=$1 junit=$2
  shift 2
  build "$kind" || return 1
  local exclude=() re
  re=$(skip_regex "$@")
  [[ -n $re ]] && exclude=(-E "$re") && log "skipping known findings: $re"
  local wrap=()
  # TSan (clang 14) cannot map its shadow with a high-entropy ASLR (vm.mmap_rnd_bits > 28).
  [[ $kind == tsan && $(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) -gt 28 ]] && wrap=(setarch "$(uname -m)" -R)
  log "ctest in build/$kind"
  # --repeat until-pass:2: a test that fails once (the real-time router tests, slowed 2-10x by
  # the sanitizer on a loaded machine) runs once more; the log keeps its first failure.
  "${wrap[@]}" ctest --test-dir "build/$kind" --output-on-failure -j2 --no-tests=error --timeout 300 \
    --repeat until-pass:2 ${junit:+--output-junit "$REPO/$junit"} "${exclude[@]}"
}

run_asan_pytest() { # junit
  local junit=$1
  build asan || return 1
  local runtime files=() deselect=()
  runtime=$("$CXX" -print-file-name=libclang_rt.asan-x86_64.so)
  [[ -f $runtime ]] || die "ASan runtime not found ($runtime): install libclang-rt-14-dev"
  shopt -s nullglob
  for g in "${ASAN_PYTEST_GLOBS[@]}"; do for f in $g; do [[ -e $f ]] && files+=("$f"); done; done
  shopt -u nullglob
  for id in "${ASAN_PYTEST_SKIP[@]}"; do deselect+=(--deselect "${id%% *}"); done
  local env=(LD_PRELOAD="$runtime" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 PYTHONPATH="$REPO/build/asan/stage"
             PYTHONMALLOC=malloc LLMFAILOVER_REQUIRE_SDKS=1)
  # The staged package must be the one imported, not the editable install of build/py.
  local where
  where=$(env "${env[@]}" "$PY" -c 'import llmfailover._core as c; print(c.__file__)') ||
    die "the ASan _core does not import"
  [[ $where == "$REPO/build/asan/stage/"* ]] || die "python imported $where, not the staged ASan build"
  log "pytest (ASan+UBSan _core): ${files[*]}"
  env "${env[@]}" "$PY" -m pytest "${files[@]}" -q -rs -p no:cacheprovider --timeout 600 \
    ${junit:+--junitxml="$junit"} "${deselect[@]}"
}

# Each target for FUZZ_SECONDS on a scratch copy of its seeds; a crash fails the step and leaves
# the input in build/fuzz-smoke/<target>/ (add it to fuzz/corpus once fixed).
run_fuzz_smoke() { # junit
  local junit=$1 seconds=${FUZZ_SECONDS:-12} failed=0 cases=()
  build asan || return 1
  for t in "${FUZZ_TARGETS[@]}"; do
    local work=build/fuzz-smoke/$t start=$SECONDS rc line
    rm -rf "$work" && mkdir -p "$work/corpus"
    log "fuzz $t for ${seconds}s"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 build/asan/fuzz/$t "$work/corpus" "fuzz/corpus/$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/" >"$work/log" 2>&1
    rc=$?
    # the last count: a run that crashed prints its final stats twice
    line=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' | tail -n 1)
    echo "    $t: rc=$rc, ${line:-?} executions in $((SECONDS - start))s"
    if [[ $rc != 0 ]]; then
      failed=1
      grep -E 'ERROR|SUMMARY|property violated|Test unit written' "$work/log" | head -n 8
    fi
    cases+=("$t $((SECONDS - start)) $rc ${line:-0}")
  done
  [[ -n $junit ]] && "$PY" - "$junit" "${cases[@]}" <<'EOF'
import sys
from xml.sax.saxutils import quoteattr
out, cases = sys.argv[1], [c.split() for c in sys.argv[2:]]
with open(out, "w") as f:
    bad = sum(rc != "0" for _, _, rc, _ in cases)
    f.write(f'<testsuite name="fuzz-smoke" tests="{len(cases)}" failures="{bad}">\n')
    for name, secs, rc, execs in cases:
        f.write(f'<testcase name={quoteattr(name + " (" + execs + " runs)")} time="{secs}">')
        if rc != "0":
            f.write(f'<failure message={quoteattr(f"libFuzzer exited {rc}; see build/fuzz-smoke/{name}/log")}/>')
        f.write("</testcase>\n")
    f.write("</testsuite>\n")
EOF
  return $failed
}

step=${1:-}
junit=${2:-}
case $step in
build) build "${2:?build asan|tsan}" ;;
asan-ctest) run_ctest asan "$junit" "${ASAN_CTEST_SKIP[@]%% *}" ;;
tsan-ctest) run_ctest tsan "$junit" "${TSAN_CTEST_SKIP[@]%% *}" ;;
asan-pytest) run_asan_pytest "$junit" ;;
fuzz-smoke) run_fuzz_smoke "$junit" ;;
*) die "usage: sanitize.sh asan-ctest|asan-pytest|tsan-ctest|fuzz-smoke [JUNIT] | build asan|tsan" ;;
esac
