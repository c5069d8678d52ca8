"""SMTP: a pool of reused connections, each driven by a thread of its own.

smtplib with threads, not aiosmtplib with asyncio: the work per message is a few socket
reads and writes around C-level encoding, and measured against Postfix's smtp-sink on
loopback, threads moved about twice the messages per second of asyncio (and pipelining,
see :mod:`mailer.delivery.smtp_connection`, a third more again).

Each worker takes recipients from the batch in turn, so a slow connection holds up
only its own message. Per recipient: a 5xx refusal is FAILED with ``bounce``, a 4xx one
RETRY; a connection that drops before the end of the message's data is reopened and the
message tried once more, while one that drops after it, before the answer came, leaves
the message UNKNOWN (the server may have it). An address
with a non-ASCII local part goes by SMTPUTF8 (RFC 6531) where the server offers it, and
is FAILED (not as a bounce) where it does not. What stops the whole batch raises
BackendError: a server that cannot be reached or logged in to, or one that refuses the
sender for good.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Self

from mailer.delivery.base import Backend, failed, retry, unknown, withdrawn
from mailer.delivery.dkim import DkimSigner
from mailer.delivery.message import Batch, Outcome, Recipient, RecipientResult
from mailer.delivery.mime import MessageBuilder
from mailer.delivery.smtp_connection import Dropped, Reply, SmtpConnection, Stage
from mailer.exceptions import BackendError, ConfigError, InvalidMessage
from mailer.settings.smtp_url import SmtpConfig, parse_smtp_url

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["SmtpBackend"]


class SmtpBackend(Backend):
    """Sends through the SMTP server of ``config`` over up to ``concurrency``
    connections, signing with ``dkim`` when given."""

    name = "SMTP"

    def __init__(
        self,
        config: SmtpConfig,
        *,
        concurrency: int | None = None,
        dkim: DkimSigner | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.concurrency = concurrency or config.concurrency or 4
        self.dkim = dkim
        self.clock = clock
        self._context = ssl_context or ssl.create_default_context()
        self._helo = config.helo or socket.getfqdn()
        self._idle: list[SmtpConnection] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if settings.smtp_url is None:
            raise ConfigError("missing: backend = smtp needs it", key="smtp_url")
        try:
            config = parse_smtp_url(settings.smtp_url.get_secret_value())
        except ValueError as err:
            raise ConfigError(str(err), key="smtp_url") from err
        return cls(
            config,
            concurrency=config.concurrency or settings.smtp_concurrency,
            dkim=DkimSigner.from_settings(settings),
        )

    def open(self) -> bool:
        """Connect once (so that a wrong host, certificate or password shows now) and
        start the workers; False if open already."""
        if self._executor is not None:
            return False
        connection = SmtpConnection(self.config, self._context, self._helo)
        connection.open()
        self._idle.append(connection)
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="smtp")
        return True

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def send_batch(self, batch: Batch) -> list[RecipientResult]:
        created = self.open()
        try:
            assert self._executor is not None
            job = _Job(MessageBuilder(batch.content, clock=self.clock), batch)
            workers = min(self.concurrency, len(batch.recipients))
            futures = [self._executor.submit(self._work, job) for _ in range(workers)]
            for future in futures:
                future.result()
            error = job.error
            if error is None and any(result is None for result in job.results):
                # Every worker lost its connection and could not open another.
                error = job.lost[0]
            if error is not None:
                error.results = job.finished()
                raise error
            return job.finished()
        finally:
            if created:
                self.close()

    def _work(self, job: _Job) -> None:
        connection = self._checkout()
        try:
            if not connection.is_open:
                connection.open()
            # Each message is built before the one ahead of it is handed over, so that
            # its envelope can go out with that one's data (see SmtpConnection).
            ready = self._ready(job, connection)
            current = next(ready, None)
            while current is not None:
                following = next(ready, None)
                index, recipient, message = current
                try:
                    job.results[index] = self._send(
                        connection,
                        job.builder,
                        recipient,
                        message,
                        None if following is None else following[1].email,
                    )
                except BackendError as err:
                    # The connection dropped and will not open again: this message
                    # and the one built after it wait for a later try.
                    job.results[index] = retry(recipient, str(err))
                    if following is not None:
                        job.results[following[0]] = retry(following[1], str(err))
                    raise
                current = following
        except BackendError as err:
            # A server that takes fewer connections than we open, or one that went
            # away: the other workers take this one's share, if there are any.
            job.lose(err)
        except _SenderRefused as err:
            job.fail(err.error)
        finally:
            if connection.awaiting_data:
                # Left so by an error we did not expect: the next batch starts clean.
                connection.abort()
            with self._lock:
                self._idle.append(connection)

    def _checkout(self) -> SmtpConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return SmtpConnection(self.config, self._context, self._helo)

    def _ready(
        self, job: _Job, connection: SmtpConnection
    ) -> Iterator[tuple[int, Recipient, bytes]]:
        """The job's next recipients with their messages, built and signed; one whose
        message cannot go gets its FAILED result here instead."""
        builder = job.builder
        for index, recipient in job:
            reason = job.withdrawn(recipient.delivery_id) if job.withdrawn else None
            if reason is not None:
                job.results[index] = withdrawn(recipient, reason)
                continue
            if not (recipient.email.isascii() or connection.smtputf8):
                # Not a bounce: another server may well take it.
                job.results[index] = failed(
                    recipient,
                    f"{recipient.email!r} has a non-ASCII local part, which needs SMTPUTF8, "
                    f"and the server {self.config.address} does not offer it",
                )
                continue
            try:
                message = builder.build(recipient)
            except InvalidMessage as err:
                job.results[index] = failed(recipient, str(err))
                continue
            if self.dkim is not None:
                message = self.dkim.sign(message)
            yield index, recipient, message

    def _send(
        self,
        connection: SmtpConnection,
        builder: MessageBuilder,
        recipient: Recipient,
        message: bytes,
        then: str | None,
    ) -> RecipientResult:
        """Hand over ``recipient``'s message, announcing the recipient ``then`` whose
        message comes next on this connection."""
        sender = builder.content.from_address
        following = None if then is None else (sender, then)
        dropped: Dropped | None = None
        for _attempt in range(2):
            if not connection.is_open:
                connection.open()
            try:
                stage, reply = connection.transaction(
                    # A DKIM signature's lines are dkimpy's to fold: a signed message is
                    # scanned for dots (signing costs a hundred times more anyway).
                    sender,
                    recipient.email,
                    message,
                    following,
                    dot_safe=self.dkim is None,
                )
            except Dropped as err:
                if err.reply_lost:
                    # The server may have it: sending it again could deliver it twice.
                    return unknown(recipient, f"connection lost after the message: {err}")
                dropped = err
                continue
            return self._result(recipient, stage, reply, builder.message_id(recipient))
        return retry(recipient, f"connection dropped twice: {dropped}")

    def _result(
        self, recipient: Recipient, stage: Stage, reply: Reply, message_id: str
    ) -> RecipientResult:
        if stage == "message" and reply.code == 250:
            return RecipientResult(
                recipient.delivery_id, Outcome.SENT, provider_message_id=message_id
            )
        if 400 <= reply.code < 500:
            return retry(recipient, f"{stage}: {reply}")
        if stage == "mail":
            # The sender is the same for every message: no use going on.
            raise _SenderRefused(
                BackendError(
                    self.name,
                    f"server {self.config.address} refused the sender: {reply}",
                    status=reply.code,
                    body=reply.text,
                )
            )
        # A 5xx to RCPT or to the message is the receiving side saying no for good.
        return failed(recipient, f"{stage}: {reply}", bounce=stage in ("rcpt", "message"))


class _SenderRefused(Exception):
    def __init__(self, error: BackendError):
        super().__init__(str(error))
        self.error = error


class _Job:
    """One batch shared by the workers: who is next, and what came of each."""

    def __init__(self, builder: MessageBuilder, batch: Batch):
        self.builder = builder
        self.withdrawn = batch.withdrawn
        recipients = batch.recipients
        self.results: list[RecipientResult | None] = [None] * len(recipients)
        self.error: BackendError | None = None  # stops every worker
        self.lost: list[BackendError] = []  # each stopped one worker
        self._next = iter(enumerate(recipients))
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[tuple[int, Recipient]]:
        while self.error is None:
            with self._lock:
                item = next(self._next, None)
            if item is None:
                return
            yield item

    def fail(self, error: BackendError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error

    def lose(self, error: BackendError) -> None:
        with self._lock:
            self.lost.append(error)

    def finished(self) -> list[RecipientResult]:
        return [result for result in self.results if result is not None]
