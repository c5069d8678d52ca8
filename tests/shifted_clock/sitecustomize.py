"""Every Python process of a test run, pytest's and those it starts, days away from today.

``TESTS_SHIFT_DAYS=400 PYTHONPATH=tests/shifted_clock python -m pytest …`` (``.ci/run``
does it, a year and more ahead) proves that no test depends on the date: the shift
reaches ``mailer run`` and worker processes too, since they inherit the environment.

Debian's libfaketime (0.9.10) cannot do this for Python 3.11: when it fakes the
monotonic clock, threading's timed waits hang (sem_clockwait), and when it leaves it
alone, time.sleep fails with EINVAL (libfaketime issues #390 and #426). time-machine
moves Python's wall clock (time.time, datetime.now and the rest) and leaves the
monotonic clock alone, on which waits and timeouts run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

#: How far the clock was moved (None: not at all), for a check that it was.
SHIFTED: timedelta | None = None

if os.environ.get("TESTS_SHIFT_DAYS"):
    import time_machine

    SHIFTED = timedelta(days=float(os.environ["TESTS_SHIFT_DAYS"]))
    time_machine.travel(datetime.now(UTC) + SHIFTED, tick=True).start()
