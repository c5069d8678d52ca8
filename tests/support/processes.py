"""``python -m mailer ...`` in a subprocess, its log read line by line in a thread.

A thread, not a selector on the pipe: a selector does not see the lines that one read
took into the file's buffer beside the one asked for, and waits for ever on them."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

#: How long a process is given to stop after SIGTERM.
STOP_SECONDS = 30.0


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without the MAILER_ settings a test run sets, with ``extra``.
    A process that does not stop prints every thread's stack when sent SIGABRT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    return {**env, "PYTHONFAULTHANDLER": "1", **extra}


class MailerProcess:
    """``mailer ARGS...``; what it logs to stderr (and stdout, with ``both=True``) comes
    through :attr:`lines` and stays in :attr:`log`."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        both: bool = False,
    ):
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailer", *args],
            cwd=cwd,
            env=clean_environment() if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if both else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if both else subprocess.PIPE,
            text=True,
            errors="replace",
        )
        stream = self.process.stdout if both else self.process.stderr
        assert stream is not None
        self._stream = stream
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            self.log.append(line)
            self.lines.put(line)

    @property
    def output(self) -> str:
        return "".join(self.log)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first line from now on with ``text`` in it."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"never logged {text!r}:\n{self.output}")

    def stop(self) -> int:
        """SIGTERM, and its exit code once it has stopped; one that does not stop fails
        the test with its threads' stacks."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self._close()
            raise AssertionError(f"did not stop on SIGTERM:\n{self.output}") from None
        self._close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL, as a machine that dies; and what a failed test leaves running."""
        if self.process.poll() is None:
            self.process.kill()
        self._close()

    def _close(self) -> None:
        self.process.wait(timeout=60)
        self._reader.join(timeout=60)
        self._stream.close()
