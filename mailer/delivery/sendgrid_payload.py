"""The body of SendGrid's ``POST /v3/mail/send`` for a batch, built apart from sending.

One request carries the content once and one personalization per recipient, with the
recipient's ``substitutions`` (SendGrid fills the tokens of subject, HTML and text on
its side) and our delivery id in ``custom_args``, which SendGrid's event webhook hands
back with every event of that message. The campaign is the request's category.

SendGrid's limits (docs of mail/send) are checked here, and so are header injections:
:meth:`PayloadBuilder.personalization` raises InvalidMessage for a recipient that would
break one (the backend fails that recipient alone), the constructor for a content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mailer.addresses import has_control
from mailer.delivery.headers import (
    RESERVED_HEADERS,
    check_address,
    check_header,
    message_id,
)
from mailer.delivery.message import Batch, Content, Recipient
from mailer.delivery.mime import DELIVERY_HEADER, sender_domain
from mailer.exceptions import InvalidMessage
from mailer.rendering.substitution import Filler

__all__ = [
    "CAMPAIGN_ARG",
    "DELIVERY_ARG",
    "MAX_PERSONALIZATIONS",
    "MAX_REQUEST_BYTES",
    "PayloadBuilder",
    "build_payload",
    "encode_payload",
    "payload_bytes",
]

MAX_PERSONALIZATIONS = 1000
MAX_SUBSTITUTION_BYTES = 10_000  # per personalization, keys and values
MAX_CUSTOM_ARGS_BYTES = 10_000  # "must not exceed", as JSON
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_REQUEST_BYTES = 30_000_000

#: The ``custom_args`` key of our delivery id, per personalization.
DELIVERY_ARG = "mailer_delivery"
#: The ``custom_args`` key of the campaign, for the whole request.
CAMPAIGN_ARG = "mailer_campaign"

_SAFE_ID_LENGTH = (MAX_CUSTOM_ARGS_BYTES - 100) // 12

# Besides those the MIME builder reserves, SendGrid sets these itself.
_SENDGRID_RESERVED = RESERVED_HEADERS | {"x-sg-id", "x-sg-eid", "received"}


class PayloadBuilder:
    """Builds request bodies for recipients of one content; checks the content once."""

    def __init__(self, content: Content):
        self.content = content
        if not content.subject:
            raise InvalidMessage("SendGrid needs a subject")
        if not content.html and not content.text:
            raise InvalidMessage("a message needs an HTML or a text part")
        subject = Filler(content.subject)
        self._subject_tokens = subject.tokens
        self._tokens = subject.tokens | Filler(content.html).tokens | Filler(content.text).tokens
        self._domain = sender_domain(content.from_address)
        check_header("From", content.from_name)
        if content.reply_to:
            check_address(content.reply_to, header="Reply-To")
        check_header("Subject", content.subject)
        headers = dict(_check_headers(content.headers))
        if not any(name.lower() == "precedence" for name in headers):
            headers = {"Precedence": "bulk", **headers}
        if content.campaign and len(content.campaign) > MAX_CATEGORY_LENGTH:
            raise InvalidMessage(
                f"campaign {content.campaign[:40]!r}... is longer than SendGrid's "
                f"{MAX_CATEGORY_LENGTH} characters for a category"
            )
        self._shared = self._shared_part(headers)
        # Names of per-recipient headers found good (the same few for every recipient).
        self._names_checked: set[str] = set()

    def personalization(self, recipient: Recipient) -> dict[str, Any]:
        """The personalization of ``recipient``; raises InvalidMessage saying why
        SendGrid would refuse it (the other recipients can go on without it)."""
        self._check(recipient)
        substitutions = self._substitutions(recipient.substitutions)
        custom_args = {DELIVERY_ARG: recipient.delivery_id}
        # JSON makes a character 12 bytes at most, so only a long id needs measuring.
        if len(recipient.delivery_id) > _SAFE_ID_LENGTH and (
            len(json.dumps(custom_args).encode()) >= MAX_CUSTOM_ARGS_BYTES
        ):
            raise InvalidMessage("the delivery id makes custom_args 10,000 bytes or more")

        to = {"email": recipient.email}
        if recipient.name:
            to["name"] = recipient.name
        personalization: dict[str, Any] = {"to": [to]}
        if substitutions:
            personalization["substitutions"] = substitutions
        personalization["custom_args"] = custom_args
        headers = {**recipient.headers, DELIVERY_HEADER: recipient.delivery_id}
        if not any(name.lower() == "message-id" for name in recipient.headers):
            # On the sender's domain, as SMTP's, instead of one of SendGrid's making;
            # per personalization, so that each recipient's is their own.
            headers["Message-ID"] = message_id(recipient.delivery_id, self._domain)
        personalization["headers"] = headers
        return personalization

    def _check(self, recipient: Recipient) -> None:
        """Raise InvalidMessage if the recipient's address, name, headers or subject
        would make SendGrid refuse the request."""
        if not recipient.email.isascii():
            # mail/send's schema takes addresses of format "email": RFC 5321's, ASCII.
            raise InvalidMessage(
                f"To: {recipient.email!r} has a non-ASCII local part, which SendGrid's "
                "mail/send does not take (send through an SMTP server that offers SMTPUTF8)"
            )
        check_address(recipient.email)
        headers = recipient.headers
        if not self._names_checked.issuperset(headers):
            _check_headers(headers)
            self._names_checked.update(headers)
        values = recipient.substitutions
        subject = [values.get(token, "") for token in self._subject_tokens]
        if has_control("".join([recipient.name, *headers.values(), *subject])):
            # Say which field it is.
            check_header("To", recipient.name)
            _check_headers(headers)
            for value in subject:
                check_header("Subject", value)

    def _substitutions(self, values: Mapping[str, str]) -> Mapping[str, str]:
        """The substitutions the content uses; raises InvalidMessage if they are over
        SendGrid's size."""
        # Only the tokens the content has: the rest would cost bytes of the 10,000.
        if self._tokens.issuperset(values):
            substitutions = values
        else:
            substitutions = {token: values[token] for token in self._tokens if token in values}
        # A character is 4 bytes of UTF-8 at most: only long values need encoding.
        size = sum(map(len, substitutions)) + sum(map(len, substitutions.values()))
        if size * 4 > MAX_SUBSTITUTION_BYTES:
            size = sum(len(k.encode()) + len(v.encode()) for k, v in substitutions.items())
        if size > MAX_SUBSTITUTION_BYTES:
            raise InvalidMessage(
                f"substitutions are {size:,} bytes; SendGrid takes at most "
                f"{MAX_SUBSTITUTION_BYTES:,} per recipient"
            )
        return substitutions

    def body(self, personalizations: list[dict[str, Any]]) -> dict[str, Any]:
        """The request body: the shared part and 1 to 1,000 personalizations."""
        if not 1 <= len(personalizations) <= MAX_PERSONALIZATIONS:
            raise InvalidMessage(
                f"a request takes 1 to {MAX_PERSONALIZATIONS:,} recipients, "
                f"not {len(personalizations):,}"
            )
        return {"personalizations": personalizations, **self._shared}

    def payload(self, recipients: Sequence[Recipient]) -> dict[str, Any]:
        """The request body for ``recipients``; raises InvalidMessage if SendGrid would
        refuse any of them."""
        personalizations = []
        for recipient in recipients:
            try:
                personalizations.append(self.personalization(recipient))
            except InvalidMessage as err:
                raise InvalidMessage(f"{recipient.email}: {err}") from err
        return self.body(personalizations)

    def _shared_part(self, headers: dict[str, str]) -> dict[str, Any]:
        content = self.content
        sender = {"email": content.from_address}
        if content.from_name:
            sender["name"] = content.from_name
        shared: dict[str, Any] = {"from": sender}
        if content.reply_to:
            shared["reply_to"] = {"email": content.reply_to}
        shared["subject"] = content.subject
        # SendGrid wants text/plain before text/html.
        shared["content"] = [
            {"type": kind, "value": value}
            for kind, value in (("text/plain", content.text), ("text/html", content.html))
            if value
        ]
        shared["headers"] = headers
        if content.campaign:
            shared["categories"] = [content.campaign]
            shared["custom_args"] = {CAMPAIGN_ARG: content.campaign}
        return shared


def build_payload(batch: Batch) -> dict[str, Any]:
    """The request body of ``batch`` (at most 1,000 recipients); raises InvalidMessage
    if SendGrid would refuse it."""
    return PayloadBuilder(batch.content).payload(batch.recipients)


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The request body as it goes on the wire: JSON in UTF-8 (RFC 8259), as orjson
    writes it, a twentieth of the time ``json.dumps`` takes for a megabyte."""
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        # A lone surrogate (from a name decoded with surrogateescape, say) is no UTF-8;
        # json escapes it as \udXXX and SendGrid can say what it makes of that.
        return json.dumps(payload).encode("ascii")


def payload_bytes(payload: dict[str, Any]) -> int:
    """The size of the request body as :func:`encode_payload` makes it."""
    return len(encode_payload(payload))


def _check_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    for name, value in headers.items():
        check_header(name, value)
        if name.lower() in _SENDGRID_RESERVED:
            raise InvalidMessage(f"header {name!r} is set from Content and Recipient, not headers")
    return headers
