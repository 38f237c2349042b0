#!/usr/bin/env bash
# Runs libFuzzer targets for a long time (the test command runs each one for 12 s only).
#
#   bash scripts/fuzz.sh TARGET|all [SECONDS=300] [extra libFuzzer flags...]
#
# TARGET: fuzz_sse, fuzz_eventstream, fuzz_http_response, fuzz_provider, fuzz_config (fuzz/README.md).
# Builds build/asan first (scripts/sanitize.sh). Seeds are read from fuzz/corpus/TARGET; new inputs
# are kept in build/fuzz-corpus/TARGET across runs; a crash stops the run and is written there
# (crash-*, leak-*, timeout-*, oom-*). Prints, per target, the executions run and exec/s.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL=(fuzz_sse fuzz_eventstream fuzz_http_response fuzz_provider fuzz_config)
target=${1:?usage: scripts/fuzz.sh TARGET|all [SECONDS] [libFuzzer flags]}
seconds=${2:-300}
shift $(($# >= 2 ? 2 : 1))
if [[ $target == all ]]; then targets=("${ALL[@]}"); else targets=("$target"); fi
for t in "${targets[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${ALL[*]}, all)" >&2; exit 2; }
done

bash scripts/sanitize.sh build asan || exit 1
status=0
for t in "${targets[@]}"; do
  work=build/fuzz-corpus/$t
  mkdir -p "$work"
  echo "==> fuzz: $t for ${seconds}s (corpus $work, seeds fuzz/corpus/$t)"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build/asan/fuzz/"$t" "$work" "fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" "$@" >"$work.log" 2>&1
  rc=$?
  runs=$(grep -Eo 'number_of_executed_units: *[0-9]+' "$work.log" | grep -Eo '[0-9]+$')
  rate=$(grep -Eo 'average_exec_per_sec: *[0-9]+' "$work.log" | grep -Eo '[0-9]+$')
  echo "    $t: ${runs:-?} executions, ${rate:-?} exec/s, corpus $(ls "$work" | wc -l) inputs, exit $rc (log: $work.log)"
  if [[ $rc != 0 ]]; then
    status=1
    grep -E 'ERROR|SUMMARY|property violated|Test unit written|^ *#[0-9]+ ' "$work.log" | head -n 20
  fi
done
exit $status
