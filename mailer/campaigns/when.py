"""Reading the times people type: ``2026-12-01T09:00`` in a timezone, or a wall-clock
time for a local-time send. The CLI's ``--at`` and the API's ``at`` are read here alike."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mailer.exceptions import InputError, quoted
from mailer.timezones import zone

__all__ = ["parse_wall_clock", "parse_when", "read_time"]


def read_time(
    text: str,
    *,
    tz: str | None = None,
    local_time: bool = False,
    default_zone: ZoneInfo | None = None,
) -> datetime:
    """When a campaign is to go out, as typed: an aware time, or with ``local_time`` a
    naive wall-clock time. A time without an offset is read in ``tz``, else in
    ``default_zone``; with neither (the API, which asks for an offset) it is refused."""
    if local_time:
        if tz:
            raise InputError("--local-time reads the time in each subscriber's zone: drop --tz")
        return parse_wall_clock(text)
    if tz:
        return _representable(parse_when(text, zone(tz)))
    if default_zone is not None:
        return _representable(parse_when(text, default_zone))
    parsed = _parse(text)
    if parsed.tzinfo is None:
        raise InputError(
            f"the time {quoted(text)} has no UTC offset: add one (like +01:00), "
            "or name its timezone"
        )
    return _representable(parsed)


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """An ISO date and time; without an offset it is wall-clock time in ``tz``. A time
    that does not exist there (skipped by a daylight-saving change) is refused, and one
    that happens twice means the first."""
    parsed = _parse(text)
    if parsed.tzinfo is not None:
        return parsed
    local = parsed.replace(tzinfo=tz, fold=0)
    # A wall-clock time in a DST gap does not survive a round trip through UTC.
    try:
        round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
    except OverflowError:
        raise InputError(f"the time {quoted(text)} is out of range") from None
    if round_trip.replace(tzinfo=None) != parsed:
        raise InputError(f"{text} does not exist in {tz.key}: the clocks skip it (daylight saving)")
    return local


def parse_wall_clock(text: str) -> datetime:
    """A wall-clock time with no zone ("2026-12-01T09:00"), for local-time sends."""
    parsed = _parse(text)
    if parsed.tzinfo is not None:
        raise InputError("a local-time send takes a wall-clock time without an offset")
    return parsed


def _parse(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"cannot read the time {quoted(text)}: write it like 2026-12-01T09:00"
        ) from None


def _representable(at: datetime) -> datetime:
    """``at``, refused when it has no UTC equivalent (a year-9999 time west of UTC)."""
    try:
        at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InputError(f"the time {at.isoformat()} is out of range") from None
    return at
