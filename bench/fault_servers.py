"""Servers that misbehave on purpose, for bench/faults.py: an SMTP server (aiosmtpd) and
a SendGrid mail/send (http.server), each in a thread of the calling process, each
counting the copies it kept of every recipient's message.

Every fault is drawn from a seeded random generator, one draw per command or request,
so that a run can be repeated (the order in which connections come still varies).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["FakeSendGrid", "FaultySmtp", "SmtpFaults"]

# aiosmtpd logs every connection that we drop on purpose as an error.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class SmtpFaults:
    """How often each fault happens: a share of the commands (MAIL, RCPT) or of the
    messages (after the data) it can happen at."""

    closing_at_mail: float = 0.01  # 421, then the server hangs up
    drop_at_mail: float = 0.005  # hangs up without a word
    deferred: float = 0.03  # 451 to RCPT
    full: float = 0.02  # 452 to RCPT
    refused: float = 0.02  # 550 to RCPT (a hard bounce)
    drop_before_data: float = 0.01  # hangs up at RCPT
    drop_after_data: float = 0.01  # reads the data, keeps nothing, hangs up
    keep_then_drop: float = 0.01  # keeps the message, then hangs up without answering


@dataclass
class _Handler:
    faults: SmtpFaults
    rng: random.Random
    kept: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)  # what happened, by name

    def _draw(self, *chances: tuple[str, float]) -> str | None:
        roll = self.rng.random()
        for name, chance in chances:
            if roll < chance:
                self.seen[name] += 1
                return name
            roll -= chance
        return None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        fault = self._draw(
            ("closing at MAIL", self.faults.closing_at_mail),
            ("dropped at MAIL", self.faults.drop_at_mail),
        )
        if fault == "closing at MAIL":
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the 421
        elif fault is not None:
            server.transport.close()  # the answer below is written nowhere
        if fault is not None:
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        fault = self._draw(
            ("451", self.faults.deferred),
            ("452", self.faults.full),
            ("550", self.faults.refused),
            ("dropped before the data", self.faults.drop_before_data),
        )
        if fault == "dropped before the data":
            server.transport.close()
        if fault is not None:
            return {
                "451": "451 4.7.1 greylisted, try later",
                "452": "452 4.2.2 mailbox full",
                "550": "550 5.1.1 no such mailbox",
            }.get(fault, "421 4.3.0 closing")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._draw(
            ("dropped after the data", self.faults.drop_after_data),
            ("kept, then dropped", self.faults.keep_then_drop),
        )
        if fault != "dropped after the data":
            self.kept.update(envelope.rcpt_tos)
        if fault is not None:
            server.transport.close()  # the answer below is written nowhere
        return "250 2.0.0 Ok: queued"


class _Loopback(Controller):
    """aiosmtpd's Controller on a port the system picks, read back once bound."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FaultySmtp:
    """An SMTP server on 127.0.0.1 that offers PIPELINING and faults as ``faults`` say."""

    def __init__(self, seed: int, faults: SmtpFaults | None = None):
        self.handler = _Handler(faults or SmtpFaults(), random.Random(seed))
        self._controller = _Loopback(
            self.handler, hostname="127.0.0.1", port=0, enable_SMTPUTF8=False
        )

    @property
    def kept(self) -> Counter[str]:
        return self.handler.kept

    @property
    def seen(self) -> Counter[str]:
        return self.handler.seen

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class FakeSendGrid:
    """SendGrid's mail/send on 127.0.0.1: 429 with X-RateLimit-Reset, 500 and 503 at
    random, else 202 with an X-Message-Id, keeping one copy for every recipient of the
    request. ``lost`` is the share of requests it takes (202 and all) and then hangs up
    on without answering."""

    def __init__(
        self,
        seed: int,
        *,
        limited: float = 0.04,
        errors: float = 0.03,
        unavailable: float = 0.03,
        lost: float = 0.0,
    ):
        self.kept: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        chances = (("429", limited), ("500", errors), ("503", unavailable), ("lost", lost))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with fake._lock:
                    fault = _draw(fake._rng, chances)
                    fake.seen[fault or "202"] += 1
                    if fault in (None, "lost"):
                        for personalization in json.loads(body)["personalizations"]:
                            fake.kept.update(to["email"] for to in personalization["to"])
                if fault == "lost":
                    self.close_connection = True
                    return
                headers = {"X-Message-Id": f"fake{sum(fake.seen.values())}"}
                status = 202 if fault is None else int(fault)
                if fault == "429":
                    headers = {"X-RateLimit-Reset": str(int(time.time()) + 1)}
                payload = b"" if status == 202 else b'{"errors":[{"message":"try again"}]}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _draw(rng: random.Random, chances: tuple[tuple[str, float], ...]) -> str | None:
    roll = rng.random()
    for name, chance in chances:
        if roll < chance:
            return name
        roll -= chance
    return None
