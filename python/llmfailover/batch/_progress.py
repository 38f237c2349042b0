"""The batch progress bar: tqdm (https://tqdm.github.io), a widget in Jupyter, text elsewhere.

tqdm gives the rate and the ETA; the postfix adds failed requests, failovers, and the cost so far
(from the route info when the router knows prices, else the tokens used), and ``paused`` while
every target is down. Without tqdm installed the job runs without a bar.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Optional

__all__ = ["Progress"]


def _tqdm_class() -> Optional[type]:
    try:
        with warnings.catch_warnings():
            # In Jupyter without ipywidgets tqdm.auto warns and falls back to text: text is fine.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return None
    return tqdm  # type: ignore[no-any-return]


class Progress:
    def __init__(self, total: int, totals: Any, *, enabled: bool, desc: str = "batch") -> None:
        self._bar: Any = None
        self._paused = False
        cls = _tqdm_class() if enabled else None
        if cls is not None:
            self._bar = cls(
                total=total, initial=totals.finished, desc=desc, unit="req", dynamic_ncols=True, file=sys.stderr
            )
            self._set_postfix(totals, paused=False)

    def update(self, totals: Any, *, paused: bool) -> None:
        if self._bar is None:
            return
        step = totals.finished - self._bar.n
        self._set_postfix(totals, paused)
        if step > 0:
            self._bar.update(step)
        elif paused != self._paused:  # nothing finishes while paused: show it now
            self._bar.refresh()
        self._paused = paused

    def _set_postfix(self, totals: Any, paused: bool) -> None:
        parts = {"failed": totals.failed, "failovers": totals.failovers}
        if totals.cost is not None:
            parts["cost"] = f"${totals.cost:.4f}"
        else:
            parts["tokens"] = totals.tokens
        if paused:
            parts["state"] = "paused: no target up"
        self._bar.set_postfix(parts, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
