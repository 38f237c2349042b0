"""Refreshes the bundled price table (python/llmfailover/data/model_prices.json) from LiteLLM's
``model_prices_and_context_window.json`` (MIT licence, https://github.com/BerriAI/litellm).

    python scripts/refresh_prices.py                 # the newest litellm wheel from PyPI (pip download)
    python scripts/refresh_prices.py --from FILE     # a copy of the JSON you already have

Only what pricing needs is kept (USD per token: input, output, cached input, reasoning; the
provider), for chat, completion, responses and embedding models with an input or output price.
The licence beside it (data/LICENSE-litellm) is LiteLLM's; keep it when refreshing.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "python" / "llmfailover" / "data" / "model_prices.json"
MEMBER = "litellm/model_prices_and_context_window_backup.json"
FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cached_input",
    "output_cost_per_reasoning_token": "reasoning",
    "litellm_provider": "provider",
}
MODES = {None, "chat", "completion", "responses", "embedding"}


def from_pypi() -> tuple[dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "litellm", "--no-deps", "-q", "-d", tmp], check=True)
        wheel = glob.glob(f"{tmp}/litellm-*.whl")[0]
        version = Path(wheel).name.split("-")[1]
        with zipfile.ZipFile(wheel) as z:
            return json.loads(z.read(MEMBER)), f"litellm {version} (PyPI wheel, {MEMBER})"


def trim(table: dict) -> dict:
    out = {}
    for name, entry in sorted(table.items()):
        if name == "sample_spec" or not isinstance(entry, dict) or entry.get("mode") not in MODES:
            continue
        kept = {short: entry[key] for key, short in FIELDS.items() if key in entry}
        prices = {k: v for k, v in kept.items() if k != "provider"}
        if not any(isinstance(v, (int, float)) for v in prices.values()):
            continue
        out[name] = kept
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="path", help="a local model_prices_and_context_window.json")
    args = ap.parse_args()
    if args.path:
        table, source = json.loads(Path(args.path).read_text()), f"LiteLLM {Path(args.path).name}"
    else:
        table, source = from_pypi()
    models = trim(table)
    doc = {
        "_source": {
            "from": source,
            "licence": "MIT (data/LICENSE-litellm)",
            "fetched": datetime.date.today().isoformat(),
            "units": "USD per token",
        },
        "models": models,
    }
    OUT.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{OUT}: {len(models)} models from {source}")


if __name__ == "__main__":
    main()
