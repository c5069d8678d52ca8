"""Fixtures for the delivery tests: a content and recipients, a real SMTP server on
loopback (aiosmtpd), TLS and DKIM keys made for the test, and an HTTP server that plays
SendGrid's mail/send."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mailer.delivery import memory
from mailer.delivery.headers import list_headers
from mailer.delivery.message import Batch, Content, Recipient
from mailer.settings import Settings
from tests.support.http import serving

HTML = (
    "<!doctype html><html><body>"
    "<p>Hello %%first_name%%,</p>"
    "<p>Caf\u00e9 news: the week in review \u2615.</p>"
    '<p><a href="https://news.example.org/a/1?utm_source=x&amp;id=%%sub_id%%">Read</a></p>'
    "</body></html>"
)
TEXT = "Hello %%first_name%%,\n\nCaf\u00e9 news: the week in review.\nRead: https://news.example.org/a/1\n"


def make_content(**changes: Any) -> Content:
    values: dict[str, Any] = {
        "subject": "The week, %%first_name%%",
        "html": HTML,
        "text": TEXT,
        "from_address": "news@example.org",
        "from_name": "The Example Times",
        "reply_to": "editor@example.org",
        "headers": {"List-Id": "<weekly.news.example.org>", "Precedence": "bulk"},
        "campaign": "c-2024-01",
    }
    values.update(changes)
    return Content(**values)


def make_recipient(number: int, **changes: Any) -> Recipient:
    values: dict[str, Any] = {
        "delivery_id": f"d{number}",
        "email": f"reader{number}@example.com",
        "name": f"Reader {number}",
        "substitutions": {"%%first_name%%": f"Reader{number}", "%%sub_id%%": str(number)},
        "headers": list_headers(
            "weekly.news.example.org",
            f"https://news.example.org/u/token{number}",
            "unsubscribe@news.example.org",
        ),
    }
    values.update(changes)
    return Recipient(**values)


def make_batch(count: int = 3, **content_changes: Any) -> Batch:
    return Batch(make_content(**content_changes), [make_recipient(n) for n in range(count)])


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(base_dir=tmp_path, secret_key="test-secret-key-0123456789abcdef", **values)


@pytest.fixture(autouse=True)
def _empty_memory_outbox() -> Iterator[None]:
    memory.outbox.clear()
    memory.refusals.clear()
    yield
    memory.outbox.clear()
    memory.refusals.clear()


# --- SMTP -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple[str, int]
    login: bytes | None
    mail_options: list[str] = field(default_factory=list)


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses what it is told."""

    received: list[Received] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)
    refuse_sender: str | None = None
    pipelining: bool = False
    drop_at_mail: int = 0  # close this many connections when MAIL arrives
    # Hang up when RCPT names one of these (once each): before the data, nothing taken.
    drop_at_rcpt: set[str] = field(default_factory=set)
    # Keep the message to one of these, then hang up without an answer (once each): the
    # answer is lost on the way. A later RCPT for them gets the reply given here, as a
    # mailbox might that has the message already (None: accepted again).
    lose_reply: dict[str, str | None] = field(default_factory=dict)
    replies_lost: list[str] = field(default_factory=list)
    # The answer to the data of a message to one of these (once each), which is not kept.
    answer_data: dict[str, str] = field(default_factory=dict)
    tls_seen: list[bool] = field(default_factory=list)
    # Hold every DATA reply until this many connections have sent one: proof of
    # concurrency that does not depend on how threads happen to be scheduled.
    gather: int = 0
    _peers_at_data: set[Any] = field(default_factory=set)
    _gathered: asyncio.Event | None = None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.drop_at_mail:
            self.drop_at_mail -= 1
            server.transport.close()
            return "421 4.3.0 going away"
        if self.refuse_sender is not None:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.close()
            return "421 4.3.0 going away"
        refusal = self.refusals.get(address)
        if address in self.replies_lost and self.lose_reply.get(address):
            refusal = self.lose_reply[address]
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.gather:
            self._gathered = self._gathered or asyncio.Event()
            self._peers_at_data.add(session.peer)
            if len(self._peers_at_data) >= self.gather:
                self._gathered.set()
            await asyncio.wait_for(self._gathered.wait(), timeout=10)
        for address in envelope.rcpt_tos:
            if address in self.answer_data:
                return self.answer_data.pop(address)
        login = session.auth_data.login if session.auth_data is not None else None
        self.tls_seen.append(server.transport.get_extra_info("ssl_object") is not None)
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                session.peer,
                login,
                list(envelope.mail_options),
            )
        )
        lost = [r for r in envelope.rcpt_tos if r in self.lose_reply and r not in self.replies_lost]
        if lost:
            self.replies_lost.extend(lost)
            server.transport.close()  # what is returned now is written nowhere
        return "250 2.0.0 Ok: queued as ABC123"


