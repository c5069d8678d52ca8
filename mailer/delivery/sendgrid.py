"""SendGrid's v3 Web API through the official ``sendgrid`` client.

A batch goes as few requests as SendGrid allows (1,000 recipients each, under 30 MB),
built by :mod:`mailer.delivery.sendgrid_payload`. Per response:

- 202: every recipient of the request is SENT, with SendGrid's ``X-Message-Id`` as the
  provider message id (SendGrid's event ``sg_message_id`` starts with it);
- 429: wait until ``X-RateLimit-Reset`` and try again;
- 5xx, or a connection that failed before the request had gone out whole: try again
  with exponential backoff, and when the attempts are spent, every recipient of the
  request is RETRY;
- no answer to a request that went out whole (a timeout, a hang-up): SendGrid may have
  taken it, so every recipient of the request is UNKNOWN and is not tried again;
- any other 4xx (a bad key, a bad request): BackendError at once, with SendGrid's
  error messages in it. Trying again would get the same answer.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import sendgrid
from python_http_client.client import Response
from python_http_client.exceptions import HTTPError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential

from mailer.delivery.base import Backend, failed, retry, unknown
from mailer.delivery.message import Batch, Outcome, Recipient, RecipientResult
from mailer.delivery.sendgrid_payload import (
    MAX_PERSONALIZATIONS,
    MAX_REQUEST_BYTES,
    PayloadBuilder,
    encode_payload,
)
from mailer.exceptions import BackendError, ConfigError, InvalidMessage

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["SendGridBackend", "describe_errors"]


class _Transient(Exception):
    """A failure that may pass: a 5xx, a connection that failed before the request went."""


class _AnswerLost(Exception):
    """The request went out whole and no answer came: SendGrid may have taken it."""


class _RateLimited(_Transient):
    def __init__(self, message: str, reset: float | None):
        super().__init__(message)
        self.reset = reset


class SendGridBackend(Backend):
    """Sends through SendGrid's mail/send with ``api_key``.

    ``clock`` (unix seconds) and ``sleep`` are what waiting for a rate limit or a
    backoff uses; tests pass their own so that nothing really waits."""

    name = "SendGrid"
    # Each request waits a fraction of a second on SendGrid: several keep it busy.
    parallel_batches = 4
    # One request takes 1,000 personalizations: a batch of fewer doubles the requests.
    batch_size = 1000

    def __init__(
        self,
        api_key: str,
        *,
        host: str = "https://api.sendgrid.com",
        timeout: float = 30.0,
        attempts: int = 5,
        max_wait: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._api = sendgrid.SendGridAPIClient(api_key, host=host)
        # The client passes its timeout on to each request (urllib's, in seconds).
        self._api.client.timeout = timeout
        self._endpoint = self._api.client.mail.send
        self._opener = urllib.request.build_opener()
        self.attempts = attempts
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._backoff = wait_exponential(multiplier=1, min=1, max=max_wait)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if settings.sendgrid_api_key is None:
            raise ConfigError("missing: backend = sendgrid needs it", key="sendgrid_api_key")
        return cls(settings.sendgrid_api_key.get_secret_value(), host=settings.sendgrid_host)

    def send_batch(self, batch: Batch) -> list[RecipientResult]:
        builder = PayloadBuilder(batch.content)
        results: list[RecipientResult | None] = [None] * len(batch.recipients)
        pending: list[tuple[int, Recipient, dict[str, Any]]] = []
        for index, recipient in enumerate(batch.recipients):
            try:
                pending.append((index, recipient, builder.personalization(recipient)))
            except InvalidMessage as err:
                results[index] = failed(recipient, str(err))
        for start in range(0, len(pending), MAX_PERSONALIZATIONS):
            chunk = pending[start : start + MAX_PERSONALIZATIONS]
            try:
                self._send(builder, chunk, results)
            except BackendError as err:
                err.results = [result for result in results if result is not None]
                raise
        return [result for result in results if result is not None]

    def _send(
        self,
        builder: PayloadBuilder,
        chunk: list[tuple[int, Recipient, dict[str, Any]]],
        results: list[RecipientResult | None],
    ) -> None:
        """Send ``chunk`` in one request (two or more if it is too big), putting each
        recipient's result in ``results`` as soon as it is known."""
        body = encode_payload(builder.body([personalization for _, _, personalization in chunk]))
        size = len(body)
        if size > MAX_REQUEST_BYTES:
            if len(chunk) == 1:
                index, recipient, _ = chunk[0]
                error = f"the request is {size:,} bytes; SendGrid takes {MAX_REQUEST_BYTES:,}"
                results[index] = failed(recipient, error)
                return
            half = len(chunk) // 2
            self._send(builder, chunk[:half], results)
            self._send(builder, chunk[half:], results)
            return

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            message_id = retrying(self._post, body)
        except _Transient as err:
            error = f"{err} (after {self.attempts} attempts)"
            for index, recipient, _ in chunk:
                results[index] = retry(recipient, error)
            return
        except _AnswerLost as err:
            for index, recipient, _ in chunk:
                results[index] = unknown(recipient, str(err))
            return
        for index, recipient, _ in chunk:
            results[index] = RecipientResult(
                recipient.delivery_id, Outcome.SENT, provider_message_id=message_id
            )

    def _post(self, body: bytes) -> str:
        """One request; the ``X-Message-Id`` of a 2xx, else raises.

        The official client makes the URL, the headers (key, user agent), the call and
        the HTTPError of a refusal; only the body is ours, encoded already. Its own
        ``post`` would encode the body again with ``json.dumps`` and format all of it
        into a debug message that nobody logs, which took half the time of a request."""
        endpoint = self._endpoint
        request = urllib.request.Request(
            endpoint._build_url(None),
            data=body,
            headers={**endpoint.request_headers, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            response = endpoint._make_request(self._opener, request, timeout=endpoint.timeout)
        except HTTPError as err:
            raise self._error(err) from err
        except urllib.error.URLError as err:
            # urllib wraps what fails while it connects and sends (refused, reset, timed
            # out): SendGrid cannot have taken a request that did not arrive whole.
            raise _Transient(f"request failed: {err.reason}") from err
        except (http.client.HTTPException, OSError) as err:
            # What fails after the request went out, while waiting for the answer, comes
            # through as it is. Sending it again might deliver it twice.
            raise _AnswerLost(
                f"no answer to the request, which SendGrid may have taken: "
                f"{err or type(err).__name__}"
            ) from err
        return str(Response(response).headers.get("X-Message-Id") or "")

    def _error(self, err: HTTPError) -> Exception:
        status = int(err.status_code)
        body = _text(err.body)
        message = f"API response {status}: {describe_errors(body)}"
        if status == 429:
            reset = _reset_time(err.headers)
            # Without a reset time, the first backoff step: a second.
            wait = reset - self.clock() if reset is not None else 1.0
            self.throttled(min(max(wait, 0.0), self.max_wait), f"{self.name} {message}")
            return _RateLimited(f"{self.name} {message}", reset)
        if status >= 500:
            return _Transient(f"{self.name} {message}")
        return BackendError(self.name, message, status=status, body=body)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _RateLimited) and error.reset is not None:
            return min(max(error.reset - self.clock(), 0.0), self.max_wait)
        return float(self._backoff(state))


def describe_errors(body: str) -> str:
    """SendGrid's ``{"errors": [{"message", "field", "help"}]}`` as one line; any other
    body as it is (cut short), an empty one as ``(empty body)``."""
    text = body.strip()
    if not text:
        return "(empty body)"
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return text[:500]
    described = []
    for error in errors:
        if not isinstance(error, dict):
            described.append(str(error))
            continue
        line = str(error.get("message") or "no message")
        if error.get("field"):
            line = f"{error['field']}: {line}"
        if error.get("help"):
            line += f" (see {error['help']})"
        described.append(line)
    return "; ".join(described)


def _text(body: object) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return "" if body is None else str(body)


def _reset_time(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    value = get("X-RateLimit-Reset") if get is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
