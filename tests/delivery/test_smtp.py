"""The SMTP backend against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import re
import smtplib
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import dkim
import pytest

from mailer.delivery import smtp_connection
from mailer.delivery.backends import get_backend
from mailer.delivery.dkim import DkimSigner
from mailer.delivery.message import Batch, Outcome, Recipient
from mailer.delivery.mime import MessageBuilder
from mailer.delivery.smtp import SmtpBackend
from mailer.delivery.smtp_connection import Dropped, SmtpConnection
from mailer.exceptions import BackendError, HeaderInjection
from mailer.settings.keys import load_private_key
from mailer.settings.smtp_url import parse_smtp_url
from tests.support.config import make_settings
from tests.support.keys import DkimKey, Tls
from tests.support.messages import make_batch, make_content, make_recipient
from tests.support.smtp import SmtpServer, password_authenticator, start_smtp


def parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(data, policy=policy.default))


def backend_for(server: SmtpServer, query: str = "", **kwargs: Any) -> SmtpBackend:
    return SmtpBackend(parse_smtp_url(server.url(query=query)), **kwargs)


@pytest.fixture(params=[False, True], ids=["stepwise", "pipelined"])
def server(request: pytest.FixtureRequest, smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.handler.pipelining = request.param
    return smtp_server


def test_every_message_arrives_whole(server: SmtpServer) -> None:
    with backend_for(server, concurrency=2) as backend:
        results = backend.send_batch(make_batch(5))
    assert [r.outcome for r in results] == [Outcome.SENT] * 5
    assert [r.delivery_id for r in results] == [f"d{n}" for n in range(5)]
    assert results[3].provider_message_id == "<d3@example.org>"
    received = sorted(server.handler.received, key=lambda r: r.rcpt_tos[0])
    assert [(r.mail_from, r.rcpt_tos) for r in received] == [
        ("news@example.org", [f"reader{n}@example.com"]) for n in range(5)
    ]
    message = parse(received[2].data)
    assert message["To"] == "Reader 2 <reader2@example.com>"
    assert message["Subject"] == "The week, Reader2"
    assert message["Message-ID"] == "<d2@example.org>"
    assert message["X-Mailer-Delivery"] == "d2"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    html = cast(EmailMessage, message.get_body(("html",)))
    assert "<p>Hello Reader2,</p>" in html.get_content()


def test_a_message_with_dot_lines_arrives_unchanged(server: SmtpServer) -> None:
    text = ".\n..\n.leading dot\nlast"
    with backend_for(server) as backend:
        backend.send_batch(make_batch(1, text=text, html=""))
    body = parse(server.handler.received[0].data).get_content()
    assert body.replace("\r\n", "\n") == text + "\n"  # a message's last line ends


def test_refusals_are_results_and_the_rest_goes_on(server: SmtpServer) -> None:
    server.handler.refusals = {
        "reader1@example.com": "550 5.1.1 <reader1@example.com>: user unknown",
        "reader2@example.com": "451 4.7.1 greylisted, try again",
    }
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(make_batch(4))
    assert [(r.outcome, r.bounce) for r in results] == [
        (Outcome.SENT, False),
        (Outcome.FAILED, True),
        (Outcome.RETRY, False),
        (Outcome.SENT, False),
    ]
    assert results[1].error == "rcpt: 550 5.1.1 <reader1@example.com>: user unknown"
    assert results[2].error == "rcpt: 451 4.7.1 greylisted, try again"
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == [
        "reader0@example.com",
        "reader3@example.com",
    ]


@pytest.fixture(params=[False, True], ids=["stepwise", "pipelined"])
def utf8_server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    server = start_smtp(enable_SMTPUTF8=True)
    server.handler.pipelining = request.param
    yield server
    server.controller.stop()


def test_a_non_ascii_address_goes_by_smtputf8_where_the_server_offers_it(
    utf8_server: SmtpServer,
) -> None:
    batch = make_batch(2)
    batch.recipients[1] = make_recipient(1, email="j\u00fcrgen@example.com", name="J\u00fcrgen")
    with backend_for(utf8_server, concurrency=1) as backend:
        results = backend.send_batch(batch)
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    plain, utf8 = utf8_server.handler.received
    assert "SMTPUTF8" not in plain.mail_options  # only where it is needed
    assert "SMTPUTF8" in utf8.mail_options
    assert utf8.rcpt_tos == ["j\u00fcrgen@example.com"]
    # RFC 6532: the address as UTF-8 in the header, the name as encoded words.
    assert b"\r\nTo: =?utf-8?b?SsO8cmdlbg==?= <j\xc3\xbcrgen@example.com>\r\n" in utf8.data
    message = email.message_from_string(utf8.data.decode(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "j\u00fcrgen@example.com"


def test_a_non_ascii_address_fails_where_the_server_has_no_smtputf8(server: SmtpServer) -> None:
    batch = make_batch(3)
    batch.recipients[1] = make_recipient(1, email="j\u00fcrgen@example.com")
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(batch)
    assert [(r.outcome, r.bounce) for r in results] == [
        (Outcome.SENT, False),
        (Outcome.FAILED, False),  # not the address's fault: not a bounce
        (Outcome.SENT, False),
    ]
    assert results[1].error == (
        f"'j\u00fcrgen@example.com' has a non-ASCII local part, which needs SMTPUTF8, "
        f"and the server 127.0.0.1:{server.port} does not offer it"
    )
    assert [r.rcpt_tos for r in server.handler.received] == [
        ["reader0@example.com"],
        ["reader2@example.com"],
    ]


def test_a_recipient_withdrawn_during_the_batch_is_skipped(server: SmtpServer) -> None:
    batch = make_batch(3)
    batch = Batch(batch.content, batch.recipients, lambda d: "unsubscribed" if d == "d1" else None)
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(batch)
    assert [(r.outcome, r.error) for r in results] == [
        (Outcome.SENT, ""),
        (Outcome.SKIPPED, "unsubscribed"),
        (Outcome.SENT, ""),
    ]
    assert [r.rcpt_tos for r in server.handler.received] == [
        ["reader0@example.com"],
        ["reader2@example.com"],
    ]


def test_a_dropped_connection_is_reopened_and_the_message_sent_once(server: SmtpServer) -> None:
    with backend_for(server, concurrency=1) as backend:
        backend.send_batch(make_batch(1))  # the connection is open and idle now
        server.handler.drop_at_mail = 1
        results = backend.send_batch(Batch(make_content(), [make_recipient(7), make_recipient(8)]))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert [r.rcpt_tos[0] for r in server.handler.received] == [
        "reader0@example.com",
        "reader7@example.com",
        "reader8@example.com",
    ]


def test_a_message_whose_connection_drops_twice_is_retry(server: SmtpServer) -> None:
    server.handler.drop_at_mail = 2
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(make_batch(2))
    assert results[0].outcome == Outcome.RETRY
    assert "dropped twice" in results[0].error
    assert results[1].outcome == Outcome.SENT


def copies(server: SmtpServer) -> Counter[str]:
    """How many messages the server kept for each recipient."""
    return Counter(rcpt for r in server.handler.received for rcpt in r.rcpt_tos)


def test_a_message_whose_answer_is_lost_is_unknown_and_not_sent_again(
    server: SmtpServer,
) -> None:
    # The server keeps reader1's message and hangs up before it answers: it may have it
    # (this one does), so it must not be sent again. Pipelined, reader2's envelope was
    # waiting behind reader1's data: it goes on a new connection, once.
    server.handler.lose_reply["reader1@example.com"] = None
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(make_batch(4))
    assert [r.outcome for r in results] == [
        Outcome.SENT,
        Outcome.UNKNOWN,
        Outcome.SENT,
        Outcome.SENT,
    ]
    assert results[1].error.startswith("connection lost after the message: no answer to the")
    assert copies(server) == dict.fromkeys([f"reader{n}@example.com" for n in range(4)], 1)
    peers = [r.peer for r in server.handler.received]
    assert peers[0] == peers[1] != peers[2] == peers[3]


def test_a_drop_before_the_end_of_the_data_sends_the_message_again_once(
    server: SmtpServer,
) -> None:
    # Pipelined, reader1's envelope went out behind reader0's data: the server answers
    # reader0's message, then hangs up with only reader1's envelope read.
    server.handler.drop_at_rcpt = {"reader1@example.com", "reader2@example.com"}
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(make_batch(4))
    assert [r.outcome for r in results] == [Outcome.SENT] * 4
    assert copies(server) == dict.fromkeys([f"reader{n}@example.com" for n in range(4)], 1)


def test_a_421_in_answer_to_the_data_is_an_answer_the_message_is_sent_again_once(
    server: SmtpServer,
) -> None:
    server.handler.answer_data["reader1@example.com"] = "421 4.3.2 shutting down"
    with backend_for(server, concurrency=1) as backend:
        results = backend.send_batch(make_batch(3))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    assert copies(server) == dict.fromkeys([f"reader{n}@example.com" for n in range(3)], 1)


class BreakingSocket:
    """A connection's socket that breaks once ``budget`` more bytes have gone out."""

    def __init__(self, sock: socket.socket, budget: int):
        self._sock = sock
        self.budget = budget

    def send(self, data: Any) -> int:
        if self.budget <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        sent = self._sock.send(bytes(data)[: self.budget])
        self.budget -= sent
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@pytest.mark.parametrize(
    ("budget", "reply_lost"),
    [(10, False), (len(b"Subject: a\r\n\r\nA\r\n.\r\n") + 4, True)],
    ids=["before the final dot", "after it, in the next envelope"],
)
def test_a_write_that_breaks_says_whether_the_final_dot_went_out(
    smtp_server: SmtpServer, budget: int, reply_lost: bool
) -> None:
    smtp_server.handler.pipelining = True
    config = parse_smtp_url(smtp_server.url())
    connection = SmtpConnection(config, ssl.create_default_context(), "client.example.org")
    connection.open()
    connection.transaction("news@example.org", "z@example.com", b"Subject: z\r\n\r\nZ\r\n")
    smtp = connection._smtp
    assert smtp is not None
    smtp.sock = cast(socket.socket, BreakingSocket(cast(socket.socket, smtp.sock), budget))
    with pytest.raises(Dropped) as caught:
        connection.transaction(
            "news@example.org",
            "a@example.com",
            b"Subject: a\r\n\r\nA\r\n",
            then=("news@example.org", "b@example.com"),
        )
    assert caught.value.reply_lost is reply_lost
    assert not connection.is_open
    assert not connection.awaiting_data


