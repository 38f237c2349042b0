"""Which proxy the native engine uses: from ``proxy=``, the environment, or an httpx client.

The engine takes one ``ProxyOptions`` value (C++ ``transport/proxy.hpp``): a proxy URL for
http:// targets, one for https:// targets, and a NO_PROXY list. A proxy URL is ``http://``
(CONNECT tunnel for https:// targets), ``https://`` (TLS to the proxy, verified like a target:
``ca_file=`` / ``verify=``), ``socks5://`` (the target resolved locally) or ``socks5h://`` (the
proxy resolves it), with optional ``user:password@`` (Basic for http(s), RFC 1929 for SOCKS5).
This module builds it the way httpx does (``httpx._client._get_proxy_map``):

* ``proxy="socks5://user:pw@host:port"`` (a string, ``httpx.URL`` or ``httpx.Proxy``) serves every
  target; NO_PROXY does not apply (as in httpx).
* An https:// proxy with its own CA: ``httpx.Proxy(url, ssl_context=ssl.create_default_context(
  cafile="proxy-ca.pem"))``, as ``proxy=`` or mounted in ``http_client=``. The CA certificates that
  context holds go to the engine (``ProxyOptions.ca_pem``), which verifies the proxy against them
  only (curl's ``--proxy-cacert``); without one the proxy is verified like the targets
  (``ca_file=`` / the system store).
* Otherwise, with ``trust_env`` (the default), ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and
  ``NO_PROXY`` (either case; ``urllib.request.getproxies``, as httpx reads them).
* ``http_client=httpx.Client(proxy=...)`` (or one whose environment gave it proxies): its
  mounted proxies are read back (``Client._mounts``), SOCKS ones included; what cannot be
  carried over raises ``ValueError`` or warns ``LlmFailoverWarning`` naming it (see
  ``http_client_options``).

A malformed URL raises ``ValueError`` naming where it came from (``HTTPS_PROXY``, ``proxy``,
``http_client``), never quoting it: a proxy URL may carry a password. Other schemes (socks4://)
are refused with a clear message.
"""

from __future__ import annotations

import base64
import os
import ssl
import warnings
from typing import Any, Optional
from urllib.parse import quote
from urllib.request import getproxies

from . import _native

__all__ = ["proxy_options", "http_client_options", "LlmFailoverWarning"]


class LlmFailoverWarning(UserWarning):
    """An openai argument that llmfailover accepts but cannot honour (e.g. parts of ``http_client``)."""


def _env_name(scheme: str) -> str:
    """The variable urllib took a proxy from (lower case wins, as in ``getproxies_environment``)."""
    lower = f"{scheme}_proxy"
    return lower if os.environ.get(lower) else lower.upper()


def _check(url: str, name: str) -> str:
    _native.core().check_proxy_url(url, name)  # ValueError "<name>: <what is wrong>"
    return url


def _proxy_ca_pem(context: Any, name: str) -> str:
    """The CA certificates of an https:// proxy's ``ssl_context`` (httpx.Proxy), as PEM; "" when it
    holds none of its own (the proxy is then verified like the targets)."""
    if context is None:
        return ""
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"{name}: the proxy's ssl_context must be an ssl.SSLContext, not {type(context).__name__}")
    if context.verify_mode == ssl.CERT_NONE:
        warnings.warn(
            f"llmfailover cannot honour {name}'s ssl_context without verification: the proxy's certificate "
            "is verified (against ca_file= or the system store)",
            LlmFailoverWarning,
            stacklevel=5,
        )
        return ""
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in context.get_ca_certs(binary_form=True))


def _from_proxy_value(value: Any, name: str) -> tuple[str, str]:
    """A ``proxy=`` value (str, httpx.URL, httpx.Proxy) as a URL with its credentials, and the PEM
    CA certificates of an httpx.Proxy's ssl_context ("" for none)."""
    url = getattr(value, "url", None)  # httpx.Proxy: url without userinfo, auth apart
    if url is not None and hasattr(value, "auth"):
        if getattr(value, "headers", None):
            raise ValueError(f"{name}: proxy headers other than credentials are not supported by llmfailover")
        text = str(url)
        auth = value.auth
        if auth:
            scheme, _, rest = text.partition("://")
            text = f"{scheme}://{quote(auth[0], safe='')}:{quote(auth[1], safe='')}@{rest}"
        return _check(text, name), _proxy_ca_pem(getattr(value, "ssl_context", None), name)
    if not isinstance(value, str) and type(value).__name__ != "URL":
        raise TypeError(f"{name} must be a proxy URL string, not {type(value).__name__}")
    return _check(str(value), name), ""


def _options(core: Any, name: str, **fields: str) -> Any:
    try:
        return core.ProxyOptions(**fields)
    except ValueError as e:  # the CA certificates (URLs were checked one by one)
        raise ValueError(f"{name}: {e}") from None


def proxy_options(proxy: Any = None, *, trust_env: bool = True) -> Any:
    """The engine's ``ProxyOptions`` for ``proxy=`` / the environment; None when there is none."""
    core = _native.core()
    if proxy is not None:
        url, ca_pem = _from_proxy_value(proxy, "proxy")
        return _options(core, "proxy", http=url, https=url, ca_pem=ca_pem)
    if not trust_env:
        return None
    found = getproxies()
    http = found.get("http") and _check(found["http"], _env_name("http"))
    https = found.get("https") and _check(found["https"], _env_name("https"))
    every = found.get("all") and _check(found["all"], _env_name("all"))
    http, https = http or every or "", https or every or ""
    if not http and not https:
        return None
    return core.ProxyOptions(http=http, https=https, no_proxy=found.get("no", ""))


