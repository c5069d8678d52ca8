"""Stand-ins for the machines of a deployment: ``mailer worker`` processes, each in a
folder of its own whose mailer.toml holds only the database URL and the secrets, and
Postfix's smtp-sink (fast enough for tens of thousands of messages) writing what it
receives to one file."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.support.config import SECRET
from tests.support.processes import MailerProcess

ROOT = Path(__file__).resolve().parents[2]
_RCPT = re.compile(rb"^X-Rcpt-Args: <([^>]*)>", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """smtp-sink on a free port, appending every message (with its envelope) to one
    file."""

    def __init__(self) -> None:
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if not Path(binary).exists():
            import pytest

            pytest.skip("needs Postfix's smtp-sink: apt-get install postfix")
        self.port = free_port()
        # As root, smtp-sink writes as nobody, who cannot reach pytest's folders.
        self.folder = Path(tempfile.mkdtemp(prefix="mailer-sink-"))
        self.folder.chmod(0o777)
        self.dump = self.folder / "received.dump"
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [binary, *user, "-D", str(self.dump), f"127.0.0.1:{self.port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"smtp-sink exited with {self.process.returncode}") from None
                time.sleep(0.02)  # polling for the port, with a deadline
        raise RuntimeError("smtp-sink did not start listening")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def recipients(self) -> Counter[str]:
        """How many messages each address got."""
        data = self.dump.read_bytes() if self.dump.exists() else b""
        return Counter(match.decode() for match in _RCPT.findall(data))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def machine(folder: Path, database_url: str, smtp_url: str) -> Path:
    """A worker machine's mailer.toml: the database URL and the secrets, no more (and
    how often its worker shows a sign of life)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "mailer.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        f'secret_key = "{SECRET}"\n'
        f'smtp_url = "{smtp_url}"\n'
        "worker_stalled_seconds = 2\n",
        encoding="utf-8",
    )
    return config


def mailer_process(config: Path, *args: str) -> MailerProcess:
    """``mailer --config CONFIG ARGS...`` in the config's folder, as on its own machine."""
    return MailerProcess(
        "--config", str(config), *args,
        cwd=config.parent, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip


class Proxy:
    """A TCP proxy on loopback to ``port`` that can be cut (every connection dropped,
    new ones refused) and restored: one machine's way to the database going away."""

    def __init__(self, port: int):
        self.target = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.open = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open = False
        with self._lock:
            for end in self._sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self.server.close()
        with self._lock:
            for end in self._sockets:
                end.close()