def test_a_sender_refused_for_good_fails_the_batch(server: SmtpServer) -> None:
    server.handler.refuse_sender = "553 5.7.1 <news@example.org>: sender not allowed"
    with backend_for(server) as backend, pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(3))
    error = caught.value
    assert not error.retryable
    assert error.status == 553
    assert str(error) == (
        f"SMTP server 127.0.0.1:{server.port} refused the sender: "
        "553 5.7.1 <news@example.org>: sender not allowed"
    )
    assert error.results == []


def test_a_sender_deferred_is_retry_per_message(server: SmtpServer) -> None:
    server.handler.refuse_sender = "451 4.3.0 try later"
    with backend_for(server) as backend:
        results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY]


def test_a_server_that_does_not_answer_fails_at_open() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = SmtpBackend(parse_smtp_url(f"smtp://127.0.0.1:{port}?timeout=2"))
    with pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(1))
    assert caught.value.retryable
    assert str(caught.value).startswith(f"SMTP cannot connect to 127.0.0.1:{port}")


def test_connections_are_pooled_and_reused_across_batches(smtp_server: SmtpServer) -> None:
    smtp_server.handler.gather = 3  # no reply until three connections are sending
    with backend_for(smtp_server, concurrency=3) as backend:
        for start in range(0, 60, 20):
            batch = Batch(make_content(), [make_recipient(n) for n in range(start, start + 20)])
            assert all(r.outcome == Outcome.SENT for r in backend.send_batch(batch))
    assert len({r.peer for r in smtp_server.handler.received}) == 3
    assert len(smtp_server.handler.received) == 60


