"""What the sync and async clients share: configuration, the native handles, request building.

A client holds a native ``Router`` (``_routing.RouterHandle``: io threads, connection pools) in
its ``_engine`` slot. A plain client's is a router of one group of one deployment with
openai-python's retries (plain.hpp), whose calls pass through: each carries the client's
``Upstream`` (URL and credentials), so ``with_options()``/``copy()`` build a new ``Upstream``
but share the router; only the client that created it closes it.

With ``config=`` the router is the config's and routes each call by its ``model`` (the group
name). ``_outcome`` turns a call's events into the result both drivers return.
"""

from __future__ import annotations

import inspect
import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import unquote

from . import _native, tracing
from ._exchange import Exchange
from ._guard import check_int, check_url, hide_userinfo, options_problem, request_problem
from ._http import Headers, Request, Response
from ._proxy import LlmFailoverWarning, http_client_options, proxy_options
from ._response import LegacyAPIResponse
from ._routing import (
    DEFAULT_MAX_CONNECTIONS,
    CallReport,
    FinishedCall,
    Hooks,
    RouterHandle,
    attach,
    captured_info,
    deadline_of,
    degraded_events,
    names_unknown_group,
    parse_overrides,
    synthetic_models,
    unknown_model,
)
from ._sentinels import NOT_GIVEN, is_given
from ._timeouts import DEFAULT_TIMEOUT, to_native
from .errors import APIConnectionError, OpenAIError

__all__ = ["BaseClient", "RequestSpec", "LlmFailoverWarning"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RETRIES = 2
_PER_REQUEST = ("extra_headers", "extra_query", "extra_body", "timeout")
_PER_REQUEST_NAMES = frozenset(_PER_REQUEST)
# Types whose values are never a "not given" sentinel (is_given() is True): checked by identity first.
_PLAIN = frozenset({str, int, float, bool, type(None), list, dict, tuple})


@dataclass
class RequestSpec:
    """One request as the engine takes it, plus how to turn the answer into a result."""

    method: str
    path: str
    body: Optional[bytes]
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    model: str
    timeout: Any  # float | Timeout-like | None, the per-request value or the client's
    stream: bool
    parse: Callable[[Response, bool], Any]  # (response, strict) -> the result
    chunk_cls: Any = None  # the class of a stream's items
    params: Optional[dict[str, Any]] = None  # the JSON body as a dict (what a degraded= callable gets)
    route: Optional[dict[str, Any]] = None  # extra_body["llmfailover"] as Router.send() keywords
    timeout_given: bool = False  # `timeout` came with the request (not the client's)
    trace: Any = None  # the routed call's span (llmfailover.tracing), when traced


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models, e.g. a returned message
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)) or hasattr(value, "__iter__"):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _pairs(mapping: Optional[Mapping[str, Any]]) -> list[tuple[str, str]]:
    if not mapping:
        return []
    return [(str(k), str(v)) for k, v in mapping.items() if v is not None and is_given(v)]


def _env_or(value: Any, name: str) -> Any:
    return os.environ.get(name) if value is None else value


