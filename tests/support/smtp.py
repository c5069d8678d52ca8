"""A real SMTP server on loopback (aiosmtpd) that records what it receives, refuses
what a test tells it to, and can drop a connection or lose a reply on the way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


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


def password_authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"ann@example.org", b"p@ss word")
    # handled=False: aiosmtpd then answers the failure itself (535).
    return AuthResult(success=ok, handled=False, auth_data=auth_data)
