"""For tests: messages are kept in a list instead of being sent.

Like Django's ``mail.outbox``, every backend made by ``get_backend`` with ``backend =
"memory"`` appends to the module's :data:`outbox` and honours the module's
:data:`refusals`, so a test reaches them without holding the backend; a backend made
directly can be given lists of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Self

from mailer.delivery.base import MessageBackend, failed, retry
from mailer.delivery.message import Outcome, Recipient, RecipientResult

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["MemoryBackend", "Refusal", "outbox", "refusals"]


@dataclass(frozen=True)
class Refusal:
    """What the pretend server answers for an address: a 5xx code is a bounce (FAILED),
    a 4xx one a deferral (RETRY)."""

    code: int = 550
    text: str = "5.1.1 mailbox unavailable"

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


#: Every message the memory backends accepted, parsed, in order.
outbox: list[EmailMessage] = []
#: Addresses (lower-cased) the memory backends refuse, and how.
refusals: dict[str, Refusal] = {}

_parser = BytesParser(policy=policy.default)


class MemoryBackend(MessageBackend):
    """Keeps each message as an ``EmailMessage`` in ``messages``; refuses the
    addresses in ``refused``."""

    name = "memory"

    def __init__(
        self,
        messages: list[EmailMessage] | None = None,
        refused: dict[str, Refusal] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(clock=clock)
        self.messages = outbox if messages is None else messages
        self.refused = refusals if refused is None else refused

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls()

    def refuse(self, address: str, code: int = 550, text: str = "") -> None:
        """Refuse ``address`` from now on, with ``code`` (5xx: bounce, 4xx: retry)."""
        default = "5.1.1 mailbox unavailable" if code >= 500 else "4.2.0 try again later"
        self.refused[address.lower()] = Refusal(code, text or default)

    def deliver(self, recipient: Recipient, message: bytes, message_id: str) -> RecipientResult:
        refusal = self.refused.get(recipient.email.lower())
        if refusal is not None:
            if refusal.code >= 500:
                return failed(recipient, str(refusal), bounce=True)
            return retry(recipient, str(refusal))
        self.messages.append(_parser.parsebytes(message))
        return RecipientResult(recipient.delivery_id, Outcome.SENT, provider_message_id=message_id)
