"""Dates as pages write them: ``2025-03-04``, ``March 4, 2025``, ``4 mars 2025``,
``4. März 2025``, ``04/03/2025`` (day first), in a few languages."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["find_date"]

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            "january jan janvier janeiro enero januar gennaio",
            "february feb février fevereiro febrero februar febbraio",
            "march mar mars março marzo märz",
            "april apr avril abril aprile",
            "may mai maio mayo maggio",
            "june jun juin junho junio juni giugno",
            "july jul juillet julho julio juli luglio",
            "august aug août agosto",
            "september sep sept septembre setembro septiembre settembre",
            "october oct octobre outubro octubre oktober ottobre",
            "november nov novembre novembro noviembre",
            "december dec décembre dezembro diciembre dezember dicembre",
        )
    )
    for name in names.split()
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = (
    re.compile(r"(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)"),
    re.compile(
        rf"(?P<mn>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)", re.I
    ),
    re.compile(
        rf"(?P<d>\d{{1,2}})\.?\s+(?:de\s+)?(?P<mn>{_MONTH})\.?,?\s+(?:de\s+)?(?P<y>(?:19|20)\d\d)",
        re.I,
    ),
    re.compile(r"(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>(?:19|20)\d\d)"),
)


def find_date(text: str) -> dt.date | None:
    """The first date written in a line, in a few common forms."""
    for pattern in _DATES:
        found = pattern.search(text)
        if not found:
            continue
        parts = found.groupdict()
        month = int(parts["m"]) if parts.get("m") else _MONTHS[parts["mn"].lower()]
        try:
            return dt.date(int(parts["y"]), month, int(parts["d"]))
        except ValueError:
            continue
    return None
