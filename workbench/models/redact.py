"""Credentials out of text: user info and query values of URLs, and known secret strings.

A base URL may carry credentials (``http://user:pass@host/v1``, ``?api-key=...``); they
must never reach an error message, a repr, a resume cell, a checkpoint or its file name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/@\s?#'\"]+)@")
_PAIR = re.compile(r"(?P<key>[^=&\s#?'\"]+)=(?P<value>[^&\s#'\"]+)")


def redact_text(text: str, secrets: "list[str] | tuple[str, ...]" = ()) -> str:
    """``text`` with every URL's user info and query values masked, and each of ``secrets``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s?#'\"]*\?)([^\s#'\"]*)",
                  lambda m: m[1] + _PAIR.sub(lambda p: f"{p['key']}={MASK}", m[2]), text)


def url_secrets(url: object) -> list[str]:
    """The credential strings in ``url`` (a str, or an SDK's URL object): its password, its
    user name, its query values."""
    url = str(url) if url is not None else None
    if not url or "://" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [s for s in (parts.password, parts.username) if s and len(s) >= 4]
    found += [m["value"] for m in _PAIR.finditer(parts.query) if len(m["value"]) >= 4]
    return found


def safe_host(url: str | None) -> str:
    """``host[:port]`` of ``url`` without user info ('' when it has none)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if host and parts.port else host
    except ValueError:
        return redact_text(url)


def plain_url(url: str | None) -> bool:
    """Whether ``url`` has nothing that may be a credential: no user info, query or fragment."""
    if not url:
        return True
    parts = urlsplit(url)
    return "@" not in parts.netloc and not parts.query and not parts.fragment


def shareable_model_string(text: str) -> str | None:
    """``text`` when it is safe to write out (a resume cell, a stored run's config), else None:
    an ``openai-compat:MODEL@URL`` whose URL may carry a credential."""
    head, sep, tail = text.partition("://")
    return text if not sep or plain_url(head.rpartition("@")[2] + sep + tail) else None
