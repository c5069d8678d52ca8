"""SendGrid's API played on loopback: mail/send answering from a script, and /v3/scopes
answering for one good key; both record the requests they get."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http import serving


@dataclass
class Answer:
    status: int  # HANG: no answer until the test ends
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


HANG = 0
HANG_UP = -1  # reads the request, then closes the connection without an answer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeSendGrid:
    """Plays SendGrid's mail/send on loopback: answers from a script (202 once the
    script is used up) and records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with fake._lock:
                    fake.requests.append(
                        Request("POST", self.path, dict(self.headers.items()), body)
                    )
                    answer = (
                        fake.script.pop(0)
                        if fake.script
                        else Answer(202, headers={"X-Message-Id": f"msg{len(fake.requests)}"})
                    )
                if answer.status == HANG:
                    fake.released.wait()
                    return
                if answer.status == HANG_UP:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._stack = contextlib.ExitStack()
        self.host = self._stack.enter_context(serving(Handler))

    def stop(self) -> None:
        self.released.set()
        self._stack.close()


class FakeScopes:
    """Plays SendGrid's GET /v3/scopes: the scopes of the key ``good``, 401 for any
    other key."""

    def __init__(self, scopes: list[str], good: str = "SG.good"):
        self.scopes = scopes
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                fake.requests.append((self.path, auth))
                if self.path != "/v3/scopes":
                    status, body = 404, {"errors": [{"message": "not found"}]}
                elif auth != f"Bearer {good}":
                    status, body = 401, {"errors": [{"message": "authorization required"}]}
                else:
                    status, body = 200, {"scopes": fake.scopes}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._stack = contextlib.ExitStack()
        self.host = self._stack.enter_context(serving(Handler))

    def stop(self) -> None:
        self._stack.close()
