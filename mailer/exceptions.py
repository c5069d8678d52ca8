"""Every error mailer raises on purpose, in one tree.

::

    MailerError
    ├── ConfigError (ValueError)          a missing or invalid setting, named with its source
    ├── InputError (ValueError)           bad input from a user, named with where it is
    │   ├── InvalidAddress                an email address that does not validate
    │   └── FileInputError                a file that cannot be read, or lacks what it needs
    ├── PartialImport                     an import interrupted part way (re-running completes it)
    ├── NotFound (LookupError)            a list, subscriber, ... that does not exist
    ├── AlreadyExists                     a name that is taken
    └── StateError                        an action that the current state does not allow

Errors carry their context (the file, the line, the field) and ``str()`` shows it, so the
command line prints them as one line without a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AlreadyExists",
    "ConfigError",
    "FileInputError",
    "InputError",
    "InvalidAddress",
    "MailerError",
    "NotFound",
    "PartialImport",
    "StateError",
]


class MailerError(Exception):
    """Base of every error mailer raises on purpose."""


class ConfigError(MailerError, ValueError):
    """A setting is missing or invalid; ``source`` is the file or variable it came from."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.key = key
        self.source = source
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(MailerError, ValueError):
    """Input from a user is wrong."""


class InvalidAddress(InputError):
    """An email address does not validate; ``address`` is what was given."""

    def __init__(self, address: str, reason: str):
        self.address = address
        self.reason = reason
        super().__init__(f"invalid email address {address!r}: {reason}")


class FileInputError(InputError):
    """A file cannot be used; names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class NotFound(MailerError, LookupError):
    """Something named does not exist; ``kind`` and ``name`` say what."""

    def __init__(self, kind: str, name: str, hint: str = ""):
        self.kind = kind
        self.name = name
        super().__init__(f"no {kind} {name!r}" + (f" ({hint})" if hint else ""))


class AlreadyExists(MailerError):
    """A name is already taken."""

    def __init__(self, kind: str, name: str):
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} {name!r} already exists")


class StateError(MailerError):
    """The action is not allowed in the current state; the message says why."""


class PartialImport(MailerError):
    """An import stopped part way; what was committed stays, and running the same import
    again completes it. ``summary`` says how far it got."""

    def __init__(self, summary: object, line: int, cause: str):
        self.summary = summary
        self.line = line
        super().__init__(
            f"import stopped at line {line} ({cause}); rows before it are stored, and "
            "running the same import again completes it"
        )