class LoopbackController(Controller):
    """aiosmtpd's Controller on a port the system picks (port 0), read back once bound."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    handler: Recorder
    controller: LoopbackController

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def url(self, scheme: str = "smtp", userinfo: str = "", query: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}" + (f"?{query}" if query else "")


def start_smtp(**kwargs: Any) -> SmtpServer:
    # aiosmtpd's Controller offers SMTPUTF8 unless told not to; most servers do not.
    kwargs.setdefault("enable_SMTPUTF8", False)
    handler = Recorder()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return SmtpServer(handler, controller)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.controller.stop()


@dataclass
class Tls:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    folder = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(cert_path, key_path)


def password_authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"ann@example.org", b"p@ss word")
    # handled=False: aiosmtpd then answers the failure itself (535).
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass
class DkimKey:
    private_pem: bytes  # PKCS#8
    public_record: bytes  # the DNS TXT record

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s2024._domainkey.example.org.", name
        return self.public_record


@pytest.fixture(scope="session")
def dkim_key() -> DkimKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))


# --- SendGrid ---------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # HANG: no answer until the test ends
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


HANG = 0
HANG_UP = -1  # reads the request, then closes the connection without an answer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeSendGrid:
    """Plays SendGrid's mail/send on loopback: answers from a script (202 once the
    script is used up) and records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with fake._lock:
                    fake.requests.append(
                        Request("POST", self.path, dict(self.headers.items()), body)
                    )
                    answer = (
                        fake.script.pop(0)
                        if fake.script
                        else Answer(202, headers={"X-Message-Id": f"msg{len(fake.requests)}"})
                    )
                if answer.status == HANG:
                    fake.released.wait()
                    return
                if answer.status == HANG_UP:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._stack = contextlib.ExitStack()
        self.host = self._stack.enter_context(serving(Handler))

    def stop(self) -> None:
        self.released.set()
        self._stack.close()


SPEC = Path(__file__).parents[1] / "data" / "sendgrid-mail-v3.openapi.json"
SPEC_URI = "urn:sendgrid-mail-v3"


@pytest.fixture(scope="session")
def mail_send_schema() -> Draft202012Validator:
    """A validator of request bodies for POST /v3/mail/send, from SendGrid's own OpenAPI
    description, kept in tests/data (its source and licence are in the README there)."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    pointer = spec["paths"]["/v3/mail/send"]["post"]["requestBody"]["$ref"]
    request_body = spec
    for part in pointer.removeprefix("#/").split("/"):
        request_body = request_body[part]
    schema = request_body["content"]["application/json"]["schema"]
    # The spec's known defect (see tests/data/README.md): top-level custom_args is typed
    # "string", while the API and SendGrid's own helper send an object of strings, as
    # personalizations[].custom_args is. Patched here to what the API takes.
    schema["properties"]["custom_args"] = {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    # The body schema's own $refs (#/components/schemas/...) resolve within the spec.
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    body_pointer = f"{pointer}/content/application~1json/schema"
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}{body_pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.fixture
def sendgrid_server() -> Iterator[FakeSendGrid]:
    server = FakeSendGrid()
    yield server
    server.stop()
