"""The embedded default: every message an RFC 5322 ``.eml`` file in ``outbox_dir``.

Nothing is sent; any mail client opens the files. A file appears whole or not at all:
it is written under a temporary name in the same folder, flushed to disk and renamed,
and a rename within a folder is atomic. Sending a delivery again replaces its file.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import quote

from mailer.delivery.base import MessageBackend
from mailer.delivery.message import Outcome, Recipient, RecipientResult
from mailer.exceptions import BackendError

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["OutboxBackend", "outbox_path"]


def outbox_path(folder: Path, delivery_id: str) -> Path:
    """Where the message of ``delivery_id`` is written: ``<delivery id>.eml``, with any
    character that is not safe in a file name percent-encoded."""
    name = quote(delivery_id, safe="-_.@+=")
    if name.startswith("."):
        # Neither a hidden file nor "..".
        name = "%2E" + name[1:]
    return folder / f"{name}.eml"


class OutboxBackend(MessageBackend):
    """Writes each message to ``folder`` (created if missing)."""

    name = "outbox"

    def __init__(self, folder: Path, *, fsync: bool = True, clock: Callable[[], float] = time.time):
        super().__init__(clock=clock)
        self.folder = Path(folder)
        self.fsync = fsync

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.outbox_dir)

    def open(self) -> bool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BackendError(self.name, f"cannot create {self.folder}: {err}") from err
        return False

    def deliver(self, recipient: Recipient, message: bytes, message_id: str) -> RecipientResult:
        path = outbox_path(self.folder, recipient.delivery_id)
        try:
            self._write(path, message)
        except OSError as err:
            # A full disk or a read-only folder fails every message alike.
            raise BackendError(self.name, f"cannot write {path}: {err}", retryable=True) from err
        return RecipientResult(recipient.delivery_id, Outcome.SENT, provider_message_id=message_id)

    def _write(self, path: Path, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                if self.fsync:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
