"""APScheduler on the daemon's clock.

APScheduler 3 has no clock to inject. Its scheduler (which jobs are due, a cron job's next
time, how long to wait), its executors (whether a run came too late) and its date trigger
read the time with ``datetime.now(tz)``, on the name ``datetime`` that each of those
modules imports; APScheduler's own tests freeze time by replacing that name. We replace
it once, with a ``datetime`` whose ``now`` asks the clock of the ``ClockedScheduler``
that is running, and is the real clock while none runs. With the real clock (the
default, what production uses) nothing changes; under a test's clock or
``MAILER_FAKE_NOW`` the timers fire at that clock's times, not at the machine's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, ClassVar

import apscheduler.executors.base
import apscheduler.schedulers.base
import apscheduler.triggers.date
from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["ClockedScheduler"]

Clock = Callable[[], datetime]

# These modules use the name only for ``datetime.now``; the interval trigger also uses it
# for isinstance checks, so it is left alone and given its start by the caller.
_MODULES = (apscheduler.schedulers.base, apscheduler.executors.base, apscheduler.triggers.date)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        running = ClockedScheduler.running_now
        if running is None:
            return datetime.now(tz)
        now = running.clock()
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


for _module in _MODULES:
    if _module.datetime is not datetime:  # another APScheduler than the one this was written for
        raise ImportError(f"{_module.__name__}.datetime is not datetime.datetime")
    _module.datetime = _ClockedDatetime


class ClockedScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A ``BackgroundScheduler`` that tells the time by ``clock`` (aware datetimes) while
    it runs. One runs at a time in a process, as the daemon's lock already ensures."""

    #: The one that runs, whose clock APScheduler reads.
    running_now: ClassVar[ClockedScheduler | None] = None
    _starting: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, clock: Clock, **options: Any):
        super().__init__(**options)
        self.clock = clock

    def start(self, paused: bool = False) -> None:
        with ClockedScheduler._starting:
            if ClockedScheduler.running_now is not None:
                raise RuntimeError("another ClockedScheduler is running in this process")
            ClockedScheduler.running_now = self
        try:
            super().start(paused=paused)
        except BaseException:
            ClockedScheduler.running_now = None
            raise

    def shutdown(self, wait: bool = True) -> None:
        try:
            super().shutdown(wait=wait)
        finally:
            if ClockedScheduler.running_now is self:
                ClockedScheduler.running_now = None
