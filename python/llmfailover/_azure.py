"""``AzureOpenAI`` and ``AsyncAzureOpenAI``: openai's Azure clients, on a provider="azure" Upstream.

Arguments and environment as openai-python's ``lib/azure.py``: ``api_version``
(``OPENAI_API_VERSION``), ``azure_endpoint`` (``AZURE_OPENAI_ENDPOINT``), ``azure_deployment``,
``api_key`` (``AZURE_OPENAI_API_KEY``, sent as ``api-key``), ``azure_ad_token``
(``AZURE_OPENAI_AD_TOKEN``) or ``azure_ad_token_provider`` (sent as ``Authorization: Bearer``).
The base URL is ``{endpoint}/openai[/deployments/{deployment}]``; without a deployment the engine
routes per-deployment paths by ``model``.
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Callable, Mapping, Optional

from ._async_client import AsyncClientMixin
from ._base import BaseClient
from ._client import ResourcesMixin, SyncClientMixin
from ._guard import check_url
from ._sentinels import is_given
from .errors import OpenAIError

__all__ = ["AzureOpenAI", "AsyncAzureOpenAI"]

_MISSING_KEY = "<missing API key>"


class _AzureBase(BaseClient):
    _provider = "azure"

    def __init__(
        self,
        *,
        api_version: Optional[str] = None,
        azure_endpoint: Optional[str] = None,
        azure_deployment: Optional[str] = None,
        api_key: Any = None,
        azure_ad_token: Optional[str] = None,
        azure_ad_token_provider: Optional[Callable[[], Any]] = None,
        base_url: Any = None,
        default_query: Optional[Mapping[str, object]] = None,
        **kwargs: Any,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get("AZURE_OPENAI_API_KEY")
        if azure_ad_token is None:
            azure_ad_token = os.environ.get("AZURE_OPENAI_AD_TOKEN")
        if api_key is None and azure_ad_token is None and azure_ad_token_provider is None:
            raise OpenAIError(
                "Missing credentials. Please pass one of `api_key`, `azure_ad_token`, "
                "`azure_ad_token_provider`, or the `AZURE_OPENAI_API_KEY` or `AZURE_OPENAI_AD_TOKEN` "
                "environment variables."
            )
        if api_version is None:
            api_version = os.environ.get("OPENAI_API_VERSION")
        if api_version is None:
            raise ValueError(
                "Must provide either the `api_version` argument or the `OPENAI_API_VERSION` environment variable"
            )
        if not is_given(base_url) or base_url is None:
            if azure_endpoint is None:
                azure_endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT")
            if azure_endpoint is None:
                raise ValueError(
                    "Must provide one of the `base_url` or `azure_endpoint` arguments, or the "
                    "`AZURE_OPENAI_ENDPOINT` environment variable"
                )
            check_url("azure_endpoint", azure_endpoint)
            base_url = f"{azure_endpoint.rstrip('/')}/openai"
            if azure_deployment is not None:
                check_url("azure_deployment", azure_deployment)
                base_url += f"/deployments/{azure_deployment}"
        elif azure_endpoint is not None:
            raise ValueError("base_url and azure_endpoint are mutually exclusive")
        self._api_version = api_version
        self._azure_endpoint = azure_endpoint
        self._azure_deployment = azure_deployment
        self._azure_ad_token = azure_ad_token
        self._azure_ad_token_provider = azure_ad_token_provider
        super().__init__(
            api_key=api_key if api_key is not None else _MISSING_KEY,
            base_url=base_url,
            default_query=default_query,
            **kwargs,
        )
        if self._azure_ad_token is not None or self._azure_ad_token_provider is not None:
            if api_key is None:
                self.api_key = ""
                self._upstream = self._make_upstream()

    @property
    def api_version(self) -> str:
        return self._api_version

    def _upstream_kwargs(self) -> dict[str, Any]:
        kw = super()._upstream_kwargs()
        kw["api_version"] = self._api_version
        return kw

    def _copy_kwargs(self) -> dict[str, Any]:
        kw = super()._copy_kwargs()
        kw.update(
            api_key=kw["api_key"] or None,  # token-only clients hold no key
            api_version=self._api_version,
            azure_ad_token=self._azure_ad_token,
            azure_ad_token_provider=self._azure_ad_token_provider,
        )
        return kw

    def _auth_headers(self, key: str) -> list[tuple[str, str]]:
        return [("api-key", key)]

    def _token_headers(self, token: Optional[str]) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {token}")] if token else []

    def _sync_auth(self) -> list[tuple[str, str]]:
        token = self._azure_ad_token_provider() if self._azure_ad_token_provider else self._azure_ad_token
        return super()._sync_auth() + self._token_headers(token)

    async def _async_auth(self) -> list[tuple[str, str]]:
        token = self._azure_ad_token_provider() if self._azure_ad_token_provider else self._azure_ad_token
        if inspect.isawaitable(token):
            token = await token
        return await super()._async_auth() + self._token_headers(token)


class AzureOpenAI(SyncClientMixin, ResourcesMixin, _AzureBase):
    """Drop-in for ``openai.AzureOpenAI``."""

    _is_async = False


class AsyncAzureOpenAI(AsyncClientMixin, ResourcesMixin, _AzureBase):
    """Drop-in for ``openai.AsyncAzureOpenAI``."""
