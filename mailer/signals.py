"""Setting a :class:`threading.Event` from a signal handler.

A handler runs in the main thread between two of its bytecodes, and that may be inside
the main thread's own ``event.wait()`` at a moment it holds the event's lock (a
:class:`threading.Condition` takes it back before ``wait`` returns): an ``event.set()``
in the handler then waits for that lock forever. It was seen as ``mailer run`` not
stopping on SIGTERM, its stacks showing the handler in ``Event.set`` inside
``Event.wait``. The handler hands the set to a thread of its own instead, which takes the
lock once the main thread has let it go.
"""

from __future__ import annotations

import threading

__all__ = ["set_from_handler"]


def set_from_handler(event: threading.Event) -> None:
    """``event.set()``, safe to call from a signal handler."""
    threading.Thread(target=event.set, name="signal", daemon=True).start()