# --- http_client= ------------------------------------------------------------------------------


def _mounted_proxy(transport: Any) -> Optional[tuple[str, str]]:
    """The URL (with credentials) of an httpx proxy transport's pool and the PEM CA certificates of
    its proxy ssl_context ("" for none), or None if it is not a proxy transport."""
    pool = getattr(transport, "_pool", None)
    url = getattr(pool, "_proxy_url", None)
    if url is None:
        return None
    scheme = url.scheme.decode("ascii", "replace")
    host = url.host.decode("ascii", "replace")
    host = f"[{host}]" if ":" in host else host
    userinfo = ""
    socks_auth = getattr(pool, "_proxy_auth", None)  # httpcore's SOCKSProxy: (user, password) bytes
    if socks_auth:
        user, password = (part.decode("utf-8", "replace") for part in socks_auth)
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    for name, value in getattr(pool, "_proxy_headers", []) or []:
        if name.lower() != b"proxy-authorization":
            raise ValueError(
                f"http_client: its proxy header {name.decode('latin-1')!r} is not supported by llmfailover"
            )
        kind, _, token = value.partition(b" ")
        if kind.lower() != b"basic":
            raise ValueError("http_client: only Basic proxy credentials are supported by llmfailover")
        user, _, password = base64.b64decode(token).decode("utf-8", "replace").partition(":")
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    port = f":{url.port}" if url.port else ""
    ca_pem = _proxy_ca_pem(getattr(pool, "_proxy_ssl_context", None), "http_client's proxy")
    return _check(f"{scheme}://{userinfo}{host}{port}", "http_client's proxy"), ca_pem


def _proxies_of(client: Any) -> Optional[Any]:
    """``ProxyOptions`` from an httpx client's mounts (``proxy=`` or its environment)."""
    http = https = ca_pem = ""
    bypass: list[str] = []
    for pattern, transport in getattr(client, "_mounts", {}).items():
        key = getattr(pattern, "pattern", str(pattern))
        scheme, _, host = key.partition("://")
        if transport is None:
            bypass.append(host.lstrip("*") or "*")
            continue
        mounted = _mounted_proxy(transport)
        if mounted is None or host:
            warnings.warn(
                f"llmfailover cannot honour http_client's mount for {key!r} (only proxies for http://, "
                "https:// or all:// are carried over); it is not used",
                LlmFailoverWarning,
                stacklevel=4,
            )
            continue
        url, pem = mounted
        if pem and ca_pem and pem != ca_pem:
            raise ValueError("http_client: its proxies trust different CA certificates; llmfailover takes one set")
        ca_pem = ca_pem or pem
        if scheme in ("http", "all"):
            http = http or url
        if scheme in ("https", "all"):
            https = https or url
    if not http and not https:
        return None
    return _options(_native.core(), "http_client", http=http, https=https, no_proxy=",".join(bypass), ca_pem=ca_pem)


_IGNORED_IF_SET = ("auth", "event_hooks", "cookies", "params", "headers", "base_url")


def http_client_options(client: Any) -> dict[str, Any]:
    """What llmfailover takes from an httpx ``http_client``: its proxies (``proxy``) and, when it
    does not verify certificates, ``verify=False``. Everything else it sets (a custom transport,
    other CA certificates, auth, event hooks, cookies, params, headers, base_url) cannot be
    honoured by the native engine: one ``LlmFailoverWarning`` names those parts."""
    out: dict[str, Any] = {}
    proxies = _proxies_of(client)
    if proxies is not None:
        out["proxy"] = proxies
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    context = getattr(pool, "_ssl_context", None)
    if isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_NONE:
        out["verify"] = False
    ignored = []
    if pool is None or type(transport).__module__.split(".")[0] not in ("httpx", "httpx2"):
        ignored.append(f"transport ({type(transport).__name__})")
    try:
        reference = type(client)()
    except Exception:  # a subclass that needs arguments: compare against nothing
        reference = None
    if reference is not None and _trusts_other_cas(context, reference):
        ignored.append("verify (its CA certificates: pass ca_file= instead)")
    for name in _IGNORED_IF_SET:
        value = getattr(client, name, None)
        if reference is not None and _same(value, getattr(reference, name, None)):
            continue
        if reference is None and not value:
            continue
        ignored.append(name)
    if reference is not None:
        close = getattr(reference, "close", None)
        if callable(close) and not _is_coroutine_function(close):
            close()
    if ignored:
        warnings.warn(
            "llmfailover sends through its native engine and honours only http_client's proxy and "
            f"verify=False; these parts of it are not used: {', '.join(ignored)}",
            LlmFailoverWarning,
            stacklevel=4,
        )
    return out


def _trusts_other_cas(context: Any, reference: Any) -> bool:
    """The client's SSL context verifies against other CAs than a default one does (verify=<bundle>)."""
    default = getattr(getattr(getattr(reference, "_transport", None), "_pool", None), "_ssl_context", None)
    if not isinstance(context, ssl.SSLContext) or not isinstance(default, ssl.SSLContext):
        return False
    if context.verify_mode == ssl.CERT_NONE:
        return False  # verify=False, honoured
    return bool(context.get_ca_certs(binary_form=True) != default.get_ca_certs(binary_form=True))


def _same(a: Any, b: Any) -> bool:
    if hasattr(a, "multi_items") and hasattr(b, "multi_items"):
        return sorted(a.multi_items()) == sorted(b.multi_items())  # type: ignore[no-any-return]
    try:
        return bool(a == b)
    except Exception:
        return False


def _is_coroutine_function(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)
