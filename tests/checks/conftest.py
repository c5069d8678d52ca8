"""Stand-ins for what ``mailer check`` talks to, all on loopback: a DNS server built with
dnspython's messages, SMTP servers (aiosmtpd, from the delivery tests), an HTTP server
that plays SendGrid's /v3/scopes, and the web app served by uvicorn."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from dns.rdtypes.ANY.TXT import TXT

from tests.delivery.conftest import dkim_key, tls  # noqa: F401 - fixtures used here

__all__ = ["DnsServer", "FakeScopes"]

from tests.support.http import serving


class DnsServer:
    """Answers TXT queries from ``records`` (name -> texts) over UDP on 127.0.0.1; a
    name it does not know is NXDOMAIN, a known name without TXT an empty answer."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = {self._key(name): texts for name, texts in records.items()}
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self._stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    @staticmethod
    def _key(name: str) -> str:
        return name.lower().rstrip(".") + "."

    def _serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(65535)
            if self._stopping:
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower()
            self.queries.append(name)
            texts = self.records.get(name)
            if texts is None:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT and texts:
                rdatas = [
                    TXT(
                        dns.rdataclass.IN,
                        dns.rdatatype.TXT,
                        # A TXT string holds 255 bytes at most: a DKIM key takes several.
                        [text.encode()[i : i + 255] for i in range(0, len(text.encode()), 255)],
                    )
                    for text in texts
                ]
                answer.answer.append(dns.rrset.from_rdata_list(question.name, 300, rdatas))
            self.sock.sendto(answer.to_wire(), peer)

    def stop(self) -> None:
        self._stopping = True
        # A datagram wakes the thread from recvfrom (closing the socket would not).
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", self.sock.getsockname())
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def silent_dns() -> Iterator[str]:
    """A UDP port that takes queries and never answers: lookups there time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


class FakeScopes:
    """Plays SendGrid's GET /v3/scopes: the scopes of the key ``good``, 401 for any
    other key."""

    def __init__(self, scopes: list[str], good: str = "SG.good"):
        self.scopes = scopes
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                fake.requests.append((self.path, auth))
                if self.path != "/v3/scopes":
                    status, body = 404, {"errors": [{"message": "not found"}]}
                elif auth != f"Bearer {good}":
                    status, body = 401, {"errors": [{"message": "authorization required"}]}
                else:
                    status, body = 200, {"scopes": fake.scopes}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._stack = contextlib.ExitStack()
        self.host = self._stack.enter_context(serving(Handler))

    def stop(self) -> None:
        self._stack.close()


@pytest.fixture
def dkim_pem(tmp_path: Path, dkim_key: Any) -> Path:  # noqa: F811 - the fixture above
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_key.private_pem)
    return path
