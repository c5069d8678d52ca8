"""A stop event set from a signal handler wakes the main thread that waits on it."""

from __future__ import annotations

import os
import signal
import threading

from mailer.signals import set_from_handler


def test_a_signal_handler_sets_the_event_the_main_thread_waits_on() -> None:
    event = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: set_from_handler(event))
    try:
        # Sent while the main thread waits: the handler runs inside that wait.
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGUSR1)).start()
        assert event.wait(timeout=30)
    finally:
        signal.signal(signal.SIGUSR1, previous)
