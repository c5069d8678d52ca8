"""Stand-ins for what ``mailer check`` talks to, all on loopback: a DNS server built with
dnspython's messages, SMTP servers (aiosmtpd), an HTTP server that plays SendGrid's
/v3/scopes, and the web app served by uvicorn. The servers are in tests/support; the TLS
and DKIM keys are the root conftest's fixtures."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.keys import DkimKey


@pytest.fixture
def silent_dns() -> Iterator[str]:
    """A UDP port that takes queries and never answers: lookups there time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def dkim_pem(tmp_path: Path, dkim_key: DkimKey) -> Path:
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_key.private_pem)
    return path
