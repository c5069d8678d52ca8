"""What a check finds, and what the checks may be told."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Check", "CheckOptions", "Status"]


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"  # worth knowing; does not stop real mail
    FAIL = "FAIL"  # real mail would fail, be refused or break the law


@dataclass(frozen=True)
class Check:
    """One line of ``mailer check``: what was looked at, what came of it, the fix."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def line(self) -> str:
        fix = f"; {self.fix}" if self.fix else ""
        return f"{self.status.value:<4} {self.name}: {self.message}{fix}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CheckOptions:
    """``nameserver``: a DNS server (``HOST`` or ``HOST:PORT``, an IP address) to ask
    instead of the system's. ``dns_timeout`` bounds each DNS lookup, ``timeout`` each
    connection to the SMTP server, SendGrid and the web app. ``ssl_context`` verifies
    the certificates of the SMTP server and the web app (default: the system's
    trusted ones)."""

    nameserver: str | None = None
    dns_timeout: float = 3.0
    timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = None
