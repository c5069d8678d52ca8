"""Every error mailer raises on purpose, in one tree.

::

    MailerError
    ├── ConfigError (ValueError)          a missing or invalid setting, named with its source
    │   └── NotReady                      settings that cannot send real mail (readiness)
    ├── InputError (ValueError)           bad input from a user, named with where it is
    │   ├── InvalidAddress                an email address that does not validate
    │   ├── TooLarge                      input, or a value built from it, over one of our limits
    │   ├── FileInputError                a file that cannot be read, or lacks what it needs
    │   └── ArticleError                  an article (file or URL) that cannot be read or used
    ├── PartialImport                     an import interrupted part way (re-running completes it)
    ├── NotFound (LookupError)            a list, subscriber, ... that does not exist
    ├── AlreadyExists                     a name that is taken
    ├── StateError                        an action that the current state does not allow
    ├── DatabaseUnavailable               the database stayed out of reach (a lost connection,
    │                                     a locked SQLite file) for as long as it was retried
    ├── RenderError                       a template that fails, named with template and line
    ├── WebhookRefused                    a webhook request that is not (or no longer) its
    │                                     provider's; carries the HTTP status to answer
    ├── SignInRefused                     an admin sign-in refused: the same answer for a wrong
    │                                     password and an unknown account, or too many tries
    ├── NotAllowed                        an admin action that the account's role does not allow
    └── DeliveryError                     handing mail over to a server or provider failed
        ├── BackendError                  a whole batch failed; names the backend, status and
        │                                 response, and says whether to retry (``retryable``)
        └── InvalidMessage (ValueError)   a message that cannot be built or sent as given
            └── HeaderInjection           a line break or control character in a header

Errors carry their context (the file, the line, the field) and ``str()`` shows it, so the
command line prints them as one line without a traceback. Input that an error quotes goes
through ``quoted``, which shows at most a few dozen characters of it: a 200 KB line of
binary garbage must not become a 200 KB error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailer.delivery.message import RecipientResult

__all__ = [
    "AlreadyExists",
    "ArticleError",
    "BackendError",
    "ConfigError",
    "DatabaseUnavailable",
    "DeliveryError",
    "FileInputError",
    "HeaderInjection",
    "InputError",
    "InvalidAddress",
    "InvalidMessage",
    "MailerError",
    "NotFound",
    "NotReady",
    "PartialImport",
    "RenderError",
    "StateError",
    "TooLarge",
    "WebhookRefused",
    "quoted",
]

QUOTE_LIMIT = 40


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(text)`` for an error message, cut to its first ``limit`` characters (with
    the full length said) when it is longer."""
    value = text if isinstance(text, str) else str(text)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


class MailerError(Exception):
    """Base of every error mailer raises on purpose."""


class ConfigError(MailerError, ValueError):
    """A setting is missing or invalid; ``source`` is the file or variable it came from."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.key = key
        self.source = source
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class NotReady(ConfigError):
    """The settings are valid but cannot send real mail yet (an http:// base_url, no
    postal address, a placeholder sender); ``problems`` lists every one, the message
    shows the first with its fix."""

    def __init__(self, problems: Sequence[Any]):
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        rest = f" (and {more} more: mailer check lists them)" if more else ""
        super().__init__(f"{first.message}; {first.fix}{rest}", key=first.key)


class InputError(MailerError, ValueError):
    """Input from a user is wrong."""


class InvalidAddress(InputError):
    """An email address does not validate; ``address`` is what was given."""

    def __init__(self, address: str, reason: str):
        self.address = address
        self.reason = reason
        super().__init__(f"invalid email address {quoted(address)}: {reason}")


class TooLarge(InputError):
    """Input, or a value an expression would build from it, is over a limit; ``what``
    names it (``name``, ``segment``, ``text``), ``size`` and ``limit`` say by how much."""

    def __init__(self, what: str, size: int, limit: int, unit: str = "characters"):
        self.what = what
        self.size = size
        self.limit = limit
        super().__init__(f"{what} has {size:,} {unit}; the limit is {limit:,}")


class FileInputError(InputError):
    """A file cannot be used; names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class ArticleError(InputError):
    """An article cannot be read or lacks what an email needs (a title, any content);
    ``source`` is the file or URL, ``line`` the line where known."""

    def __init__(self, source: Path | str, message: str, *, line: int | None = None):
        self.source = str(source)
        self.line = line
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {message}")


