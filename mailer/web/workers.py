"""Several web worker processes on one listening socket (``--workers N``).

The socket is bound here, in the parent, and handed to each worker, which opens the
database and makes the app itself (a process of its own: each uses its own core). The
kernel gives each new connection to a worker that is waiting to accept, so the busy
ones take fewer. A worker that dies is replaced; ``stop`` ends them as SIGTERM does
uvicorn, each finishing its requests and storing the opens and clicks it holds.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path

__all__ = ["Workers", "listen"]

log = logging.getLogger(__name__)

#: How long ``stop`` waits for a worker to finish before killing it, in seconds.
STOP_SECONDS = 30.0


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: any free one). Raises OSError.
    Connections made before a worker is up wait in its backlog, not refused."""
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say so, and with it on, an answer written in two parts waits 40 ms
    # for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _serve(config: Path | None, sock: socket.socket, log_level: str) -> None:
    """One worker process: the app of ``config``'s settings on ``sock``."""
    from mailer.settings import load_settings
    from mailer.web.app import create_app
    from mailer.web.server import freeze_startup, web_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    host, port = sock.getsockname()[:2]
    server = web_server(create_app(load_settings(config)), host, port, log_level=log_level)
    freeze_startup()
    server.run(sockets=[sock])


class Workers:
    """``count`` worker processes serving the settings of ``config`` on ``sock``."""

    def __init__(
        self, config: Path | None, sock: socket.socket, count: int, *, log_level: str = "info"
    ):
        if count < 1:
            raise ValueError("there must be at least one worker")
        self.config = config
        self.sock = sock
        self.count = count
        self.log_level = log_level
        # Spawned, not forked: a fork would copy the parent's threads' locks and its
        # database connections.
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self) -> None:
        for _ in range(self.count):
            self._processes.append(self._spawn())

    def watch(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Replace workers that die until ``stop`` is set."""
        while not stop.wait(interval) and not self._stopping.is_set():
            for number, process in enumerate(self._processes):
                if not process.is_alive() and not self._stopping.is_set():
                    log.error(
                        "web worker %s ended (%s); starting another", process.pid, process.exitcode
                    )
                    self._processes[number] = self._spawn()

    def stop(self) -> None:
        """End every worker as SIGTERM does (each finishes first), then close the socket."""
        self._stopping.set()
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                log.error("web worker %s did not stop in %.0f s: killed", process.pid, STOP_SECONDS)
                process.kill()
                process.join()
        self.sock.close()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=_serve, args=(self.config, self.sock, self.log_level), name="mailer-web"
        )
        process.start()
        return process
