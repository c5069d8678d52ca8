"""Several web worker processes on one port (``--workers N``).

The listening sockets are bound here, in the parent, and handed to the workers, each of
which opens the database and makes the app itself (a process of its own: each uses its
own core). On Linux each worker has a socket of its own on the port (SO_REUSEPORT), and
the kernel spreads new connections over them evenly: on one shared socket, the worker
that woke first accepted every connection waiting (asyncio and libuv accept all they
can at once), and a client that opens its connections together (wrk, a mail
provider's image proxy) had most of them on one worker while the other idled.
Elsewhere, where SO_REUSEPORT does not spread connections, the workers share one socket.

A worker that dies is replaced, on the same socket (the parent keeps them open: the
connections in its queue, and those the kernel gives it until the new worker is up, a
few seconds, wait for that one rather than being refused); ``stop`` ends them as
SIGTERM does uvicorn, each finishing its requests and storing the opens and clicks it
holds.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path

__all__ = ["Workers", "listen", "listen_each"]

log = logging.getLogger(__name__)

#: How long ``stop`` waits for a worker to finish before killing it, in seconds.
STOP_SECONDS = 30.0


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: any free one). Raises OSError.
    Connections made before a worker is up wait in its backlog, not refused."""
    return _bound(host, port, reuse_port=False)


def listen_each(host: str, port: int, count: int) -> list[socket.socket]:
    """The listening sockets of ``count`` workers on ``host:port``: one each on Linux
    (SO_REUSEPORT), else one for all. Raises OSError, as :func:`listen` does, if the
    port is taken: by anything, another ``mailer serve`` included."""
    if count == 1 or not sys.platform.startswith("linux"):
        return [listen(host, port)]
    # A socket without SO_REUSEPORT cannot bind a port that has a listener, so this
    # one tells whether the port is free (and which port 0 is). Without it, a second
    # mailer serve started on the port by mistake would quietly take half the traffic.
    probe = listen(host, port)
    port = probe.getsockname()[1]
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_bound(host, port, reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say so, and with it on, an answer written in two parts waits 40 ms
    # for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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
    """``count`` worker processes serving the settings of ``config`` on ``sockets``
    (one each, or one for all: see :func:`listen_each`)."""

    def __init__(
        self,
        config: Path | None,
        sockets: list[socket.socket],
        count: int,
        *,
        log_level: str = "info",
    ):
        if count < 1:
            raise ValueError("there must be at least one worker")
        if len(sockets) not in (1, count):
            raise ValueError("one socket for all the workers, or one each")
        self.config = config
        self.sockets = sockets
        self.count = count
        self.log_level = log_level
        # Spawned, not forked: a fork would copy the parent's threads' locks and its
        # database connections.
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    def start(self) -> None:
        for number in range(self.count):
            self._processes.append(self._spawn(number))

    def watch(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Replace workers that die until ``stop`` is set."""
        while not stop.wait(interval) and not self._stopping.is_set():
            for number, process in enumerate(self._processes):
                if not process.is_alive() and not self._stopping.is_set():
                    log.error(
                        "web worker %s ended (%s); starting another", process.pid, process.exitcode
                    )
                    self._processes[number] = self._spawn(number)

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
        for sock in self.sockets:
            sock.close()

    def _spawn(self, number: int) -> BaseProcess:
        sock = self.sockets[number % len(self.sockets)]
        process = self._context.Process(
            target=_serve, args=(self.config, sock, self.log_level), name="mailer-web"
        )
        process.start()
        return process
