"""Protection of our forms against cross-site requests, without cookies or sessions.

One-click unsubscribe must work from a mail client that keeps no cookies, so no form
here relies on one. Instead:

- A form on the page of a signed link (unsubscribe, preferences) carries a MAC of that
  link's token: only a page we served can hold it, and it is worthless without the link.
- The subscribe form, which has no link, carries the time it was made and a MAC of that
  time and the list; it is good for ``max_age`` seconds.
- A browser's form post says where it comes from (``Sec-Fetch-Site``, ``Origin``); one
  from another site is refused. Mail clients posting RFC 8058's one-click body send
  neither, and are not asked to.

Both are MACs of :class:`mailer.tokens.Signer`, the links' keyed BLAKE2b, under
purposes of their own that no link has, so that no form value can ever pass for a link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from mailer.tokens import Signer, same_secret

__all__ = ["bound_token", "check_bound", "check_timed", "same_origin", "timed_token"]


def bound_token(secret: str, scope: str, value: str) -> str:
    """The form token of a page whose URL holds ``value`` (a signed link's token)."""
    return Signer(secret).mac("form-bound", scope, value)


def check_bound(secret: str, scope: str, value: str, given: str) -> bool:
    return same_secret(given, bound_token(secret, scope, value))


def timed_token(secret: str, scope: str, now: float) -> str:
    """The form token of a page made at ``now`` (a Unix time)."""
    issued = str(int(now))
    return f"{issued}.{Signer(secret).mac('form-timed', scope, issued)}"


def check_timed(secret: str, scope: str, given: str, now: float, max_age: float) -> bool:
    issued, _, mac = given.partition(".")
    if not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
        return False
    if not same_secret(mac, Signer(secret).mac("form-timed", scope, issued)):
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
