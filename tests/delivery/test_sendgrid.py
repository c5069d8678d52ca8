"""The SendGrid backend, through the official client, against a local HTTP server."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mailer.delivery import sendgrid_payload
from mailer.delivery.backends import get_backend
from mailer.delivery.message import Batch, Outcome
from mailer.delivery.sendgrid import SendGridBackend, describe_errors
from mailer.exceptions import BackendError, ConfigError
from tests.support.config import make_settings
from tests.support.messages import make_batch, make_content, make_recipient
from tests.support.sendgrid import HANG, HANG_UP, Answer, FakeSendGrid

NOW = 1_700_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def backend(sendgrid_server: FakeSendGrid, time: FakeTime) -> SendGridBackend:
    return SendGridBackend(
        "SG.test-key",
        host=sendgrid_server.host,
        attempts=3,
        timeout=5,
        clock=time.clock,
        sleep=time.sleep,
    )


@pytest.fixture(autouse=True)
def _every_request_matches_the_spec(
    sendgrid_server: FakeSendGrid, mail_send_schema: Draft202012Validator
) -> Iterator[None]:
    yield
    for request in sendgrid_server.requests:
        mail_send_schema.validate(request.json())


ERRORS = json.dumps(
    {
        "errors": [
            {
                "message": "The from address does not match a verified Sender Identity.",
                "field": "from",
                "help": "https://sendgrid.com/docs/for-developers/sending-email/sender-identity/",
            }
        ]
    }
).encode()


def test_202_sends_everyone_in_one_request(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid
) -> None:
    sendgrid_server.script = [Answer(202, headers={"X-Message-Id": "abcXYZ123"})]
    results = backend.send_batch(make_batch(3))
    assert [(r.delivery_id, r.outcome, r.provider_message_id) for r in results] == [
        ("d0", Outcome.SENT, "abcXYZ123"),
        ("d1", Outcome.SENT, "abcXYZ123"),
        ("d2", Outcome.SENT, "abcXYZ123"),
    ]
    (request,) = sendgrid_server.requests
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == "Bearer SG.test-key"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert [p["custom_args"] for p in body["personalizations"]] == [
        {"mailer_delivery": f"d{n}"} for n in range(3)
    ]
    assert body["categories"] == ["c-2024-01"]


def test_a_big_batch_goes_in_requests_of_a_thousand(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid
) -> None:
    batch = Batch(make_content(), [make_recipient(n) for n in range(2500)])
    results = backend.send_batch(batch)
    assert [r.delivery_id for r in results] == [f"d{n}" for n in range(2500)]
    assert {r.provider_message_id for r in results} == {"msg1", "msg2", "msg3"}
    sizes = [len(r.json()["personalizations"]) for r in sendgrid_server.requests]
    assert sizes == [1000, 1000, 500]


def test_a_recipient_over_a_limit_fails_alone(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid
) -> None:
    batch = Batch(
        make_content(),
        [
            make_recipient(0),
            make_recipient(1, substitutions={"%%first_name%%": "x" * 10_000}),
            make_recipient(2, name="x\r\nBcc: victim@example.com"),
            make_recipient(3),
        ],
    )
    results = backend.send_batch(batch)
    assert [r.outcome for r in results] == [
        Outcome.SENT,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.SENT,
    ]
    assert "SendGrid takes at most 10,000" in results[1].error
    assert not results[1].bounce
    (request,) = sendgrid_server.requests
    assert [p["to"][0]["email"] for p in request.json()["personalizations"]] == [
        "reader0@example.com",
        "reader3@example.com",
    ]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            Answer(400, ERRORS, {"Content-Type": "application/json"}),
            "SendGrid API response 400: from: The from address does not match a verified "
            "Sender Identity. (see https://sendgrid.com/docs/for-developers/sending-email/"
            "sender-identity/)",
        ),
        (
            Answer(400, b"<html>Bad Request</html>", {"Content-Type": "text/html"}),
            "SendGrid API response 400: <html>Bad Request</html>",
        ),
        (Answer(400), "SendGrid API response 400: (empty body)"),
        (
            Answer(401, b'{"errors":[{"message":"The provided authorization grant is invalid"}]}'),
            "SendGrid API response 401: The provided authorization grant is invalid",
        ),
        (Answer(413, b"too large"), "SendGrid API response 413: too large"),
    ],
    ids=["json", "not json", "empty", "401", "413"],
)
def test_a_4xx_fails_the_batch_at_once_with_sendgrids_words(
    backend: SendGridBackend,
    sendgrid_server: FakeSendGrid,
    time: FakeTime,
    answer: Answer,
    message: str,
) -> None:
    sendgrid_server.script = [answer]
    with pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(2))
    error = caught.value
    assert str(error) == message
    assert error.backend == "SendGrid"
    assert error.status == answer.status
    assert error.body == answer.body.decode()
    assert not error.retryable
    assert error.results == []
    assert len(sendgrid_server.requests) == 1  # not tried again
    assert time.sleeps == []


def test_a_failure_after_a_first_request_keeps_its_results(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid
) -> None:
    sendgrid_server.script = [Answer(202, headers={"X-Message-Id": "first"}), Answer(400, ERRORS)]
    with pytest.raises(BackendError) as caught:
        backend.send_batch(Batch(make_content(), [make_recipient(n) for n in range(1500)]))
    assert len(caught.value.results) == 1000
    assert {r.provider_message_id for r in caught.value.results} == {"first"}


def test_429_waits_until_the_reset_time_and_tries_again(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, time: FakeTime
) -> None:
    reset = str(int(NOW) + 42)
    sendgrid_server.script = [
        Answer(429, b'{"errors":[{"message":"too many requests"}]}', {"X-RateLimit-Reset": reset}),
        Answer(202, headers={"X-Message-Id": "later"}),
    ]
    told: list[tuple[float, str]] = []
    backend.on_throttled = lambda seconds, why: told.append((seconds, why))
    results = backend.send_batch(make_batch(2))
    assert time.sleeps == [42.0]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert len(sendgrid_server.requests) == 2
    # Whoever sends beside this backend (workers on other machines) hears of it.
    assert told == [(42.0, "SendGrid API response 429: too many requests")]


def test_5xx_is_tried_again_with_backoff(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, time: FakeTime
) -> None:
    sendgrid_server.script = [Answer(500, b"oops"), Answer(503), Answer(202)]
    results = backend.send_batch(make_batch(1))
    assert results[0].outcome == Outcome.SENT
    assert time.sleeps == [1.0, 2.0]


def test_5xx_to_the_last_attempt_makes_the_batch_retry(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, time: FakeTime
) -> None:
    sendgrid_server.script = [Answer(500, b"oops")] * 3
    results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY]
    assert results[0].error == "SendGrid API response 500: oops (after 3 attempts)"
    assert len(sendgrid_server.requests) == 3
    assert time.sleeps == [1.0, 2.0]


def test_no_answer_to_a_request_that_went_out_leaves_its_recipients_unknown(
    sendgrid_server: FakeSendGrid, time: FakeTime
) -> None:
    # SendGrid may have taken the request: sent again, it might deliver it twice.
    backend = SendGridBackend(
        "SG.k", host=sendgrid_server.host, timeout=0.2, clock=time.clock, sleep=time.sleep
    )
    sendgrid_server.script = [Answer(HANG)]
    results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert results[0].error == (
        "no answer to the request, which SendGrid may have taken: timed out"
    )
    assert time.sleeps == []
    assert len(sendgrid_server.requests) == 1


def test_a_hang_up_instead_of_an_answer_leaves_the_recipients_unknown(
    sendgrid_server: FakeSendGrid, time: FakeTime, backend: SendGridBackend
) -> None:
    sendgrid_server.script = [Answer(HANG_UP)]
    results = backend.send_batch(make_batch(1))
    assert [r.outcome for r in results] == [Outcome.UNKNOWN]
    assert "Remote end closed connection without response" in results[0].error
    assert len(sendgrid_server.requests) == 1


def test_no_server_at_all_makes_the_batch_retry(time: FakeTime) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = SendGridBackend(
        "SG.k", host=f"http://127.0.0.1:{port}", attempts=2, clock=time.clock, sleep=time.sleep
    )
    results = backend.send_batch(make_batch(1))
    assert results[0].outcome == Outcome.RETRY
    assert "request failed" in results[0].error
    assert "Connection refused" in results[0].error


def test_a_request_over_30_mb_is_split(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = sendgrid_payload.payload_bytes(sendgrid_payload.build_payload(make_batch(1)))
    monkeypatch.setattr("mailer.delivery.sendgrid.MAX_REQUEST_BYTES", one + 100)
    results = backend.send_batch(make_batch(4))
    assert [r.outcome for r in results] == [Outcome.SENT] * 4
    assert [len(r.json()["personalizations"]) for r in sendgrid_server.requests] == [1, 1, 1, 1]


def test_a_single_recipient_over_30_mb_fails(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mailer.delivery.sendgrid.MAX_REQUEST_BYTES", 100)
    results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert "SendGrid takes 100" in results[0].error
    assert sendgrid_server.requests == []


def test_describe_errors() -> None:
    assert (
        describe_errors('{"errors": [{"message": "a"}, {"message": "b", "field": "f"}]}')
        == "a; f: b"
    )
    assert describe_errors('{"other": 1}') == '{"other": 1}'
    assert describe_errors("  ") == "(empty body)"


def test_from_settings(tmp_path: Path, sendgrid_server: FakeSendGrid) -> None:
    with pytest.raises(ConfigError, match="sendgrid_api_key"):
        get_backend(make_settings(tmp_path, backend="sendgrid"))
    backend = get_backend(
        make_settings(
            tmp_path,
            backend="sendgrid",
            sendgrid_api_key="SG.abc",
            sendgrid_host=sendgrid_server.host,
        )
    )
    assert isinstance(backend, SendGridBackend)
    with backend:
        assert backend.send_batch(make_batch(1))[0].outcome == Outcome.SENT
    assert sendgrid_server.requests[0].headers["Authorization"] == "Bearer SG.abc"


def test_a_failure_in_the_second_half_of_a_split_keeps_the_first(
    backend: SendGridBackend, sendgrid_server: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    two = sendgrid_payload.payload_bytes(sendgrid_payload.build_payload(make_batch(2)))
    monkeypatch.setattr("mailer.delivery.sendgrid.MAX_REQUEST_BYTES", two + 100)
    sendgrid_server.script = [Answer(202, headers={"X-Message-Id": "half"}), Answer(400, ERRORS)]
    with pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(4))
    assert [(r.delivery_id, r.outcome) for r in caught.value.results] == [
        ("d0", Outcome.SENT),
        ("d1", Outcome.SENT),
    ]


def test_the_clients_private_methods_we_post_through_are_as_pinned() -> None:
    # SendGridBackend._post builds the URL and makes the call with the official client's
    # _build_url and _make_request (its post() encodes the body a second time), pinned in
    # pyproject.toml to python-http-client 3.3: a version that changes them fails here,
    # by name, before any send does.
    from python_http_client.client import Client

    assert list(inspect.signature(Client._build_url).parameters) == ["self", "query_params"], (
        "python_http_client changed Client._build_url: see SendGridBackend._post"
    )
    assert list(inspect.signature(Client._make_request).parameters) == [
        "self", "opener", "request", "timeout",
    ], "python_http_client changed Client._make_request: see SendGridBackend._post"  # fmt: skip
