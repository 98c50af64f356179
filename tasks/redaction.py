"""Credentials out of any text wirehouse shows: run names, the runs table, events, artifacts, logs, quarantine details.

A URL that carries credentials (``s3://key:secret@bucket``, a presigned ``?X-Amz-Signature=…``) keeps its
scheme, host, port, path and other parameters; its userinfo goes and secret parameter values are replaced.
The bottom layer: the CLI, the lake, the sources and the flows all pass their text through here.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# Credentials in a URL: userinfo (scheme://user:secret@host) and query or fragment parameters whose
# name says secret. Parameter names match case-insensitively, by a whole part (split on anything not a
# letter or digit: X-Amz-Signature → x, amz, signature) or by a distinctive fragment (sessionToken).
REDACTED = "REDACTED"
SECRET_PARAM_PARTS = frozenset(
    {
        "key",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "sig",
        "signature",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "sas",
    }
)
SECRET_PARAM_FRAGMENTS = ("token", "secret", "passw", "signature", "credential", "accesskey", "apikey")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_PARAM = re.compile(r"(?<=[?&#;])([^=&#;]+)=([^&#]*)")
_TRAILING = ").,;:!?]}"  # punctuation around a URL in prose, not part of it
_HOST_PORT = re.compile(r"(?:\[[^\]]*\]|[^:\[\]]*)(?::\d*)?")  # host:port, [v6]:port


def _secret_param(name: str) -> bool:
    lowered = unquote(name).lower()
    parts = re.split(r"[^a-z0-9]+", lowered)
    return any(part in SECRET_PARAM_PARTS for part in parts) or any(f in lowered for f in SECRET_PARAM_FRAGMENTS)


def _split_url(url: str) -> tuple[str, str, str]:
    """``scheme://``, host[:port]/path with any userinfo removed, and ``?query#fragment`` (all as written)."""
    scheme, rest = url.split("://", 1)
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    authority = head.split("/", 1)[0]
    if "@" in authority:
        head = head[authority.rindex("@") + 1 :]
    elif ":" in authority and "@" in head and not _HOST_PORT.fullmatch(authority):
        head = head[head.rindex("@") + 1 :]  # user:se/cret@host: a secret pasted with a raw "/"
    return f"{scheme}://", head, tail


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = len(url) - len(url.rstrip(_TRAILING))
    url, after = (url[:-trailing], url[-trailing:]) if trailing else (url, "")
    scheme, head, tail = _split_url(url)
    tail = _PARAM.sub(lambda m: f"{m[1]}={REDACTED}" if m[2] and _secret_param(m[1]) else m[0], tail)
    return f"{scheme}{head}{tail}{after}"


def redact(text: str) -> str:
    """Text with every URL in it made credential-free: no userinfo, secret query values replaced.

    Scheme, host, port, path and the other parameters stay as written; text without ``://`` is returned
    unchanged. For run names, the runs table, events, artifacts, logs and quarantine details.
    """
    return _URL.sub(_redact_url, text) if "://" in text else text


def url_base(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no userinfo, query or fragment."""
    scheme, head, _ = _split_url(url)
    return scheme + head
