#!/usr/bin/env bash
# Idempotent set-up for a developer machine or a fresh CI clone (Debian 12).
#
#   bash scripts/setup.sh
#
# 1. Debian packages the build and the end-to-end tests need (only the missing ones; one
#    `apt-get update`, only if something is missing).
# 2. .venv with the build and test dependencies (pybind11, scikit-build-core, the `test` extra).
# 3. Steady (@stdy/cli, the OpenAPI validator of tests/py/test_conformance.py) into .cache/npm-tools.
# 4. llmfailover itself, editable and without build isolation, into a fixed build dir (build/py),
#    so a re-run only recompiles what changed (Ninja + ccache). The GoogleTest binary is built
#    there too: `ctest --test-dir build/py`.
#
# Environment: CMAKE_BUILD_PARALLEL_LEVEL (default 2), CCACHE_DIR (default ~/.cache/ccache),
# LLMF_SKIP_BUILD=1 (everything but step 4), LLMF_UNPINNED=1 (newest PyPI releases instead of
# the versions pinned in constraints.txt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

STEADY_VERSION=0.22.2 # keep in sync with tests/py/_servers.py
DEB_PACKAGES=(libboost1.81-dev libssl-dev nlohmann-json3-dev libgtest-dev cmake ninja-build g++ ccache
              nginx-light openssl curl
              clang-14 libclang-rt-14-dev # clang + compiler-rt: libFuzzer and the sanitizer builds (scripts/sanitize.sh)
              clang-format-14 clang-tidy-14 # scripts/lint.sh (ruff, mypy, pybind11-stubgen: the test extra)
              redis-server)               # the Redis tests (batch jobs, cache, shared state; plain and TLS)
# hiredis (the Redis client of cpp/src/state) is vendored with its TLS part: third_party/hiredis.
BUILD_DIR=build/py

log() { echo "==> $*"; }
die() {
  echo "setup.sh: ERROR: $*" >&2
  exit 1
}
trap 'echo "setup.sh: ERROR: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root for: $* (not root, and sudo is not installed)"
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --- 1. Debian packages -----------------------------------------------------------------------
command -v dpkg-query >/dev/null || die "this script expects Debian/Ubuntu (dpkg-query not found)"
command -v python3 >/dev/null || DEB_PACKAGES+=(python3 python3-venv)
command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null && DEB_PACKAGES+=(python3-venv)
command -v npm >/dev/null || DEB_PACKAGES+=(nodejs npm)

missing=()
for p in "${DEB_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || die "apt-get update failed"
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed for: ${missing[*]}"
else
  log "Debian packages present (${#DEB_PACKAGES[@]})"
fi

# --- 2. virtualenv and Python dependencies ----------------------------------------------------
PY=.venv/bin/python
if [[ -x $PY ]] && ! $PY -c 'import sys' 2>/dev/null; then
  log "removing broken .venv (its interpreter no longer runs)"
  rm -rf .venv
fi
if [[ ! -x $PY ]]; then
  log "creating .venv with $(python3 --version)"
  python3 -m venv .venv || die "python3 -m venv failed (is python3-venv installed?)"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# Build requirements + the `test` extra, read from pyproject.toml so there is one list.
mapfile -t PY_DEPS < <($PY - <<'EOF'
import tomllib
data = tomllib.load(open("pyproject.toml", "rb"))
deps = list(data["build-system"]["requires"])
deps += data["project"].get("dependencies", [])
deps += data["project"]["optional-dependencies"]["test"]
print("\n".join(deps))
EOF
)
# Pinned by constraints.txt (what CI tests); LLMF_UNPINNED=1 takes the newest releases instead.
if [[ ${LLMF_UNPINNED:-0} == 1 ]]; then
  PIP_PIN=(--upgrade)
else
  PIP_PIN=(-c constraints.txt)
fi
deps_stamp=.venv/.llmf-deps-$({ printf '%s\n' "${PY_DEPS[@]}" "${PIP_PIN[@]}"; cat constraints.txt; } | sha256sum | cut -c1-16)
if [[ -f $deps_stamp ]]; then
  log "Python dependencies up to date (${#PY_DEPS[@]} requirements)"
else
  log "installing Python dependencies: ${PY_DEPS[*]}"
  $PY -m pip install -q --upgrade pip || die "could not upgrade pip in .venv"
  $PY -m pip install -q "${PIP_PIN[@]}" "${PY_DEPS[@]}" || die "pip install of the build/test dependencies failed"
  # instructor caps jiter below what openai needs (pyproject.toml says why): without its pins.
  $PY -m pip install -q --no-deps "${PIP_PIN[@]}" instructor || die "pip install of instructor failed"
  rm -f .venv/.llmf-deps-*
  touch "$deps_stamp"
fi

# --- 3. npm tools (Steady) ----------------------------------------------------------------------
NPM_TOOLS=.cache/npm-tools
steady_pkg=$NPM_TOOLS/node_modules/@stdy/cli/package.json
have_steady=$(node -p "require('./$steady_pkg').version" 2>/dev/null || true)
if [[ $have_steady == "$STEADY_VERSION" ]]; then
  log "Steady $STEADY_VERSION present in $NPM_TOOLS"
else
  log "installing Steady (@stdy/cli@$STEADY_VERSION) into $NPM_TOOLS"
  mkdir -p "$NPM_TOOLS"
  npm install --prefix "$NPM_TOOLS" --no-audit --no-fund --loglevel=error "@stdy/cli@$STEADY_VERSION" ||
    die "npm install @stdy/cli@$STEADY_VERSION failed"
fi
"$NPM_TOOLS/node_modules/.bin/steady" --version >/dev/null 2>&1 ||
  die "Steady is installed but does not run: $NPM_TOOLS/node_modules/.bin/steady --version"

# --- 4. llmfailover, editable, incremental ------------------------------------------------------
if [[ ${LLMF_SKIP_BUILD:-0} == 1 ]]; then
  log "LLMF_SKIP_BUILD=1: not building llmfailover"
  exit 0
fi
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO} # paths relative to the repo: clones share hits
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
mkdir -p "$CCACHE_DIR" "$BUILD_DIR"
build_log=$BUILD_DIR/setup-build.log
log "building llmfailover into $BUILD_DIR (-j$CMAKE_BUILD_PARALLEL_LEVEL, ccache in $CCACHE_DIR; log: $build_log)"
start=$SECONDS
if ! $PY -m pip install -v --no-build-isolation --no-deps -e . \
  -Cbuild-dir="$BUILD_DIR" -Ccmake.define.LLMFAILOVER_BUILD_TESTS=ON \
  -Ccmake.define.LLMFAILOVER_BUILD_BENCH=ON -Ccmake.define.LLMFAILOVER_WERROR=ON >"$build_log" 2>&1; then
  echo "---- last 150 lines of $build_log ----" >&2
  tail -n 150 "$build_log" >&2
  die "building llmfailover failed (full log: $REPO/$build_log)"
fi
log "built in $((SECONDS - start))s; $(grep -cE '^ *\[[0-9]+/[0-9]+\] (Building|Linking)' "$build_log" || true) build steps ran"
$PY -c 'import llmfailover._core' 2>/dev/null || die "llmfailover._core does not import after the build"
log "set-up done"
