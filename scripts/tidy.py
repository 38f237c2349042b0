#!/usr/bin/env python3
"""clang-tidy over cpp/src and cpp/bindings (the clang-tidy step of scripts/lint.sh).

    python3 scripts/tidy.py [--build build/py] [--base REF] [--jobs N] [--no-cache] [FILE ...]

Translation units and their flags come from BUILD/compile_commands.json (scripts/setup.sh writes
it); the check profile is .clang-tidy. A run is incremental: a unit found clean is remembered
under a key made of the clang-tidy version, .clang-tidy, the unit's compile command, and the
contents of the unit and of every repository header it includes (Ninja's dependency log,
`ninja -t deps`), so only units whose code or headers changed are checked again. The cache lives in
$LLMF_TIDY_CACHE (default ~/.cache/llmfailover/clang-tidy, next to ccache's, so a CI machine with
a warm ccache has a warm cache too).

--base REF limits the run to units that REF..worktree changed (the unit itself or a repository
header it includes), for a quick check of a branch. Findings are printed once each (a header's
finding is seen by every unit that includes it) and the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIRS = ("cpp/src/", "cpp/bindings/")
TIDY = os.environ.get("LLMF_CLANG_TIDY", "clang-tidy-14")
# The compile commands are GCC's: clang, which clang-tidy parses with, does not know some of their
# flags (-Wno-restrict, pybind11's -fno-fat-lto-objects); those are not findings in our code.
CLANG_ONLY_ARGS = ("--extra-arg=-Wno-unknown-warning-option", "--extra-arg=-Wno-ignored-optimization-argument")
# "path:line:col: warning: text [check]" and its notes/code lines up to the next diagnostic.
DIAG = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): (.*)$")


def units(build: Path) -> dict[str, dict]:
    """Repository-relative source path -> its compile_commands entry, for cpp/src and cpp/bindings."""
    db = json.loads((build / "compile_commands.json").read_text())
    out = {}
    for entry in db:
        path = Path(entry["directory"], entry["file"]).resolve()
        try:
            rel = path.relative_to(REPO).as_posix()
        except ValueError:
            continue
        if rel.startswith(DIRS):
            out[rel] = entry
    return out


def header_deps(build: Path) -> dict[str, list[str]]:
    """Source path (relative) -> the repository files it includes, from Ninja's dependency log."""
    try:
        text = subprocess.run(
            ["ninja", "-C", str(build), "-t", "deps"], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    deps: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace():  # "obj: #deps N, deps mtime ..."
            current = []
            continue
        name = line.strip()
        if not name:
            continue
        path = (build / name).resolve() if not os.path.isabs(name) else Path(name)
        try:
            rel = path.relative_to(REPO).as_posix()
        except ValueError:
            continue  # a system header
        if rel.startswith(DIRS) and rel.endswith((".cpp", ".cc")) and not current:
            deps[rel] = current  # the first dependency of an object is its source
        current.append(rel)
    return deps


def tidy_version() -> str:
    return subprocess.run([TIDY, "--version"], check=True, capture_output=True, text=True).stdout


def cache_key(rel: str, entry: dict, deps: list[str], salt: str) -> str:
    h = hashlib.sha256(salt.encode())
    h.update(entry.get("command", " ".join(entry.get("arguments", []))).replace(str(REPO), "@").encode())
    for name in sorted({rel, *deps}):
        h.update(name.encode())
        try:
            h.update((REPO / name).read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def changed_since(base: str) -> set[str]:
    names = subprocess.run(
        ["git", "diff", "--name-only", base, "--"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    return set(names) | set(untracked)


def run_one(rel: str, build: Path) -> tuple[str, int, str, float]:
    start = time.monotonic()
    proc = subprocess.run(
        [TIDY, "-p", str(build), "--quiet", *CLANG_ONLY_ARGS, str(REPO / rel)], cwd=REPO, capture_output=True, text=True
    )
    return rel, proc.returncode, proc.stdout, time.monotonic() - start


def findings(output: str) -> list[str]:
    """Each diagnostic with its notes and code lines, as one block, paths relative to the repo."""
    blocks: list[list[str]] = []
    for line in output.splitlines():
        m = DIAG.match(line)
        if m:
            blocks.append([])
        if blocks:
            blocks[-1].append(line.replace(f"{REPO}/", ""))
    return ["\n".join(b) for b in blocks]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/py", help="build dir with compile_commands.json")
    ap.add_argument("--base", help="only units changed since this git ref (with their headers)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("LLMF_TIDY_JOBS", os.cpu_count() or 2)))
    ap.add_argument("--no-cache", action="store_true", help="check every unit, remember nothing")
    ap.add_argument("files", nargs="*", help="only these sources (repository-relative)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, in a log too

    build = (REPO / args.build).resolve()
    if not (build / "compile_commands.json").is_file():
        print(f"tidy: {build}/compile_commands.json is missing (run scripts/setup.sh)", file=sys.stderr)
        return 2
    table = units(build)
    deps = header_deps(build)
    selected = sorted(table)
    if args.files:
        selected = [f for f in selected if f in set(args.files)]
    if args.base:
        changed = changed_since(args.base)
        selected = [f for f in selected if f in changed or changed.intersection(deps.get(f, ()))]

    cache_dir = Path(os.environ.get("LLMF_TIDY_CACHE", Path.home() / ".cache/llmfailover/clang-tidy"))
    salt = tidy_version() + (REPO / ".clang-tidy").read_text() + " ".join(CLANG_ONLY_ARGS)
    keys = {f: cache_key(f, table[f], deps.get(f, []), salt) for f in selected}
    # Without a dependency list (no Ninja log) a unit's headers are unknown: never trust the cache.
    todo = [f for f in selected if args.no_cache or f not in deps or not (cache_dir / keys[f]).exists()]
    print(
        f"tidy: {len(selected)} units selected"
        + (f" (changed since {args.base})" if args.base else "")
        + f", {len(selected) - len(todo)} clean in the cache, checking {len(todo)} with {args.jobs} jobs"
    )
    seen: set[str] = set()
    failed_units = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for rel, rc, out, secs in pool.map(lambda f: run_one(f, build), todo):
            blocks = findings(out)
            new = [b for b in blocks if b not in seen]
            seen.update(new)
            if rc != 0 or blocks:
                failed_units += 1
                print(f"  {rel}: {len(blocks)} finding(s) ({secs:.1f}s)")
                for b in new:
                    print(b)
                if rc != 0 and not blocks:
                    print(out or f"clang-tidy exited {rc}")
            else:
                if not args.no_cache and rel in deps:
                    cache_dir.mkdir(parents=True, exist_ok=True)
                    (cache_dir / keys[rel]).write_text(rel + "\n")
                print(f"  {rel}: clean ({secs:.1f}s)")
    if failed_units:
        print(f"tidy: {len(seen)} finding(s) in {failed_units} unit(s)")
        return 1
    print("tidy: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