class BaseClient:
    """Shared by ``OpenAI`` and ``AsyncOpenAI`` (and their Azure variants)."""

    _provider = "openai"
    _api_key_env = "OPENAI_API_KEY"
    _missing_key_message = (
        "The api_key client option must be set either by passing api_key to the client or by "
        "setting the OPENAI_API_KEY environment variable"
    )

    def __init__(
        self,
        *,
        api_key: Any = None,
        organization: Optional[str] = None,
        project: Optional[str] = None,
        base_url: Any = NOT_GIVEN,
        timeout: Any = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        http_client: Any = None,
        _strict_response_validation: bool = False,
        io_threads: int = 1,
        verify: bool = True,
        ca_file: Optional[str] = None,
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS,
        proxy: Any = None,
        trust_env: bool = True,
        config: Any = None,
        degraded: Optional[Callable[[Exception, dict[str, Any]], str]] = None,
        on_attempt: Optional[Callable[..., Any]] = None,
        on_retry: Optional[Callable[..., Any]] = None,
        on_failover: Optional[Callable[..., Any]] = None,
        on_breaker: Optional[Callable[..., Any]] = None,
        on_degraded: Optional[Callable[..., Any]] = None,
        _engine: Optional[RouterHandle] = None,
        **ignored: Any,
    ) -> None:
        routed = config is not None or (_engine is not None and _engine.routed)
        api_key = _env_or(api_key, self._api_key_env)
        if routed and api_key is None:
            api_key = ""  # deployments carry their own keys
        if not routed and (api_key is None or api_key == ""):
            raise OpenAIError(self._missing_key_message)
        if degraded is not None and not callable(degraded):
            raise TypeError(f"degraded must be callable, not {type(degraded).__name__}")
        self._degraded = degraded
        self._hooks = Hooks(on_attempt, on_retry, on_failover, on_breaker, on_degraded)
        self._api_key_provider: Optional[Callable[[], Any]] = api_key if callable(api_key) else None
        self.api_key: str = "" if callable(api_key) else str(api_key)
        self.organization = _env_or(organization, "OPENAI_ORG_ID")
        self.project = _env_or(project, "OPENAI_PROJECT_ID")
        if not is_given(base_url) or base_url is None:
            base_url = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        check_url("base_url", str(base_url))
        self._base_url = _with_trailing_slash(str(base_url))
        self.timeout = DEFAULT_TIMEOUT if not is_given(timeout) else timeout
        self.max_retries = _native.core().checked_max_retries(check_int("max_retries", max_retries))
        check_int("io_threads", io_threads)
        self._custom_headers = dict(default_headers or {})
        self._custom_query = dict(default_query or {})
        self._strict_response_validation = _strict_response_validation
        self._option_problem = options_problem(
            self.api_key, self.organization, self.project, _pairs(self._custom_headers)
        )
        for name in ignored:
            if name not in ("websocket_base_url", "webhook_secret", "_enforce_credentials"):
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
        self._init_options: dict[str, Any] = {
            "io_threads": io_threads,
            "verify": verify,
            "ca_file": ca_file,
            "max_connections_per_origin": max_connections_per_origin,
        }
        if _engine is None:  # a copy shares its engine, proxies included
            self._init_options.update(engine_proxy(proxy, trust_env, http_client))
        self._owns_engine = _engine is None
        if _engine is None:  # config None: a plain client's router (pass-through calls)
            _engine = RouterHandle(config, **self._init_options)
        self._engine = _engine
        self._upstream = self._make_upstream()
        self._urls: dict[tuple[str, str], str] = {}  # request URLs for errors and raw responses

    @property
    def _router(self) -> Optional[RouterHandle]:
        """The router handle of a client built with ``config=`` (None otherwise)."""
        engine = self._engine
        return engine if engine.routed else None

    def router_snapshot(self) -> list[dict[str, Any]]:
        """Every target (deployment x API key) now, one dict each: who it is (target, group,
        deployment, model, provider, key_index); its health (state, probe, ramp_step, cooling,
        share, failure_rate, slow_rate, available_in_ms); its balancing (strategy, weight,
        priority, pick_share, balancer_share, available, blocked_for_ms, ewma_ms, cost,
        in_flight, header_share); its caps and quotas (deployment_in_flight, max_concurrency,
        shed, rpm, tpm, requests_left, tokens_left, key_rpm, key_tpm, key_requests_left,
        key_tokens_left; -1 = no such limit). docs/balancing.md says what each means."""
        router = self._router
        if router is None:
            raise OpenAIError("router_snapshot() needs a client built with config=")
        if router.closed:
            raise RuntimeError("Cannot read the router, as the client has been closed.")
        return router.snapshot_rows()

    # --- configuration -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        check_url("base_url", str(url))
        self._base_url = _with_trailing_slash(str(url))
        self._upstream = self._make_upstream()
        self._urls = {}  # the cached URLs were the old base's

    @property
    def default_headers(self) -> dict[str, str]:
        return dict(self._custom_headers)

    @property
    def default_query(self) -> dict[str, object]:
        return dict(self._custom_query)

    def _upstream_kwargs(self) -> dict[str, Any]:
        refused = self._option_problem is not None  # every request raises it: send none of them
        return {
            "provider": self._provider,
            "base_url": self._base_url.rstrip("/"),
            "api_key": "" if refused else self.api_key,
            "organization": "" if refused else self.organization or "",
            "project": "" if refused else self.project or "",
            "default_headers": [] if refused else _pairs(self._custom_headers),
            "default_query": _pairs(self._custom_query),
        }

    def _make_upstream(self) -> Any:
        return _native.core().Upstream(**self._upstream_kwargs())

    def _copy_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key_provider or self.api_key,
            "organization": self.organization,
            "project": self.project,
            "base_url": self._base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self._custom_headers,
            "default_query": self._custom_query,
            "_strict_response_validation": self._strict_response_validation,
            "degraded": self._degraded,
            **self._hooks.as_kwargs(),
        }

    def copy(
        self,
        *,
        default_headers: Optional[Mapping[str, str]] = None,
        set_default_headers: Optional[Mapping[str, str]] = None,
        default_query: Optional[Mapping[str, object]] = None,
        set_default_query: Optional[Mapping[str, object]] = None,
        **changes: Any,
    ) -> Any:
        """A new client with some options changed, sharing this client's engine.

        ``default_headers``/``default_query`` are merged into the current ones;
        ``set_default_headers``/``set_default_query`` replace them (as in openai).
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("The `default_headers` and `set_default_headers` arguments are mutually exclusive")
        if default_query is not None and set_default_query is not None:
            raise ValueError("The `default_query` and `set_default_query` arguments are mutually exclusive")
        warn_copy_http_client(changes.pop("http_client", None))
        kwargs = self._copy_kwargs()
        kwargs.update({k: v for k, v in changes.items() if is_given(v) and v is not None})
        if "timeout" in changes and changes["timeout"] is None:
            kwargs["timeout"] = None  # explicit None: no time limit, as in openai
        kwargs["default_headers"] = (
            dict(set_default_headers)
            if set_default_headers is not None
            else {**self._custom_headers, **(default_headers or {})}
        )
        kwargs["default_query"] = (
            dict(set_default_query)
            if set_default_query is not None
            else {**self._custom_query, **(default_query or {})}
        )
        return type(self)(**kwargs, _engine=self._engine)

    with_options = copy

    # --- requests -----------------------------------------------------------------------------

    def _secrets(self, auth: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
        """What errors must not show: the static key and this request's credential headers (a
        callable ``api_key``'s key, an Azure AD token), with and without their "Bearer " prefix."""
        if not auth:  # a static key (every call of most clients)
            return (self.api_key,) if self.api_key else ()
        out = [self.api_key] if self.api_key else []
        for _name, value in auth:
            out.append(value)
            if value.startswith("Bearer "):
                out.append(value[len("Bearer ") :])
        return tuple(s for s in out if s)

    def _request_for(self, spec: RequestSpec) -> Request:
        if self._engine.routed:  # the target is chosen per attempt: name the group
            return Request(spec.method, f"llmfailover://{spec.model or 'router'}{spec.path}")
        key = (spec.path, spec.model)
        url = None if spec.query else self._urls.get(key)
        if url is None:
            url = hide_userinfo(self._upstream.url_for(spec.path, spec.query, spec.model))
            if not spec.query and len(self._urls) < 256:
                self._urls[key] = url
        return Request(spec.method, url)

    def _send(self, spec: RequestSpec, auth: list[tuple[str, str]], request: Request) -> Any:
        if self._engine.closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        problem = self._option_problem or request_problem(spec.headers, auth)
        if problem:  # as openai: h11 refuses the request, which surfaces as a connection error
            raise APIConnectionError(message=f"Connection error: {problem}.", request=request)
        engine = self._engine
        if engine.routed:
            return self._route(engine, spec, auth)
        return engine.router.send_plain(
            self._upstream,
            method=spec.method,
            path=spec.path,
            body=spec.body,
            headers=auth + spec.headers,
            query=spec.query,
            model=spec.model,
            timeouts=self._native_timeouts(spec.timeout),
            max_retries=self.max_retries,
            stream=spec.stream,
        )

    def _route(self, router: RouterHandle, spec: RequestSpec, auth: list[tuple[str, str]]) -> Any:
        if spec.method == "GET":  # models.list()/retrieve(): the configured groups, no upstream call
            name = spec.path[len("/models/") :] if spec.path.startswith("/models/") else None
            return FinishedCall(synthetic_models(router.config.groups, name and unquote(name)))
        if spec.model not in router.groups and names_unknown_group(router, spec.model, spec.params):
            return FinishedCall(unknown_model(spec.model, router.config.groups))
        given = spec.timeout_given or (self.timeout is not DEFAULT_TIMEOUT and self.timeout != DEFAULT_TIMEOUT)
        headers = auth + _pairs(self._custom_headers) + spec.headers if self._custom_headers else auth + spec.headers
        spec.trace = tracing.begin(spec.method, spec.path, spec.model, spec.params, headers)  # adds traceparent
        return router.send(
            spec,
            headers,
            _pairs(self._custom_query) + spec.query if self._custom_query else spec.query,
            deadline_of(spec.timeout) if given else None,
            auth[0][1] if auth else self.api_key,
        )

    def _outcome(
        self,
        spec: RequestSpec,
        call: Any,
        exchange: Exchange,
        *,
        raw: bool,
        started: float,
        make_stream: Callable[[Any, Exchange, Optional[CallReport]], Any],
    ) -> Any:
        """The result of a call whose head (streams) or whole answer has arrived, or its error.

        Routed calls: the result carries ``_llmfailover`` and an error ``.route``; the callbacks
        hear the outcome; a ``degraded=`` callable may answer instead of the error."""
        if not raw and not spec.stream:
            if not self._engine.routed:  # a plain client's answer, as below
                exc = exchange.failure()
                if exc is not None:
                    raise exc
                return spec.parse(exchange.response(), self._strict_response_validation)
            if (
                spec.trace is None
                and not self._hooks.any
                and not exchange.errc
                and (exchange.status or 0) < 400
                and (not spec.route or "tag" not in spec.route)
            ):
                # A routed answer nobody is told about (no callback, span or tag; read per call, so
                # one added later is honoured): what the report below would attach, without it.
                info = captured_info(call)
                if info is not None:
                    result = spec.parse(exchange.response(), self._strict_response_validation)
                    try:  # attach(), inline
                        object.__setattr__(result, "_llmfailover", info)
                    except (AttributeError, TypeError):  # a type without __dict__: nothing to attach to
                        pass
                    return result
        report = self._report_for(call)
        if report is not None:
            report.trace, spec.trace = spec.trace, None
            tag = (spec.route or {}).get("tag")
            report.tag = None if tag is None else (spec.model, tag)
        if not spec.stream or not exchange.has_head or exchange.status >= 400:  # type: ignore[operator]
            exc = exchange.failure()
            if exc is not None:
                if report is None:
                    raise exc
                exc.route = report.flush()
                events = degraded_events(self._degraded, self._router, spec, exc)
                if events is None:
                    report.end_trace(exc.route, error=exc)
                    raise exc
                report.degraded = True
                call, exchange = FinishedCall(events), Exchange(exchange.request)
                exchange.feed(call.poll())
        info = None if report is None else report.result_info()
        strict = self._strict_response_validation
        response = exchange.response()
        if spec.stream:
            stream = make_stream(call, exchange, report)
            parser: Any = lambda: stream  # noqa: E731
        else:
            parser = lambda: attach(spec.parse(response, strict), info)  # noqa: E731
        if report is not None and not spec.stream:
            if raw:
                if info is not None and info.cost is not None and info.cost.usd is not None:
                    # The answer's cost as a header of the raw response (a stream's is not known yet).
                    items = response.headers.multi_items() + [("x-llmfailover-cost-usd", f"{info.cost.usd:.9f}")]
                    response.headers = Headers(items)
                report.end_trace(info)
            else:
                result = parser()
                report.end_trace(info, result=result)
                return result
        if not raw:
            return parser()
        legacy = LegacyAPIResponse(
            response=response,
            parser=parser,
            retries_taken=int(call.retries_taken),
            elapsed=time.monotonic() - started,
        )
        return attach(legacy, info)

    def _report_for(self, call: Any) -> Optional[CallReport]:
        router = self._router
        if router is None or isinstance(call, FinishedCall):
            return None
        return CallReport(call, router, self._hooks)

    _timeouts_cache: Optional[tuple[Any, Any]] = None

    def _native_timeouts(self, timeout: Any) -> Any:
        """The engine's Timeouts for `timeout`, converted once per distinct (identical) value."""
        cached = self._timeouts_cache
        if cached is None or cached[0] is not timeout:
            cached = self._timeouts_cache = (timeout, to_native(timeout, _native.core().Timeouts))
        return cached[1]

    def _auth_headers(self, key: str) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {key}")]

    def _sync_auth(self) -> list[tuple[str, str]]:
        """Per-request credential headers (a callable ``api_key``); static keys live in the Upstream."""
        return self._auth_headers(self._api_key_provider()) if self._api_key_provider else []

    async def _async_auth(self) -> list[tuple[str, str]]:
        if not self._api_key_provider:
            return []
        key = self._api_key_provider()
        return self._auth_headers(await key if inspect.isawaitable(key) else key)

    def _spec(
        self,
        method: str,
        path: str,
        params: Optional[dict[str, Any]],
        *,
        parse: Callable[[Response, bool], Any],
        chunk_cls: Any = None,
    ) -> RequestSpec:
        """Build a request from a resource method's keyword arguments.

        Every given argument goes into the JSON body verbatim (unknown ones included: the API grows
        faster than any whitelist); openai's sentinels are dropped; ``extra_body`` is merged last.
        """
        params = params or {}
        body_obj: Optional[dict[str, Any]] = None
        if method != "GET" and _PER_REQUEST_NAMES.isdisjoint(params):  # the common call: a body and nothing else
            body_obj = {k: v for k, v in params.items() if type(v) in _PLAIN or is_given(v)}
            stream = bool(body_obj.get("stream"))
            return RequestSpec(
                method,
                path,
                _dumps(body_obj),
                [("Accept", "text/event-stream")] if stream else [],
                [],
                str(body_obj.get("model", "")),
                self.timeout,
                stream,
                parse,
                chunk_cls,
                body_obj,
                {},
            )
        params = dict(params)
        extra = {k: params.pop(k, NOT_GIVEN) for k in _PER_REQUEST}
        route: dict[str, Any] = {}
        if method != "GET":
            body_obj = {k: v for k, v in params.items() if is_given(v)}
            if is_given(extra["extra_body"]) and extra["extra_body"]:
                extra_body = dict(extra["extra_body"])
                route = parse_overrides(extra_body.pop("llmfailover", None))  # ours, never sent
                body_obj.update(extra_body)
        timeout = extra["timeout"]
        headers = _pairs(extra["extra_headers"] or None)
        stream = bool(body_obj and body_obj.get("stream"))
        return RequestSpec(
            method=method,
            path=path,
            body=None if body_obj is None else _dumps(body_obj),
            headers=([("Accept", "text/event-stream")] if stream else []) + headers,
            query=_pairs(extra["extra_query"] or None),
            model=str(body_obj.get("model", "")) if body_obj else "",
            timeout=timeout if is_given(timeout) else self.timeout,
            stream=stream,
            parse=parse,
            chunk_cls=chunk_cls,
            params=body_obj,
            route=route,
            timeout_given=is_given(timeout),
        )

    def __repr__(self) -> str:
        router = self._router
        if router is not None:
            return f"<{type(self).__name__} groups={router.config.groups!r}>"
        url = hide_userinfo(self._base_url)  # never show userinfo credentials
        return f"<{type(self).__name__} base_url={url!r} max_retries={self.max_retries}>"


# One encoder for every request: json.dumps() with non-default arguments builds a new one each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _dumps(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode()


def _with_trailing_slash(url: str) -> str:
    path, sep, query = url.partition("?")
    return url if path.endswith("/") else path + "/" + sep + query


def engine_proxy(proxy: Any, trust_env: bool, http_client: Any) -> dict[str, Any]:
    """The engine's ``proxy`` (and ``verify=False`` from an httpx client that does not verify):
    ``proxy=`` first, else ``http_client``'s proxies, else the environment (``trust_env``), as
    httpx decides (``_proxy``)."""
    if http_client is not None:
        options = http_client_options(http_client)
        if proxy is not None:
            options["proxy"] = proxy_options(proxy)
        return options
    return {"proxy": proxy_options(proxy, trust_env=trust_env)}


def warn_copy_http_client(http_client: Any) -> None:
    """``copy(http_client=...)``: a copy shares its client's engine (and proxies), so the new
    httpx client cannot be honoured; said once, never dropped silently."""
    if http_client is not None and is_given(http_client):
        warnings.warn(
            "llmfailover: copy()/with_options() cannot take a new http_client (the copy shares this "
            "client's native engine); build a new client with http_client= instead",
            LlmFailoverWarning,
            stacklevel=3,
        )
