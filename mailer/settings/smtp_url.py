"""The ``smtp_url`` setting: where an SMTP server is and how to talk to it.

::

    smtp://host                              port 25, no TLS
    smtp://user:pass@host:587?starttls=true  STARTTLS, then AUTH
    smtps://user:pass@host                   TLS from the start, port 465
    ...?timeout=30&concurrency=8&helo=mail.example.org

User and password are percent-decoded (write ``@`` as ``%40``). Error messages never
show the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

__all__ = ["SmtpConfig", "parse_smtp_url"]

Security = Literal["none", "starttls", "tls"]

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_OPTIONS = ("starttls", "timeout", "concurrency", "helo")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    #: Connections used at once; None leaves it to the ``smtp_concurrency`` setting.
    concurrency: int | None = None
    #: The name given in EHLO; None means this machine's name.
    helo: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse ``url``; raises ValueError (without the password) if it is not usable."""
    parts = urlsplit(url)
    host, port = _server(parts)
    options = _options(parts.query)
    return SmtpConfig(
        host=host,
        port=port,
        security=_security(parts.scheme, options),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=_timeout(options),
        concurrency=_concurrency(options),
        helo=options.get("helo") or None,
    )


def _server(parts: SplitResult) -> tuple[str, int]:
    """Where the server is: its host, and its port (the scheme's own when none is given)."""
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("has no host (smtp://host:port)")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError("has a port that is not a number from 0 to 65535") from err
    if parts.path not in ("", "/"):
        raise ValueError("must not have a path (only smtp://user:pass@host:port?options)")
    return parts.hostname, port or (465 if parts.scheme == "smtps" else 25)


def _options(query: str) -> dict[str, str]:
    """The query's options, the last one winning when one is given twice."""
    options = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise ValueError(
            f"has an unknown option {sorted(unknown)[0]!r} (known: {', '.join(_OPTIONS)})"
        )
    return options


def _security(scheme: str, options: dict[str, str]) -> Security:
    """TLS from the start (smtps://), STARTTLS (?starttls=true) or none."""
    security: Security = "tls" if scheme == "smtps" else "none"
    flag = options.get("starttls", "false").lower()
    if flag not in _TRUE | _FALSE:
        raise ValueError("has starttls= other than true or false")
    if flag in _FALSE:
        return security
    if security == "tls":
        raise ValueError("smtps:// is TLS already; starttls=true needs smtp://")
    return "starttls"


def _timeout(options: dict[str, str]) -> float:
    if "timeout" not in options:
        return 30.0
    try:
        timeout = float(options["timeout"])
    except ValueError:
        timeout = 0
    if not 0 < timeout <= 3600:
        raise ValueError("has a timeout= that is not a number of seconds up to 3600")
    return timeout


def _concurrency(options: dict[str, str]) -> int | None:
    if "concurrency" not in options:
        return None
    text = options["concurrency"]
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError("has a concurrency= that is not a whole number from 1 to 64")
    return int(text)
