from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from tests.campaigns.conftest import Clock, backend, clock, sent, settings, weekly  # noqa: F401

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs what is submitted at once, in the caller's thread: no waiting in tests."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # the future carries it, as a pool's would
            future.set_exception(err)
        return future


__all__ = ["Clock", "InlineExecutor"]
