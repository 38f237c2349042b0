"""What the clients refuse before anything reaches the wire, and how URLs are shown.

Header smuggling: a CR or LF in a header value ends the header line and starts another (RFC 9110
§5.5: field values never contain CR, LF or NUL; §5.6.2: field names are tokens). openai-python
(via httpx/h11) refuses them per request with ``APIConnectionError`` (h11's LocalProtocolError as
the cause) and refuses a URL with a control character at construction (``httpx.InvalidURL``,
"Invalid non-printable ASCII character in URL"). We match both classes, and never echo the value:
it is often a credential. The rules themselves are the core's (cpp/include/llmfailover/validate.hpp:
``header_problem``, ``check_url_characters``), asked here so the plain and routed clients and the
native HTTP client refuse exactly the same inputs with the same words.

URLs with userinfo (``https://user:pass@host``) are shown without it everywhere (reprs, errors,
raw responses), as httpx's ``URL`` repr masks the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Optional

from ._native import core

__all__ = ["check_int", "check_url", "header_problem", "options_problem", "request_problem", "hide_userinfo"]

_USERINFO = re.compile(r"(?<=//)[^/?#]*@")  # up to the last @ of the authority


def check_int(name: str, value: Any) -> int:
    """``value`` when it is an int (bool included, as openai's max_retries check), else TypeError
    naming ``name``: checked before crossing, where pybind11's own message would list every argument.
    The range is the core's (validate.hpp)."""
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def check_url(name: str, url: str) -> None:
    """Raises ValueError naming ``name`` when ``url`` has a control character (CR, LF, NUL...)."""
    core().check_url_characters(name, url)


def header_problem(headers: Iterable[tuple[str, str]]) -> Optional[str]:
    """Why these headers cannot be sent (naming the header, never showing a value), else None."""
    problem = core().header_problem
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, str):  # before crossing: never echo it
            return f"header names and values must be str, not {type(name).__name__}: {type(value).__name__}"
        found: Optional[str] = problem(name, value)
        if found is not None:
            return found
    return None


def options_problem(
    api_key: str, organization: Optional[str], project: Optional[str], default_headers: list[tuple[str, str]]
) -> Optional[str]:
    """Why a client's options cannot be sent as headers (naming the option), else None."""
    for option, value in (("api_key", api_key), ("organization", organization), ("project", project)):
        if value and core().header_problem(option, value) is not None:
            return f"{option} contains CR, LF or NUL, which cannot be sent in an HTTP header (RFC 9110 §5.5)"
    problem = header_problem(default_headers)
    return problem and f"default_headers: {problem}"


def request_problem(extra_headers: list[tuple[str, str]], auth: list[tuple[str, str]]) -> Optional[str]:
    """Why one request's headers cannot be sent: its ``extra_headers``, or a credential got for it
    (a callable ``api_key``'s result, an Azure AD token), else None."""
    problem = header_problem(extra_headers)
    if problem:
        return f"extra_headers: {problem}"
    if auth and header_problem(auth):
        return (
            "a credential (api_key, an Azure AD token, or what their provider returned) contains CR, LF or "
            "NUL, which cannot be sent in an HTTP header (RFC 9110 §5.5)"
        )
    return None


def hide_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` after the scheme."""
    return _USERINFO.sub("", url, count=1) if "@" in url else url
