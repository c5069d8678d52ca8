"""The small parts on their own: form tokens, the origin check, the rate limit, the
access log's route patterns, event normalisation, settings, migration and command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect
from starlette.requests import Request

from mailer.events.sendgrid import normalise
from mailer.exceptions import ConfigError
from mailer.settings import load_settings
from mailer.storage import Database, EventKind
from mailer.storage.database import _alembic_config
from mailer.web.access_log import route_pattern
from mailer.web.csrf import bound_token, check_bound, check_timed, same_origin, timed_token
from mailer.web.ratelimit import SlidingWindow
from tests.support.cli import Cli
from tests.support.config import write_config
from tests.support.web import BASE

SECRET = "s" * 32


def request(**headers: str) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "server": ("news.example.org", 443),
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


def test_form_tokens_are_bound_to_their_scope_value_and_time() -> None:
    token = bound_token(SECRET, "unsubscribe", "abc")
    assert check_bound(SECRET, "unsubscribe", "abc", token)
    assert not check_bound(SECRET, "unsubscribe", "abd", token)
    assert not check_bound(SECRET, "preferences", "abc", token)
    assert not check_bound("t" * 32, "unsubscribe", "abc", token)
    timed = timed_token(SECRET, "subscribe|1", 1_000_000)
    assert check_timed(SECRET, "subscribe|1", timed, 1_000_100, 3600)
    assert not check_timed(SECRET, "subscribe|1", timed, 1_003_601, 3600)
    assert not check_timed(SECRET, "subscribe|2", timed, 1_000_100, 3600)
    for bad in ("", ".", "x.y", "1000000.", "99999999999999.abc"):
        assert not check_timed(SECRET, "subscribe|1", bad, 1_000_100, 3600)


def test_a_form_token_that_is_not_ascii_is_refused_not_a_crash() -> None:
    # hmac.compare_digest raises TypeError on a str that is not ASCII.
    assert not check_bound(SECRET, "unsubscribe", "abc", "jeton-modifié")
    assert not check_timed(SECRET, "subscribe|1", "1000000.signé", 1_000_100, 3600)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # a mail client, curl: no browser page involved
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),  # typed or bookmarked
        ({"Sec-Fetch-Site": "cross-site", "Origin": BASE}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Origin": BASE}, True),
        ({"Origin": "HTTPS://NEWS.EXAMPLE.ORG/"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
    ],
)
def test_the_origin_check(headers: dict[str, str], allowed: bool) -> None:
    assert same_origin(request(**headers), BASE) is allowed


def test_the_sliding_window_forgets_old_hits_and_bounds_its_memory() -> None:
    now = [0.0]
    window = SlidingWindow(2, 60, lambda: now[0], max_keys=3)
    assert window.hit("a") and window.hit("a")
    assert not window.hit("a")
    assert window.remaining("a") == 0
    now[0] = 60.5
    assert window.hit("a")
    for key in "bcde":
        window.hit(key)
    assert len(window._hits) == 3
    with pytest.raises(ValueError, match="positive"):
        SlidingWindow(0, 60, lambda: 0.0)


def test_the_access_log_shows_patterns() -> None:
    scope: dict[str, Any] = {
        "path": "/subscribe/subscribe",
        "endpoint": object(),
        "path_params": {"list_name": "subscribe"},
    }
    assert route_pattern(scope) == "/subscribe/{list_name}"
    scope = {
        "path": "/c/ab1.cd/1",
        "endpoint": object(),
        "path_params": {"token": "ab1.cd", "n": 1},
    }
    assert route_pattern(scope) == "/c/{token}/{n}"
    assert route_pattern({"path": "/unsubscribe/secret/x"}) == "(no route)"


@pytest.mark.parametrize(
    ("event", "kind", "hard"),
    [
        ({"event": "bounce"}, EventKind.BOUNCED, True),
        ({"event": "bounce", "type": "bounce"}, EventKind.BOUNCED, True),
        ({"event": "bounce", "type": "blocked"}, EventKind.BOUNCED, False),
        ({"event": "spamreport"}, EventKind.COMPLAINED, False),
        ({"event": "group_unsubscribe"}, EventKind.UNSUBSCRIBED, False),
        ({"event": "open"}, EventKind.OPENED, False),
        ({"event": "machine_opened"}, EventKind.UNKNOWN, False),
        ({"event": 42}, EventKind.UNKNOWN, False),
        ({}, EventKind.UNKNOWN, False),
    ],
)
def test_sendgrid_events_map_to_ours(event: dict[str, Any], kind: EventKind, hard: bool) -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    normal = normalise(event, now=now)
    assert (normal.kind, normal.hard) == (kind, hard)
    assert normal.occurred_at == now  # no usable timestamp: when it arrived


def test_odd_values_in_an_event_do_not_break_it() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    normal = normalise(
        {"event": "click", "timestamp": 10**20, "sg_event_id": "x" * 500, "url": ["no"]}, now=now
    )
    assert normal.occurred_at == now and normal.provider_event_id is None and normal.url == ""


def test_web_settings_are_checked(tmp_path: Path, database_url: str) -> None:
    path = write_config(tmp_path, database_url)
    settings = load_settings(path)
    assert settings.api_token is None and settings.sendgrid_webhook_public_key is None
    assert (settings.webhook_max_age, settings.confirm_token_days, settings.soft_bounce_limit) == (
        600,
        7,
        3,
    )
    assert settings.tracking is True and settings.subscribe_rate_limit == 5
    for key, value, message in (
        ("api_token", '"short"', "at least 16"),
        ("sendgrid_webhook_public_key", '"not a key"', "not a SendGrid verification key"),
        ("webhook_max_age", "0", "greater than or equal to 10"),
        ("max_request_bytes", "10", "greater than or equal to 1024"),
    ):
        write_config(tmp_path, database_url, **{key: value})
        with pytest.raises(ConfigError, match=message):
            load_settings(path)


def test_the_events_migration_goes_down_and_up(db: Database) -> None:
    config = _alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert "events" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert "events" in inspect(db.engine).get_table_names()


def test_serve_runs_uvicorn_with_the_projects_app(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, int, bool]] = []

    class FakeServer:
        def __init__(self, app: Any, host: str, port: int) -> None:
            served.append((host, port, app.state.web.settings.base_url == BASE))

        def run(self) -> None:
            pass

    monkeypatch.setattr("mailer.web.server.web_server", FakeServer)
    # Not in the test process: what it holds would be kept from the collector for good.
    monkeypatch.setattr("mailer.web.server.freeze_startup", lambda: None)
    result = cli("serve", "--host", "0.0.0.0", "--port", "8123")
    assert served == [("0.0.0.0", 8123, True)]
    assert "serving https://news.example.org on http://0.0.0.0:8123" in result.stdout
    assert "serve" in cli("--help").stdout