def test_a_pipelining_server_gets_one_write_per_message(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each message's data goes out with the next message's MAIL, RCPT and DATA behind it:
    # one write and one round trip per message, but for the first one's envelope.
    smtp_server.handler.pipelining = True
    writes: list[bytes] = []
    real_send = smtplib.SMTP.send
    real_write = smtp_connection._write

    def send(self: smtplib.SMTP, data: Any) -> None:
        writes.append(data)
        real_send(self, data)

    def write(smtp: smtplib.SMTP, data: bytes) -> int:
        writes.append(data)  # a message's data, which is written counting what went out
        return real_write(smtp, data)

    with backend_for(smtp_server, concurrency=1) as backend:
        monkeypatch.setattr(smtplib.SMTP, "send", send)
        monkeypatch.setattr(smtp_connection, "_write", write)
        results = backend.send_batch(make_batch(5))
        monkeypatch.undo()  # before QUIT
    assert [r.outcome for r in results] == [Outcome.SENT] * 5
    assert len(writes) == 5 + 1
    assert writes[1].endswith(
        b"\r\n.\r\nMAIL FROM:<news@example.org>\r\nRCPT TO:<reader1@example.com>\r\nDATA\r\n"
    )
    assert writes[-1].endswith(b"\r\n.\r\n")  # the last one has nothing behind it
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [
        [f"reader{n}@example.com"] for n in range(5)
    ]


def test_closing_with_an_envelope_sent_ahead_hangs_up_and_sends_nothing_more(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.handler.pipelining = True
    config = parse_smtp_url(smtp_server.url())
    connection = SmtpConnection(config, ssl.create_default_context(), "client.example.org")
    connection.open()
    stage, reply = connection.transaction(
        "news@example.org",
        "a@example.com",
        b"Subject: a\r\n\r\nA\r\n",
        then=("news@example.org", "b@example.com"),
    )
    assert (stage, reply.code) == ("message", 250)
    with pytest.raises(RuntimeError, match="sent ahead"):
        # Another message than the one announced: a bug of the caller's, which
        # costs the connection rather than a wrong message.
        connection.transaction("news@example.org", "c@example.com", b"\r\nC\r\n")
    assert not connection.is_open
    connection.open()
    connection.transaction(
        "news@example.org",
        "d@example.com",
        b"Subject: d\r\n\r\nD\r\n",
        then=("news@example.org", "e@example.com"),
    )
    connection.close()  # the server is waiting for e's data: no QUIT, no "."
    assert not connection.is_open
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [
        ["a@example.com"],
        ["d@example.com"],
    ]


def test_an_unexpected_error_leaves_no_connection_waiting_for_data(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.handler.pipelining = True
    real_build = MessageBuilder.build

    def build(self: MessageBuilder, recipient: Recipient) -> bytes:
        if recipient.delivery_id == "d2":
            raise RuntimeError("a bug")
        return real_build(self, recipient)

    with backend_for(smtp_server, concurrency=1) as backend:
        monkeypatch.setattr(MessageBuilder, "build", build)
        # d1's envelope went out behind d0's data when building d2 (to follow d1) failed.
        with pytest.raises(RuntimeError, match="a bug"):
            backend.send_batch(make_batch(3))
        monkeypatch.undo()
        results = backend.send_batch(Batch(make_content(), [make_recipient(5)]))
    assert [r.outcome for r in results] == [Outcome.SENT]
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [
        ["reader0@example.com"],
        ["reader5@example.com"],
    ]


def test_a_header_injection_fails_that_recipient_and_sends_nothing_for_it(
    smtp_server: SmtpServer,
) -> None:
    batch = Batch(
        make_content(),
        [
            make_recipient(0),
            make_recipient(1, substitutions={"%%first_name%%": "x\r\nBcc: victim@example.com"}),
        ],
    )
    with backend_for(smtp_server) as backend:
        results = backend.send_batch(batch)
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.FAILED]
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["reader0@example.com"]]


def test_a_header_injection_in_the_content_raises_before_sending(smtp_server: SmtpServer) -> None:
    with backend_for(smtp_server) as backend, pytest.raises(HeaderInjection):
        backend.send_batch(make_batch(2, subject="Hi\nBcc: victim@example.com"))
    assert smtp_server.handler.received == []


# --- TLS and AUTH -------------------------------------------------------------------


@pytest.fixture
def starttls_server(tls: Tls) -> Iterator[SmtpServer]:
    server = start_smtp(
        tls_context=tls.server_context(),
        require_starttls=True,
        authenticator=password_authenticator,
        auth_required=True,
    )
    yield server
    server.controller.stop()


def test_starttls_then_auth(starttls_server: SmtpServer, tls: Tls) -> None:
    url = starttls_server.url(userinfo="ann%40example.org:p%40ss%20word", query="starttls=true")
    backend = SmtpBackend(parse_smtp_url(url), ssl_context=tls.client_context())
    results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert starttls_server.handler.tls_seen == [True, True]
    assert {r.login for r in starttls_server.handler.received} == {b"ann@example.org"}


def test_a_wrong_password_is_not_retryable(starttls_server: SmtpServer, tls: Tls) -> None:
    url = starttls_server.url(userinfo="ann%40example.org:wrong", query="starttls=true")
    backend = SmtpBackend(parse_smtp_url(url), ssl_context=tls.client_context())
    with pytest.raises(BackendError) as caught:
        backend.open()
    assert not caught.value.retryable
    assert caught.value.status == 535


def test_an_untrusted_certificate_is_not_retryable(starttls_server: SmtpServer) -> None:
    url = starttls_server.url(userinfo="ann%40example.org:p%40ss%20word", query="starttls=true")
    with pytest.raises(BackendError) as caught:
        SmtpBackend(parse_smtp_url(url)).open()  # the system's trust store
    assert not caught.value.retryable
    assert "certificate" in str(caught.value)


def test_without_starttls_a_server_that_requires_it_refuses(starttls_server: SmtpServer) -> None:
    url = starttls_server.url(userinfo="ann%40example.org:p%40ss%20word")
    with pytest.raises(BackendError) as caught:
        SmtpBackend(parse_smtp_url(url)).open()
    assert not caught.value.retryable
    assert "add ?starttls=true to smtp_url, or use smtps://" in str(caught.value)


def test_smtps_is_tls_from_the_start(tls: Tls) -> None:
    server = start_smtp(ssl_context=tls.server_context())
    try:
        backend = SmtpBackend(parse_smtp_url(server.url("smtps")), ssl_context=tls.client_context())
        assert backend.send_batch(make_batch(1))[0].outcome == Outcome.SENT
        assert server.handler.tls_seen == [True]
    finally:
        server.controller.stop()


# --- DKIM ---------------------------------------------------------------------------


def test_messages_are_dkim_signed_and_verify(smtp_server: SmtpServer, dkim_key: DkimKey) -> None:
    signer = DkimSigner(load_private_key(dkim_key.private_pem.decode()), "s2024", "example.org")
    with backend_for(smtp_server, dkim=signer) as backend:
        backend.send_batch(make_batch(2, subject="Caf\u00e9 for %%first_name%%"))
    for received in smtp_server.handler.received:
        assert received.data.startswith(b"DKIM-Signature: ")
        assert dkim.verify(received.data, dnsfunc=dkim_key.dnsfunc)
        signature = parse(received.data)["DKIM-Signature"]
        signed = set(re.search(r"h=([^;]+)", re.sub(r"\s+", "", signature)).group(1).split(":"))  # type: ignore[union-attr]
        assert {
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        } <= signed
        assert "c=relaxed/relaxed" in re.sub(r"\s+", "", signature)
    # A changed header no longer verifies.
    tampered = smtp_server.handler.received[0].data.replace(b"Subject: ", b"Subject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=dkim_key.dnsfunc)


def test_a_message_to_a_non_ascii_address_is_signed_and_verifies(dkim_key: DkimKey) -> None:
    server = start_smtp(enable_SMTPUTF8=True)
    signer = DkimSigner(load_private_key(dkim_key.private_pem.decode()), "s2024", "example.org")
    batch = make_batch(1)
    batch.recipients[0] = make_recipient(0, email="j\u00fcrgen@example.com")
    try:
        with backend_for(server, dkim=signer) as backend:
            assert backend.send_batch(batch)[0].outcome is Outcome.SENT
    finally:
        server.controller.stop()
    assert dkim.verify(server.handler.received[0].data, dnsfunc=dkim_key.dnsfunc)


# --- configuration -----------------------------------------------------------------


def test_from_settings_with_dkim_key_file_and_concurrency(
    tmp_path: Path, smtp_server: SmtpServer, dkim_key: DkimKey
) -> None:
    (tmp_path / "dkim.pem").write_bytes(dkim_key.private_pem)
    settings = make_settings(
        tmp_path,
        backend="smtp",
        smtp_url=smtp_server.url(query="concurrency=2&helo=out.example.org"),
        smtp_concurrency=8,
        dkim_private_key="dkim.pem",
        dkim_selector="s2024",
        dkim_domain="example.org",
    )
    backend = get_backend(settings)
    assert isinstance(backend, SmtpBackend)
    assert backend.concurrency == 2  # the URL wins
    assert backend.dkim is not None
    backend.send_batch(make_batch(1))
    assert dkim.verify(smtp_server.handler.received[0].data, dnsfunc=dkim_key.dnsfunc)


# --- a server that takes fewer connections, or goes away ------------------------------


def refuse_connections_after(monkeypatch: pytest.MonkeyPatch, allowed: int) -> None:
    """Connections past the first ``allowed`` are refused as a busy relay does (421)."""
    real_open = SmtpConnection.open
    opened = []

    def open_(self: SmtpConnection) -> None:
        if len(opened) >= allowed:
            raise BackendError(
                "SMTP", "cannot connect: 421 4.7.0 too many connections", retryable=True
            )
        opened.append(self)
        real_open(self)

    monkeypatch.setattr(SmtpConnection, "open", open_)


def test_workers_that_cannot_connect_leave_their_share_to_the_others(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_connections_after(monkeypatch, 1)
    with backend_for(smtp_server, concurrency=4) as backend:
        results = backend.send_batch(make_batch(12))
    assert [r.outcome for r in results] == [Outcome.SENT] * 12
    assert len(smtp_server.handler.received) == 12
    assert len({r.peer for r in smtp_server.handler.received}) == 1


def test_a_server_that_goes_away_mid_batch_fails_it_with_what_was_done(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_for(smtp_server, concurrency=2)
    with backend:
        refuse_connections_after(monkeypatch, 0)  # the open connection is the last one
        backend.send_batch(make_batch(1))
        smtp_server.handler.drop_at_mail = 100
        with pytest.raises(BackendError) as caught:
            backend.send_batch(Batch(make_content(), [make_recipient(n) for n in range(1, 6)]))
    error = caught.value
    assert error.retryable
    assert "too many connections" in str(error)
    # The message in hand when the connection went, and the one built to follow it,
    # are RETRY; the rest were not tried.
    assert [(r.delivery_id, r.outcome) for r in error.results] == [
        ("d1", Outcome.RETRY),
        ("d2", Outcome.RETRY),
    ]
