"""One SMTP connection (smtplib) and the transaction that hands one message over.

When the server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go out in one write
and their three replies are read after it. The next message's MAIL, RCPT and DATA may go
out behind a message's data, in the same write (RFC 2920 3.1 lets a group begin with
message content): a message then costs one round trip instead of four, and the round
trip is most of the time a message takes, on loopback as across a network.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from typing import Literal

from mailer.exceptions import BackendError
from mailer.settings.smtp_url import SmtpConfig

__all__ = ["Dropped", "Reply", "SmtpConnection", "Stage"]

#: Where a transaction ended: the reply to MAIL, RCPT, DATA, or to the message itself.
Stage = Literal["mail", "rcpt", "data", "message"]

_CLOSING = 421  # "service not available, closing transmission channel"


class Dropped(Exception):
    """The connection broke or the server closed it (421).

    Before the end of a message's data, or with a 421 in answer to it, the server does
    not have the message: reopen the connection and try again. With ``reply_lost`` the
    message's final "." had gone out and no answer came: the server may have taken the
    message before its answer was lost on the way (RFC 1047), and sending it again may
    deliver it twice."""

    def __init__(self, message: str, *, reply_lost: bool = False):
        super().__init__(message)
        self.reply_lost = reply_lost


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class SmtpConnection:
    """A connection that is opened on demand and used by one thread at a time."""

    backend = "SMTP"

    def __init__(self, config: SmtpConfig, ssl_context: ssl.SSLContext, helo: str):
        self.config = config
        self._context = ssl_context
        self._helo = helo
        self._smtp: smtplib.SMTP | None = None
        self._pipelining = False
        #: Whether the server offers SMTPUTF8 (RFC 6531), known once open.
        self.smtputf8 = False
        # The (sender, recipient) whose MAIL, RCPT and DATA went out behind the last
        # message, their replies unread: the server waits for that message's data now.
        self._announced: tuple[str, str] | None = None

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    @property
    def awaiting_data(self) -> bool:
        """Whether the server waits for the data of a message announced with ``then``."""
        return self._announced is not None

    def open(self) -> None:
        """Connect, say EHLO, start TLS and log in as configured; raises BackendError
        saying whether trying later may help."""
        config = self.config
        try:
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    local_hostname=self._helo,
                    timeout=config.timeout,
                    context=self._context,
                )
            else:
                smtp = smtplib.SMTP(
                    config.host, config.port, local_hostname=self._helo, timeout=config.timeout
                )
        except (OSError, smtplib.SMTPException) as err:
            raise self._error("cannot connect", err) from err
        try:
            smtp.ehlo()
            if config.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if config.username is not None:
                smtp.login(config.username, config.password or "")
        except (OSError, smtplib.SMTPException) as err:
            _close_quietly(smtp)
            raise self._error("cannot set up the session", err) from err
        self._smtp = smtp
        self._pipelining = smtp.has_extn("pipelining")
        self.smtputf8 = smtp.has_extn("smtputf8")
        if self.smtputf8:
            # Commands may then carry UTF-8 addresses (smtplib sends ASCII otherwise).
            smtp.command_encoding = "utf-8"

    def close(self) -> None:
        """Say QUIT and close; never raises."""
        if self.awaiting_data:
            # The server is reading a message's data: QUIT would be part of it, and "."
            # would send an empty message. Hanging up drops the transaction.
            self.abort()
            return
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _close_quietly(smtp)

    def abort(self) -> None:
        """Drop the connection without a word (it is broken already)."""
        smtp, self._smtp = self._smtp, None
        self._announced = None
        if smtp is not None:
            _close_quietly(smtp)

    def transaction(
        self,
        sender: str,
        recipient: str,
        message: bytes,
        then: tuple[str, str] | None = None,
        *,
        dot_safe: bool = False,
    ) -> tuple[Stage, Reply]:
        """Hand ``message`` over from ``sender`` to ``recipient``: the stage that ended the
        transaction and its reply, ``("message", 250 ...)`` when the server took it.
        A non-ASCII ``recipient`` goes by SMTPUTF8, which the caller has seen
        :attr:`smtputf8` offer. Raises Dropped if the connection broke on the way.

        ``then`` is the (sender, recipient) of the message the caller will hand over
        next on this connection, built already: where the server pipelines, its envelope
        goes out behind this message's data, and the next call must be for it (or
        :meth:`close` hangs up rather than leave the server a message to finish).

        ``dot_safe`` says that no line of ``message`` begins with a dot, as none of a
        MessageBuilder's does: it then goes without dot-stuffing, which would cost a scan
        of the whole message."""
        smtp = self._smtp
        if smtp is None:
            raise Dropped("not connected")
        try:
            if not dot_safe:
                message = dot_stuffed(message)
            if self._pipelining:
                return self._pipelined(smtp, sender, recipient, message, then)
            return self._stepwise(smtp, _mail_from(sender, recipient), recipient, message)
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self.abort()
            raise Dropped(str(err) or type(err).__name__) from err

    def _pipelined(
        self,
        smtp: smtplib.SMTP,
        sender: str,
        recipient: str,
        message: bytes,
        then: tuple[str, str] | None,
    ) -> tuple[Stage, Reply]:
        announced, self._announced = self._announced, None
        if announced is None:
            smtp.send(_envelope(sender, recipient))
        elif announced != (sender, recipient):
            self.abort()
            raise RuntimeError(f"the envelope sent ahead was {announced}, not {sender, recipient}")
        mail, rcpt, data = _reply(smtp), _reply(smtp), _reply(smtp)
        refused: tuple[Stage, Reply] | None = None
        if mail.code != 250:
            refused = ("mail", mail)
        elif rcpt.code not in (250, 251):
            refused = ("rcpt", rcpt)
        if refused is not None:
            if data.code == 354:
                # A server that accepted DATA without a recipient gets an empty message.
                smtp.send(b".\r\n")
                _reply(smtp)
            self._reset(smtp)
            return refused
        if data.code != 354:
            self._reset(smtp)
            return "data", data
        following = b""
        if then is not None:
            following = _envelope(*then)
            self._announced = then
        return "message", self._send_data(smtp, message, following)

    def _stepwise(
        self, smtp: smtplib.SMTP, mail_from: str, recipient: str, message: bytes
    ) -> tuple[Stage, Reply]:
        stages: tuple[tuple[Stage, str, str, tuple[int, ...]], ...] = (
            ("mail", "MAIL", mail_from, (250,)),
            ("rcpt", "RCPT", f"TO:<{recipient}>", (250, 251)),
            ("data", "DATA", "", (354,)),
        )
        for stage, command, argument, expected in stages:
            smtp.putcmd(command, argument)
            reply = _reply(smtp)
            if reply.code not in expected:
                self._reset(smtp)
                return stage, reply
        return "message", self._send_data(smtp, message)

    def _send_data(self, smtp: smtplib.SMTP, data: bytes, following: bytes = b"") -> Reply:
        """Send the message's data, its final "." and ``following``, and read the answer
        to the message. Raises Dropped with ``reply_lost`` if the line broke once the "."
        had gone out: from then on, only the answer says whether the server took it."""
        end = b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"
        try:
            _write(smtp, data + end + following)
            code, text = smtp.getreply()
        except _PartlyWritten as err:
            if err.written < len(data) + len(end):
                raise  # the server cannot have taken a message whose end it never saw
            raise self._lost(err) from err
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            raise self._lost(err) from err
        reply = Reply(code, text.decode("utf-8", "replace"))
        if code == _CLOSING:
            # An answer all the same: the server did not take the message.
            raise smtplib.SMTPServerDisconnected(str(reply))
        if not 200 <= code < 600:
            raise self._lost(reply)
        return reply

    def _lost(self, cause: object) -> Dropped:
        self.abort()
        return Dropped(f"no answer to the message's data: {cause}", reply_lost=True)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        # After a refusal the transaction is reset; a connection that will not reset is
        # dropped, and the next message opens a new one. The refusal stands either way.
        try:
            if _reply_to(smtp, "RSET").code == 250:
                return
        except (OSError, smtplib.SMTPServerDisconnected):
            pass
        self.abort()

    def _error(self, doing: str, err: Exception) -> BackendError:
        where = self.config.address
        if isinstance(err, smtplib.SMTPResponseException):
            error = err.smtp_error
            text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            return BackendError(
                self.backend,
                f"{doing} to {where}: {err.smtp_code} {text}",
                status=err.smtp_code,
                body=text,
                retryable=400 <= err.smtp_code < 500,
            )
        # A certificate that does not verify, or an extension the server lacks
        # (STARTTLS, AUTH), is a matter of configuration: trying again will not help.
        permanent = isinstance(err, ssl.SSLCertVerificationError | smtplib.SMTPNotSupportedError)
        if (
            isinstance(err, smtplib.SMTPNotSupportedError)
            and "AUTH" in str(err)
            and self.config.security == "none"
        ):
            # Servers offer AUTH only over TLS, as RFC 8314 asks.
            return BackendError(
                self.backend,
                f"{doing} to {where}: {err} (over plain text: add ?starttls=true to "
                "smtp_url, or use smtps://)",
                retryable=False,
            )
        # smtplib has no type of its own for "No suitable authentication method found."
        if isinstance(err, smtplib.SMTPException) and "authentication method" in str(err):
            permanent = True
        return BackendError(self.backend, f"{doing} to {where}: {err}", retryable=not permanent)


def dot_stuffed(message: bytes) -> bytes:
    """``message`` with a dot put before every line that begins with one (RFC 5321
    4.5.2). Its lines end in CRLF only (MessageBuilder makes them so), which lets a plain
    replace do in microseconds what a multi-line regex does in a tenth of a millisecond."""
    data = message.replace(b"\r\n.", b"\r\n..")
    return b"." + data if data.startswith(b".") else data


def _mail_from(sender: str, recipient: str) -> str:
    """The argument of MAIL: SMTPUTF8 only where needed, as a server may refuse it."""
    return f"FROM:<{sender}>" if recipient.isascii() else f"FROM:<{sender}> SMTPUTF8"


def _envelope(sender: str, recipient: str) -> bytes:
    """MAIL, RCPT and DATA as one pipelined write."""
    return f"MAIL {_mail_from(sender, recipient)}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()


def _write(smtp: smtplib.SMTP, data: bytes) -> int:
    """Write all of ``data``; returns its length. A write that fails raises
    _PartlyWritten, which says how many bytes the system took before it failed."""
    sock = smtp.sock
    if sock is None:
        raise smtplib.SMTPServerDisconnected("not connected")
    view, written = memoryview(data), 0
    try:
        while written < len(view):
            written += sock.send(view[written:])
    except OSError as err:
        raise _PartlyWritten(written, err) from err
    return written


class _PartlyWritten(OSError):
    def __init__(self, written: int, err: OSError):
        super().__init__(f"{err} (after {written} bytes)")
        self.written = written


def _reply(smtp: smtplib.SMTP) -> Reply:
    code, text = smtp.getreply()
    reply = Reply(code, text.decode("utf-8", "replace"))
    if code == _CLOSING or not 200 <= code < 600:
        # Closing, or a reply that is not SMTP: the connection cannot be trusted further.
        raise smtplib.SMTPServerDisconnected(str(reply))
    return reply


def _reply_to(smtp: smtplib.SMTP, command: str) -> Reply:
    smtp.putcmd(command)
    return _reply(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
