"""Whether the backend's server or account takes mail from us: SMTP connects, says
EHLO, starts TLS and logs in as ``smtp_url`` asks (the same connection code as sending);
SendGrid's API key is asked for its scopes (``GET /v3/scopes``), which must hold
``mail.send``. Nothing is sent."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
from dataclasses import replace

from mailer.campaigns.readiness import where_to_set
from mailer.checks.model import Check, CheckOptions, Status
from mailer.delivery.smtp_connection import SmtpConnection
from mailer.exceptions import BackendError
from mailer.settings import Settings
from mailer.settings.smtp_url import parse_smtp_url

__all__ = ["backend_check", "sendgrid_check", "smtp_check"]


def backend_check(settings: Settings, options: CheckOptions) -> Check:
    if settings.backend == "smtp":
        return smtp_check(settings, options)
    if settings.backend == "sendgrid":
        return sendgrid_check(settings, options)
    return Check(
        "backend",
        Status.WARN,
        f"{settings.backend}: nothing is sent",
        'for real mail set backend = "smtp" (and smtp_url) or "sendgrid" (and '
        f"sendgrid_api_key) {where_to_set(settings, 'backend')}",
    )


def smtp_check(settings: Settings, options: CheckOptions) -> Check:
    if settings.smtp_url is None:
        return Check(
            "smtp",
            Status.FAIL,
            "smtp_url is not set",
            f'set smtp_url = "smtp://user:password@host:587?starttls=true" '
            f"{where_to_set(settings, 'smtp_url')}",
        )
    config = parse_smtp_url(settings.smtp_url.get_secret_value())  # valid: checked on load
    config = replace(config, timeout=min(config.timeout, options.timeout))
    context = options.ssl_context or ssl.create_default_context()
    connection = SmtpConnection(config, context, config.helo or socket.getfqdn())
    try:
        connection.open()
    except BackendError as err:
        return Check(
            "smtp",
            Status.FAIL,
            str(err),
            f"check host, port, starttls, user and password of smtp_url "
            f"{where_to_set(settings, 'smtp_url')}",
        )
    connection.close()
    steps = ["EHLO"]
    if config.security == "starttls":
        steps.append("STARTTLS")
    elif config.security == "tls":
        steps.insert(0, "TLS")
    if config.username is not None:
        steps.append(f"AUTH as {config.username}")
    else:
        steps.append("no AUTH (smtp_url has no user)")
    status = Status.OK
    fix = ""
    if config.security == "none" and config.username is not None:
        # The password crossed the network in the clear.
        status = Status.WARN
        fix = "the password went unencrypted: use smtps:// or ?starttls=true"
    return Check("smtp", status, f"{config.address} answers: {', '.join(steps)}", fix)


def sendgrid_check(settings: Settings, options: CheckOptions) -> Check:
    import sendgrid
    from python_http_client.exceptions import HTTPError

    if settings.sendgrid_api_key is None:
        return Check(
            "sendgrid",
            Status.FAIL,
            "sendgrid_api_key is not set",
            "create a key with the Mail Send permission (SendGrid > Settings > API Keys) "
            f"and set sendgrid_api_key {where_to_set(settings, 'sendgrid_api_key')}",
        )
    host = settings.sendgrid_host
    api = sendgrid.SendGridAPIClient(settings.sendgrid_api_key.get_secret_value(), host=host)
    api.client.timeout = options.timeout
    key_fix = (
        "set sendgrid_api_key to a key of your account with the Mail Send permission "
        f"{where_to_set(settings, 'sendgrid_api_key')}"
    )
    try:
        response = api.client.scopes.get()
    except HTTPError as err:
        status = getattr(err, "status_code", None)
        if status in (401, 403):
            return Check("sendgrid", Status.FAIL, f"{host} refused the API key ({status})", key_fix)
        return Check("sendgrid", Status.FAIL, f"{host} answered {status} to GET /v3/scopes", "")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        return Check(
            "sendgrid",
            Status.FAIL,
            f"cannot reach {host}: {reason}",
            f"check sendgrid_host {where_to_set(settings, 'sendgrid_host')} and the network",
        )
    try:
        scopes = json.loads(response.body)["scopes"]
        if not isinstance(scopes, list):
            raise TypeError("scopes is not a list")
    except (ValueError, KeyError, TypeError):
        return Check(
            "sendgrid",
            Status.FAIL,
            f"{host} answered GET /v3/scopes with no list of scopes: is it SendGrid?",
            f"check sendgrid_host {where_to_set(settings, 'sendgrid_host')}",
        )
    if "mail.send" not in scopes:
        return Check(
            "sendgrid",
            Status.FAIL,
            f"the API key works at {host} but may not send mail (mail.send is not among its "
            f"{len(scopes)} scopes)",
            "give the key the Mail Send permission (SendGrid > Settings > API Keys), or " + key_fix,
        )
    return Check(
        "sendgrid", Status.OK, f"the API key works at {host} and may send mail (mail.send)"
    )
