"""bench/run.py's chart (matplotlib PNG) of one run's results."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any, Callable

import peers

COLORS = {
    "http.client": "#d08c2a",
    "llmfailover": "#2a7ab0",
    "llmfailover-routed": "#5aa0d0",
    "llmfailover-open-circuit": "#9cc8e8",
    "openai": "#999999",
    "litellm": "#b05a7a",
    "portkey": "#6a9a4a",
}
SHORT = {
    "http.client": "http.client",
    "llmfailover": "llmf",
    "llmfailover-routed": "llmf\nrouted",
    "llmfailover-open-circuit": "llmf\nopen circuit",
    "openai": "openai",
    "litellm": "litellm",
    "portkey": "portkey",
}


def _num(v: Any) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _bars(ax: Any, labels: list[str], values: list[Any], colors: list[str], title: str, unit: str, log: bool) -> None:
    vals = [_num(v) for v in values]
    ax.bar(range(len(vals)), vals, color=colors)
    ax.set_xticks(range(len(vals)), labels, fontsize=7)
    for i, v in enumerate(vals):
        ax.text(i, v, "n/a" if not v else f"{v:,.0f}" if v >= 100 else f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    if log and any(vals):
        ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(unit, fontsize=8)


def chart(results: list[dict[str, Any]], path: Path, quick: bool, find: Callable[..., dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    own = ["http.client", "llmfailover", "llmfailover-routed", "llmfailover-open-circuit"]
    ax = axes[0][0]
    width = 0.8 / len(own)
    for i, c in enumerate(own):
        vals = [_num(peers.summary(results, c, p).get("p50_us")) for p in peers.PLACEMENTS]
        ax.bar([x + i * width for x in range(3)], vals, width, color=COLORS[c], label=SHORT[c].replace("\n", " "))
    ax.set_xticks([x + 0.4 - width / 2 for x in range(3)], list(peers.PLACEMENTS), fontsize=8)
    ax.set_title("Sequential p50 by placement (median of rounds; lower is better)", fontsize=9)
    ax.set_ylabel("µs", fontsize=8)
    ax.legend(fontsize=7)

    ax = axes[0][1]
    for i, c in enumerate(own[:2]):
        vals = [_num(peers.summary(results, c, p).get("cpu_us")) for p in peers.PLACEMENTS]
        ax.bar([x + i * 0.4 for x in range(3)], vals, 0.4, color=COLORS[c], label=SHORT[c])
    ax.set_xticks([x + 0.2 for x in range(3)], list(peers.PLACEMENTS), fontsize=8)
    ax.set_title("CPU per sequential request, all threads (lower is better)", fontsize=9)
    ax.set_ylabel("µs", fontsize=8)
    ax.legend(fontsize=7)

    everyone = [c for c in peers.PLACED_CLIENTS if peers.summary(results, c, "free")]
    _bars(
        axes[0][2],
        [SHORT[c] for c in everyone],
        [peers.summary(results, c, "free").get("p50_us") for c in everyone],
        [COLORS[c] for c in everyone],
        "Sequential p50 with peers, free placement (log)",
        "µs",
        log=True,
    )
    a = ["llmfailover", "openai", "litellm"]
    _bars(
        axes[1][0],
        [SHORT[c] for c in a],
        [find(results, kind="async", client=c, inflight=256).get("rps") for c in a],
        [COLORS[c] for c in a],
        "Async throughput, 256 in flight (log; higher is better)",
        "req/s",
        log=True,
    )
    s = ["http.client", "llmfailover", "openai"]
    labels, vals, colors = [], [], []
    for key, what in (("cpu_per_chunk_us", "CPU/chunk"), ("ttfc_p50_us", "1st chunk")):
        for c in s:
            labels.append(f"{SHORT[c]}\n{what}")
            vals.append(find(results, kind="stream", client=c).get(key))
            colors.append(COLORS[c])
    _bars(axes[1][1], labels, vals, colors, "Streaming: CPU per chunk, time to first chunk (log)", "µs", log=True)
    labels, vals, colors = [], [], []
    for c in ("llmfailover", "openai"):
        for t in (1, 8):
            labels.append(f"{SHORT[c]}\n{t} thr")
            vals.append(find(results, kind="threads", client=c, threads=t).get("rps"))
            colors.append(COLORS[c])
    _bars(axes[1][2], labels, vals, colors, "Sync client shared by 1 vs 8 threads", "req/s", log=False)
    fig.suptitle(
        f"llmfailover benchmark — {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}{' (quick)' if quick else ''}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
