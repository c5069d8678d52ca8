"""Protection of our forms against cross-site requests, without cookies or sessions.

One-click unsubscribe must work from a mail client that keeps no cookies, so no form
here relies on one. Instead:

- A form on the page of a signed link (unsubscribe, preferences) carries an HMAC of that
  link's token: only a page we served can hold it, and it is worthless without the link.
- The subscribe form, which has no link, carries the time it was made and an HMAC of that
  time and the list; it is good for ``max_age`` seconds.
- A browser's form post says where it comes from (``Sec-Fetch-Site``, ``Origin``); one
  from another site is refused. Mail clients posting RFC 8058's one-click body send
  neither, and are not asked to.

The HMAC key is derived from ``secret_key`` apart from that of the link tokens, so that
no form value can ever pass for a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

__all__ = ["bound_token", "check_bound", "check_timed", "same_origin", "timed_token"]


def _mac(secret: str, *parts: str) -> str:
    key = hashlib.sha256(b"mailer form token\x00" + secret.encode("utf-8")).digest()
    digest = hmac.new(key, "|".join(parts).encode("utf-8"), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def bound_token(secret: str, scope: str, value: str) -> str:
    """The form token of a page whose URL holds ``value`` (a signed link's token)."""
    return _mac(secret, "bound", scope, value)


def check_bound(secret: str, scope: str, value: str, given: str) -> bool:
    return hmac.compare_digest(bound_token(secret, scope, value), given)


def timed_token(secret: str, scope: str, now: float) -> str:
    """The form token of a page made at ``now`` (a Unix time)."""
    issued = str(int(now))
    return f"{issued}.{_mac(secret, 'timed', scope, issued)}"


def check_timed(secret: str, scope: str, given: str, now: float, max_age: float) -> bool:
    issued, _, mac = given.partition(".")
    if not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
        return False
    if not hmac.compare_digest(_mac(secret, "timed", scope, issued), mac):
        return False
    # A little room into the future for clocks of several machines behind one name.
    return -60 <= now - int(issued) <= max_age


def same_origin(request: Request, base_url: str) -> bool:
    """False for a browser's request made from another site's page.

    ``Sec-Fetch-Site`` decides where the browser sends it; otherwise ``Origin`` must be
    our own (``null``, which a sandboxed frame sends, is not). A request with neither
    comes from no browser page at all.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {_origin(base_url), _origin(str(request.base_url))}
    return origin.rstrip("/").lower() in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