class NotFound(MailerError, LookupError):
    """Something named does not exist; ``kind`` and ``name`` say what."""

    def __init__(self, kind: str, name: str, hint: str = ""):
        self.kind = kind
        self.name = name
        super().__init__(f"no {kind} {quoted(name)}" + (f" ({hint})" if hint else ""))


class AlreadyExists(MailerError):
    """A name is already taken."""

    def __init__(self, kind: str, name: str):
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} {quoted(name)} already exists")


class StateError(MailerError):
    """The action is not allowed in the current state; the message says why."""


class DatabaseUnavailable(MailerError):
    """The database could not be reached, or stayed locked, for ``seconds`` of retrying;
    ``cause`` is the driver's message in one line. ``unwritten`` holds what a batch
    worker could not write into the ledger (a :class:`~mailer.campaigns.dispatch.Handover`:
    messages already handed over), so that the sender writes it once the database is
    back instead of forgetting it. ``campaign_id`` is set when a sender could not even
    pause its campaign: it stays ``sending``, and ``resume`` completes it."""

    def __init__(
        self,
        cause: str,
        seconds: float,
        *,
        unwritten: object = None,
        campaign_id: int | None = None,
    ):
        self.cause = cause
        self.seconds = seconds
        self.unwritten = unwritten
        self.campaign_id = campaign_id
        shown = f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"
        super().__init__(f"the database could not be reached for {shown} s ({cause})")

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in send worker processes, too: it must cross back whole.
        options = {"unwritten": self.unwritten, "campaign_id": self.campaign_id}
        return (_database_unavailable, (self.cause, self.seconds, options))


def _database_unavailable(
    cause: str, seconds: float, options: dict[str, Any]
) -> DatabaseUnavailable:
    return DatabaseUnavailable(cause, seconds, **options)


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


class RenderError(MailerError):
    """A template or a per-recipient expression fails; ``template`` names it (a template
    file, or where an expression came from, such as ``subject``) and ``line`` the line."""

    def __init__(self, template: str, message: str, *, line: int | None = None):
        self.template = template
        self.line = line
        where = f"{template}:{line}" if line is not None else template
        super().__init__(f"{where}: {message}")


class WebhookRefused(MailerError):
    """A webhook request that is not (or no longer) a valid request of its provider, or
    names no provider that is on; ``status`` is the HTTP status it is answered with."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class SignInRefused(MailerError):
    """An admin sign-in refused. The message is the same whether the account exists or
    not; ``retry_after`` (seconds) is set when it was refused for too many failures."""

    def __init__(self, message: str, *, retry_after: int | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class NotAllowed(MailerError):
    """An admin action that needs the role ``needed`` (a :class:`~mailer.storage.Role`'s
    value), which the signed-in account does not have."""

    def __init__(self, action: str, needed: str):
        self.action = action
        self.needed = needed
        article = "an" if needed[0] in "aeiou" else "a"
        super().__init__(f"{action} needs {article} {needed}'s role")


class DeliveryError(MailerError):
    """Mail could not be handed over to a server or provider."""


class BackendError(DeliveryError):
    """A backend failed a whole batch (refusals of single recipients are results, not
    errors). ``retryable`` says whether the same batch may succeed later; ``results``
    holds the recipients already handed over before the failure, so that they are
    recorded and not sent twice. ``str()`` names the backend and shows the response:
    ``SendGrid API response 400: from.email: does not contain a valid address``."""

    def __init__(
        self,
        backend: str,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        retryable: bool = False,
        results: Sequence[RecipientResult] = (),
    ):
        self.backend = backend
        self.status = status
        self.body = body
        self.retryable = retryable
        self.results = list(results)
        self.message = message
        super().__init__(f"{backend} {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Batches may be sent in worker processes: the error must cross back whole.
        options = {
            "status": self.status,
            "body": self.body,
            "retryable": self.retryable,
            "results": self.results,
        }
        return (_backend_error, (self.backend, self.message, options))


def _backend_error(backend: str, message: str, options: dict[str, Any]) -> BackendError:
    return BackendError(backend, message, **options)


class InvalidMessage(DeliveryError, ValueError):
    """A message cannot be built or sent as given (an address that needs SMTPUTF8, a
    header line over 998 characters, a payload over a provider's limits)."""


class HeaderInjection(InvalidMessage):
    """A header name or value holds a line break or another control character, which
    would let it add headers of its own; ``header`` names the header."""

    def __init__(self, header: str, value: str):
        self.header = header
        self.value = value
        super().__init__(
            f"header {header!r} contains a line break or control character: {quoted(value)}"
        )
