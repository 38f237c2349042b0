"""What answers cost: a bundled price table, each deployment's prices, and a call's ``Cost``.

The table is LiteLLM's ``model_prices_and_context_window.json`` (MIT licence, kept beside it as
``data/LICENSE-litellm``; https://github.com/BerriAI/litellm), trimmed to the prices
(``scripts/refresh_prices.py`` refreshes it). A deployment's own ``price: {input, output}`` in
the config (USD per million tokens) overrides the table. The native router prices every answer
it serves (cpp/include/llmfailover/metrics.hpp): input, cached input, output and reasoning
tokens, each at its own price when the table has one.

``route_info(result).cost`` is a ``Cost``: ``usd`` is None when the price or the usage is
unknown, and ``unknown_reason`` says why (never 0 presented as a price). Attempts the provider
billed but whose answer was not used (a stream cut after its first token) are ``waste_usd``,
counted apart from the answer's cost (an estimate: the prompt and the streamed characters / 4).
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Any, Optional

__all__ = ["Cost", "prices_for", "price_table", "price_table_source", "install_prices"]

# The table's key prefix per provider name of the config (LiteLLM's provider routes).
_PREFIXES = {
    "openai": ("", "openai/"),
    "azure": ("azure/", ""),
    "anthropic": ("", "anthropic/"),
    "gemini": ("gemini/", ""),
    "vertex": ("vertex_ai/", ""),
    "bedrock": ("", "bedrock/"),
    "cohere": ("", "cohere/", "cohere_chat/"),
    "mistral": ("mistral/", ""),
    "groq": ("groq/",),
    "together": ("together_ai/",),
    "openrouter": ("openrouter/",),
    "deepseek": ("deepseek/", ""),
    "fireworks": ("fireworks_ai/accounts/fireworks/models/", "fireworks_ai/"),
    "xai": ("xai/",),
}


@dataclass(frozen=True)
class Cost:
    """A routed call's cost in USD. ``usd`` is the answer's total (None: unknown, see
    ``unknown_reason``); ``input_usd``/``cached_usd``/``output_usd``/``reasoning_usd`` its parts;
    the token counts are the serving attempt's (``usage_known`` False: estimated from the text,
    for a stream without a usage chunk); ``waste_usd`` what failed attempts were billed."""

    usd: Optional[float]
    input_usd: Optional[float] = None
    cached_usd: Optional[float] = None
    output_usd: Optional[float] = None
    reasoning_usd: Optional[float] = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    usage_known: bool = False
    deployment: str = ""
    unknown_reason: str = ""
    waste_usd: float = 0.0
    wasted_attempts: int = 0

    @classmethod
    def from_native(cls, c: Any) -> "Cost":
        b, u = c.cost, c.usage
        return cls(
            usd=None if b is None else b.total,
            input_usd=None if b is None else b.input,
            cached_usd=None if b is None else b.cached,
            output_usd=None if b is None else b.output,
            reasoning_usd=None if b is None else b.reasoning,
            input_tokens=u.input,
            output_tokens=u.output,
            cached_tokens=u.cached,
            reasoning_tokens=u.reasoning,
            usage_known=c.usage_known,
            deployment=c.deployment,
            unknown_reason=c.unknown_reason,
            waste_usd=c.waste_usd,
            wasted_attempts=c.wasted_attempts,
        )

    def __str__(self) -> str:
        what = f"${self.usd:.6f}" if self.usd is not None else f"unknown ({self.unknown_reason})"
        waste = f", waste ${self.waste_usd:.6f}" if self.waste_usd else ""
        return f"{what}{waste}"


@functools.lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    text = resources.files("llmfailover").joinpath("data/model_prices.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def price_table() -> dict[str, dict[str, Any]]:
    """The bundled table: model key -> {input, output, cached_input, reasoning, provider} (USD per token)."""
    return _load()["models"]  # type: ignore[no-any-return]


def price_table_source() -> dict[str, str]:
    """Where the bundled table came from (version, licence, date)."""
    return dict(_load()["_source"])


def _number(x: Any) -> Optional[float]:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 else None


def prices_for(provider: str, model: str) -> Optional[dict[str, Any]]:
    """The table's prices for a deployment's provider and model (USD per token), with the key
    they were found under as ``source``; None when the table does not know the model."""
    table = price_table()
    for prefix in _PREFIXES.get(provider, ("",)) + ("",):
        entry = table.get(prefix + model)
        if entry is not None and _number(entry.get("input")) is not None and _number(entry.get("output")) is not None:
            out: dict[str, Any] = {k: _number(entry.get(k)) for k in ("input", "output", "cached_input", "reasoning")}
            out["source"] = "litellm:" + prefix + model
            return out
    return None


def install_prices(router: Any, deployments: list[dict[str, Any]]) -> Any:
    """Gives the native router the table's prices of every deployment without a price of its own
    in the config (the config's price is already there): for the cost of answers, the budgets and
    the ``lowest_cost`` balancer alike. When the config has ``budgets``, warns once about the
    deployments with no known price (their spend cannot be counted). Returns the router."""
    from . import _native

    core = _native.core()
    unpriced = []
    for d in deployments:
        price = d.get("price") or {}
        if price.get("input") or price.get("output"):
            continue  # the config's own price stands
        found = prices_for(str(d.get("provider", "")), str(d.get("model", "")))
        if found is not None:
            router.set_prices(str(d["id"]), core.Prices(**found))
        else:
            unpriced.append(str(d["id"]))
    if unpriced and router.metrics().budgets:
        warnings.warn(
            f"no price known for deployment(s) {', '.join(unpriced)}: their spend is not counted against "
            "the budgets (give each a `price: {input, output}` in the config)",
            UserWarning,
            stacklevel=2,
        )
    return router
