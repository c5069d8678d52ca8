"""The one interface every delivery backend has (Django's mail backend, in batches).

::

    with get_backend(settings) as backend:      # open() ... close()
        results = backend.send_batch(batch)     # one RecipientResult per recipient

``send_batch`` opens the backend for itself if the caller has not, and then closes what
it opened. A refusal of one recipient is that recipient's result (FAILED, with ``bounce``
for a permanent refusal by the receiving server, or RETRY; UNKNOWN when the message went
out whole and the answer was lost); ``BackendError`` is raised
only when the whole batch failed, with ``retryable`` saying whether to try again and
``results`` listing what was handed over before the failure.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from mailer.delivery.message import Batch, Outcome, Recipient, RecipientResult
from mailer.delivery.mime import MessageBuilder
from mailer.exceptions import BackendError, InvalidMessage

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["Backend", "MessageBackend", "failed", "retry", "unknown", "withdrawn"]


class Backend(ABC):
    """Hands batches over to a server, a provider, a folder or a list."""

    #: How errors and logs name the backend.
    name: ClassVar[str]
    #: How many batches a campaign may have in flight at once through one backend: an
    #: HTTP API keeps several requests busy, while an SMTP pool spreads one batch over
    #: its connections (a second batch in flight measured no faster).
    parallel_batches: ClassVar[int] = 1
    #: Recipients a batch holds unless ``send_batch_size`` says otherwise: what the
    #: backend hands over best in one go.
    batch_size: ClassVar[int] = 500
    #: Told (seconds to hold off, why) when the provider says "too many" (SendGrid's
    #: 429), so that whoever sends beside this backend (workers on other machines) slows
    #: down too; the backend waits and tries again by itself either way.
    on_throttled: Callable[[float, str], None] | None = None

    def throttled(self, seconds: float, reason: str) -> None:
        """Say that the provider asked to slow down for ``seconds``."""
        if self.on_throttled is not None:
            self.on_throttled(seconds, reason)

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The backend configured by ``settings``; raises ConfigError if it cannot be."""

    def open(self) -> bool:
        """Open connections (if the backend has any); True if this call opened them,
        False if they were open already. Raises BackendError if it cannot."""
        return False

    def close(self) -> None:  # noqa: B027 - optional, like open()
        """Close what :meth:`open` opened; safe to call more than once."""

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def send_batch(self, batch: Batch) -> list[RecipientResult]:
        """Hand ``batch`` over: one result per recipient, in the batch's order."""


class MessageBackend(Backend):
    """A backend that hands over one RFC 5322 message per recipient (the outbox, the
    in-memory list; SMTP adds connections and concurrency). Subclasses implement
    :meth:`deliver`; a recipient whose message cannot be built (a line break in a
    name, say) gets a FAILED result and the others go on."""

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self.clock = clock

    def send_batch(self, batch: Batch) -> list[RecipientResult]:
        created = self.open()
        try:
            builder = self.builder(batch)
            results = []
            for recipient in batch.recipients:
                reason = batch.withdrawn(recipient.delivery_id) if batch.withdrawn else None
                if reason is not None:
                    results.append(withdrawn(recipient, reason))
                    continue
                message = self.build(builder, recipient)
                if isinstance(message, RecipientResult):
                    results.append(message)
                    continue
                try:
                    results.append(self.deliver(recipient, message, builder.message_id(recipient)))
                except BackendError as err:
                    err.results = [*results, *err.results]
                    raise
            return results
        finally:
            if created:
                self.close()

    def builder(self, batch: Batch) -> MessageBuilder:
        """The batch's builder; raises for a problem every message would share."""
        return MessageBuilder(batch.content, clock=self.clock)

    def build(self, builder: MessageBuilder, recipient: Recipient) -> bytes | RecipientResult:
        """The recipient's message, or a FAILED result saying why there is none."""
        try:
            return builder.build(recipient)
        except InvalidMessage as err:
            return failed(recipient, str(err))

    @abstractmethod
    def deliver(self, recipient: Recipient, message: bytes, message_id: str) -> RecipientResult:
        """Hand over one recipient's message; raises BackendError if no message of the
        batch can be handed over now."""


def failed(recipient: Recipient, error: str, *, bounce: bool = False) -> RecipientResult:
    return RecipientResult(recipient.delivery_id, Outcome.FAILED, error=error, bounce=bounce)


def retry(recipient: Recipient, error: str) -> RecipientResult:
    return RecipientResult(recipient.delivery_id, Outcome.RETRY, error=error)


def unknown(recipient: Recipient, error: str) -> RecipientResult:
    return RecipientResult(recipient.delivery_id, Outcome.UNKNOWN, error=error)


def withdrawn(recipient: Recipient, reason: str) -> RecipientResult:
    return RecipientResult(recipient.delivery_id, Outcome.SKIPPED, error=reason)
