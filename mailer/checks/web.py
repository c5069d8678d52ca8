"""Whether ``base_url`` leads to this mailer's web app: ``GET {base_url}/healthz`` must
answer as mailer, with the instance id of this ``secret_key`` (a link signed here opens
only there), and with its database up."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from mailer.campaigns.readiness import where_to_set
from mailer.checks.model import Check, CheckOptions, Status
from mailer.settings import Settings
from mailer.web.health import APP_NAME, instance_id

__all__ = ["health_check"]


def health_check(settings: Settings, options: CheckOptions) -> Check:
    url = f"{settings.base_url}/healthz"
    # Unreachable matters for real mail (every link leads there), not for the outbox.
    missing = Status.FAIL if settings.sends_real_mail else Status.WARN
    serve = f"run mailer serve (or mailer run) behind base_url {where_to_set(settings, 'base_url')}"
    try:
        answer = httpx.get(
            url,
            timeout=options.timeout,
            follow_redirects=True,
            verify=options.ssl_context or True,
        )
    except httpx.HTTPError as err:
        return Check("web", missing, f"cannot reach {url}: {err or type(err).__name__}", serve)
    body: Any = None
    with contextlib.suppress(ValueError):  # not JSON: not ours
        body = answer.json()
    if not isinstance(body, dict) or body.get("app") != APP_NAME:
        return Check(
            "web",
            missing,
            f"{url} answers {answer.status_code}, but not as mailer's web app",
            f"point base_url at it {where_to_set(settings, 'base_url')}, or {serve}",
        )
    if body.get("instance") != instance_id(settings.secret_key.get_secret_value()):
        return Check(
            "web",
            Status.FAIL,
            f"{url} is another mailer (another secret_key): links signed here do not open there",
            "use the same mailer.toml (secret_key, database_url) for the web app and the senders",
        )
    if answer.status_code != 200 or body.get("status") != "ok":
        return Check(
            "web",
            Status.FAIL,
            f"{url} answers {answer.status_code}: its database does not answer",
            "check database_url of the web app and that the database runs",
        )
    return Check("web", Status.OK, f"{url} answers: mailer {body.get('version', '')}".rstrip())
