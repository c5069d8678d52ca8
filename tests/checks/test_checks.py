"""``mailer check`` against the real things on loopback: SMTP servers with and without
AUTH, a stand-in for SendGrid's /v3/scopes, a DNS server, and the web app under
uvicorn."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from mailer.checks import Check, CheckOptions, Status, run_checks
from mailer.checks.backend import sendgrid_check, smtp_check
from mailer.checks.dns import dns_checks
from mailer.checks.rate_limits import redis_checks
from mailer.checks.web import health_check
from mailer.settings import Settings, load_settings
from mailer.storage import Database
from mailer.web.app import create_app
from tests.support.cli import Cli
from tests.support.config import SENDER, write_config
from tests.support.dns_server import DnsServer
from tests.support.keys import Tls
from tests.support.sendgrid import FakeScopes
from tests.support.smtp import password_authenticator, start_smtp

DOMAIN = SENDER.rpartition("@")[2]
USER = "ann%40example.org:p%40ss%20word"  # password_authenticator's


def project(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    """Settings that may send real mail: https, a postal address, our own sender."""
    values = {"from_address": f'"The Times <{SENDER}>"', **extra}
    return load_settings(write_config(tmp_path, database_url, **values))


def good_records(public_record: bytes) -> dict[str, list[str]]:
    return {
        DOMAIN: ["v=spf1 ip4:127.0.0.1 -all", "google-site-verification=abc"],
        f"_dmarc.{DOMAIN}": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@example-times.org"],
        f"s2024._domainkey.{DOMAIN}": [public_record.decode()],
    }


@contextmanager
def dns_server(records: dict[str, list[str]]) -> Iterator[DnsServer]:
    server = DnsServer(records)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def served(settings: Settings, db: Database, tls: Tls | None = None) -> Iterator[str]:
    """The web app under uvicorn on a free loopback port; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    scheme = "https" if tls else "http"
    base_url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    local = settings.model_copy(update={"base_url": base_url})
    options: dict[str, Any] = (
        {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)} if tls else {}
    )
    config = uvicorn.Config(create_app(local, db), log_level="warning", **options)
    server = uvicorn.Server(config)
    # The socket listens already: connections made before uvicorn is up wait for it.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------


def test_smtp_without_auth(tmp_path: Path) -> None:
    server = start_smtp()
    try:
        settings = project(
            tmp_path, "sqlite:///x.db", backend='"smtp"', smtp_url=f'"{server.url()}"'
        )
        check = smtp_check(settings, CheckOptions())
    finally:
        server.controller.stop()
    assert check == Check(
        "smtp", Status.OK, f"127.0.0.1:{server.port} answers: EHLO, no AUTH (smtp_url has no user)"
    )
    assert server.handler.received == []  # nothing was sent


def test_smtp_starttls_and_auth_and_what_fails_there(tmp_path: Path, tls: Tls) -> None:
    server = start_smtp(
        tls_context=tls.server_context(),
        require_starttls=True,
        authenticator=password_authenticator,
        auth_required=True,
    )
    trusting = CheckOptions(ssl_context=tls.client_context())

    def check(userinfo: str, options: CheckOptions = trusting) -> Check:
        url = server.url(userinfo=userinfo, query="starttls=true")
        settings = project(tmp_path, "sqlite:///x.db", backend='"smtp"', smtp_url=f'"{url}"')
        return smtp_check(settings, options)

    try:
        good = check(USER)
        wrong = check("ann%40example.org:wrong")
        untrusted = check(USER, CheckOptions())  # the system's trust store
    finally:
        server.controller.stop()
    assert good == Check(
        "smtp",
        Status.OK,
        f"127.0.0.1:{server.port} answers: EHLO, STARTTLS, AUTH as ann@example.org",
    )
    assert wrong.status is Status.FAIL
    assert "535" in wrong.message
    assert wrong.fix.startswith("check host, port, starttls, user and password of smtp_url in ")
    assert untrusted.status is Status.FAIL and "certificate" in untrusted.message


def test_auth_without_tls_works_but_warns(tmp_path: Path) -> None:
    server = start_smtp(authenticator=password_authenticator, auth_require_tls=False)
    try:
        url = server.url(userinfo=USER)
        settings = project(tmp_path, "sqlite:///x.db", backend='"smtp"', smtp_url=f'"{url}"')
        check = smtp_check(settings, CheckOptions())
    finally:
        server.controller.stop()
    assert (check.status, check.message) == (
        Status.WARN,
        f"127.0.0.1:{server.port} answers: EHLO, AUTH as ann@example.org",
    )
    assert check.fix == "the password went unencrypted: use smtps:// or ?starttls=true"


def test_smtp_nobody_listening(tmp_path: Path) -> None:
    port = free_port()
    url = f"smtp://127.0.0.1:{port}"
    settings = project(tmp_path, "sqlite:///x.db", backend='"smtp"', smtp_url=f'"{url}"')
    check = smtp_check(settings, CheckOptions())
    assert check.status is Status.FAIL
    assert check.message.startswith(f"SMTP cannot connect to 127.0.0.1:{port}")


# --- SendGrid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "key", "status", "message"),
    [
        (["mail.send", "stats.read"], "SG.good", Status.OK, "and may send mail (mail.send)"),
        (["stats.read"], "SG.good", Status.FAIL, "may not send mail (mail.send is not among"),
        (["mail.send"], "SG.wrong", Status.FAIL, "refused the API key (401)"),
    ],
)
def test_sendgrid_scopes(
    tmp_path: Path, scopes: list[str], key: str, status: Status, message: str
) -> None:
    fake = FakeScopes(scopes)
    try:
        settings = project(
            tmp_path,
            "sqlite:///x.db",
            backend='"sendgrid"',
            sendgrid_api_key=f'"{key}"',
            sendgrid_host=f'"{fake.host}"',
        )
        check = sendgrid_check(settings, CheckOptions())
    finally:
        fake.stop()
    assert (check.name, check.status) == ("sendgrid", status)
    assert message in check.message
    assert fake.requests == [("/v3/scopes", f"Bearer {key}")]


def test_sendgrid_not_reachable(tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    settings = project(
        tmp_path, "sqlite:///x.db", backend='"sendgrid"', sendgrid_api_key='"SG.x"',
        sendgrid_host=f'"{host}"',
    )  # fmt: skip
    check = sendgrid_check(settings, CheckOptions())
    assert check.status is Status.FAIL
    assert check.message.startswith(f"cannot reach {host}: ")


# --- Redis (redis_url) --------------------------------------------------------------


def test_redis_answers_ping(tmp_path: Path) -> None:
    url = os.environ.get("MAILER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = project(tmp_path, "sqlite:///x.db", redis_url=f'"{url}"')
    (check,) = redis_checks(settings, CheckOptions(timeout=1))
    if check.status is not Status.OK:
        pytest.skip(f"no Redis at {url}: {check.message}; set MAILER_TEST_REDIS_URL to one")
    where = url.split("://", 1)[1].rpartition("@")[2]
    assert check == Check(
        "redis", Status.OK, f"{where} answers PING: the subscribe limits count there"
    )


def test_redis_not_reachable_is_a_warning_and_unset_is_no_check(tmp_path: Path) -> None:
    port = free_port()
    settings = project(
        tmp_path, "sqlite:///x.db", redis_url=f'"redis://:hunter2@127.0.0.1:{port}/3"',
        base_url=f'"http://127.0.0.1:{free_port()}"',
    )  # fmt: skip
    (check,) = redis_checks(settings, CheckOptions(timeout=1))
    assert check.status is Status.WARN  # the limits fall back to the database
    assert check.message.startswith(f"cannot reach 127.0.0.1:{port}/3: ")
    assert check.message.endswith("; the subscribe limits are counted in the database meanwhile")
    assert check.fix == "check redis_url and that Redis runs"
    assert "hunter2" not in check.line()
    options = CheckOptions(nameserver="127.0.0.1:9", dns_timeout=0.1, timeout=1)
    checks = run_checks(settings, options)
    names = [c.name for c in checks]
    assert names[names.index("database") + 1] == "redis"  # after the database, its fallback
    assert redis_checks(project(tmp_path, "sqlite:///x.db"), CheckOptions()) == []


# --- DNS ----------------------------------------------------------------------------


def dkim_settings(tmp_path: Path, dkim_pem: Path, **extra: str) -> Settings:
    return project(
        tmp_path,
        "sqlite:///x.db",
        backend='"smtp"',
        smtp_url='"smtp://127.0.0.1:25"',
        dkim_private_key=f'"{dkim_pem.name}"',
        dkim_selector='"s2024"',
        dkim_domain=f'"{DOMAIN}"',
        **extra,
    )


def test_dkim_spf_and_dmarc_all_published(tmp_path: Path, dkim_pem: Path, dkim_key: Any) -> None:
    settings = dkim_settings(tmp_path, dkim_pem)
    with dns_server(good_records(dkim_key.public_record)) as dns:
        checks = dns_checks(settings, CheckOptions(nameserver=dns.address))
    assert checks == [
        Check(
            "dkim",
            Status.OK,
            f"the key is readable and s2024._domainkey.{DOMAIN} publishes its public half",
        ),
        Check("spf", Status.OK, f"{DOMAIN}: v=spf1 ip4:127.0.0.1 -all"),
        Check(
            "dmarc",
            Status.OK,
            f"_dmarc.{DOMAIN}: v=DMARC1; p=quarantine; rua=mailto:dmarc@example-times.org",
        ),
    ]


def test_what_is_missing_or_wrong_fails_with_the_record_to_publish(
    tmp_path: Path, dkim_pem: Path, dkim_key: Any
) -> None:
    settings = dkim_settings(tmp_path, dkim_pem)
    other = "v=DKIM1; k=rsa; p=" + dkim_key.public_record.decode().split("p=")[1][:-8] + "AAAAAAAA"
    records = {
        DOMAIN: ["v=spf1 -all", "v=spf1 include:_spf.example.net ~all"],
        f"s2024._domainkey.{DOMAIN}": [other],
    }
    with dns_server(records) as dns:
        dkim, spf, dmarc = dns_checks(settings, CheckOptions(nameserver=dns.address))
        assert f"_dmarc.{DOMAIN}." in dns.queries
    ours = dkim_key.public_record.decode().split("p=")[1]
    assert (dkim.status, dkim.message) == (
        Status.FAIL,
        f"s2024._domainkey.{DOMAIN} publishes another key than dkim_private_key's",
    )
    assert (
        dkim.fix == f"publish a TXT record at s2024._domainkey.{DOMAIN}: v=DKIM1; k=rsa; p={ours}"
    )
    assert (spf.status, spf.fix) == (Status.FAIL, "merge them into one")
    assert "2 SPF records" in spf.message
    assert dmarc.status is Status.FAIL
    assert dmarc.fix.startswith(f"add a TXT record at _dmarc.{DOMAIN}: v=DMARC1; p=none")

    with dns_server({DOMAIN: []}) as dns:
        dkim, spf, dmarc = dns_checks(settings, CheckOptions(nameserver=dns.address))
    assert dkim.message == f"the key is readable; s2024._domainkey.{DOMAIN} has no DKIM record"
    assert spf.message == f"{DOMAIN} has no SPF record (TXT v=spf1 ...)"
    with dns_server({}) as dns:
        spf = dns_checks(settings, CheckOptions(nameserver=dns.address))[1]
    assert (spf.status, spf.message) == (Status.FAIL, f"{DOMAIN} does not exist in DNS")


def test_a_dns_server_that_does_not_answer_is_a_warning(
    tmp_path: Path, dkim_pem: Path, silent_dns: str
) -> None:
    settings = dkim_settings(tmp_path, dkim_pem)
    checks = dns_checks(settings, CheckOptions(nameserver=silent_dns, dns_timeout=0.3))
    assert [c.status for c in checks] == [Status.WARN] * 3
    assert checks[1].message == f"could not look up {DOMAIN}: no answer within 0.3 s"
    assert checks[0].message.startswith("the key is readable; could not look up s2024._domainkey")


def test_on_the_outbox_what_real_mail_would_need_is_a_warning(tmp_path: Path) -> None:
    settings = project(tmp_path, "sqlite:///x.db")
    with dns_server({DOMAIN: []}) as dns:
        checks = dns_checks(settings, CheckOptions(nameserver=dns.address))
    assert [(c.name, c.status) for c in checks] == [
        ("dkim", Status.WARN),
        ("spf", Status.WARN),
        ("dmarc", Status.WARN),
    ]
    assert (
        checks[1].message
        == f"{DOMAIN} has no SPF record (TXT v=spf1 ...) (outbox: nothing is sent)"
    )
    placeholder = load_settings(write_config(tmp_path, "sqlite:///x.db"))  # example.org
    (only,) = dns_checks(placeholder, CheckOptions(nameserver="127.0.0.1:9"))
    assert (only.status, only.message) == (
        Status.WARN,
        "example.org is reserved for examples: no DKIM, SPF or DMARC to look up",
    )


# --- the web app behind base_url ----------------------------------------------------


def test_the_web_app_answers_as_this_mailer(
    tmp_path: Path, db: Database, database_url: str
) -> None:
    settings = project(tmp_path, database_url)
    with served(settings, db) as base_url:
        local = settings.model_copy(update={"base_url": base_url})
        ours = health_check(local, CheckOptions())
        other = local.model_copy(update={"secret_key": SecretStr("another-secret-" * 3)})
        theirs = health_check(other, CheckOptions())
    assert ours == Check("web", Status.OK, f"{base_url}/healthz answers: mailer 0.1.0")
    assert theirs.status is Status.FAIL
    assert theirs.message == (
        f"{base_url}/healthz is another mailer (another secret_key): links signed here do "
        "not open there"
    )


def test_something_else_behind_base_url_and_nothing_at_all(tmp_path: Path) -> None:
    fake = FakeScopes([])  # answers 404 JSON: some other site
    try:
        settings = project(tmp_path, "sqlite:///x.db", base_url=f'"{fake.host}"')
        other = health_check(settings, CheckOptions())
    finally:
        fake.stop()
    assert (other.status, other.message) == (
        Status.WARN,
        f"{fake.host}/healthz answers 404, but not as mailer's web app",
    )
    nobody = f"http://127.0.0.1:{free_port()}"
    outbox = project(tmp_path, "sqlite:///x.db", base_url=f'"{nobody}"')
    assert health_check(outbox, CheckOptions()).status is Status.WARN
    smtp = outbox.model_copy(update={"backend": "smtp"})
    down = health_check(smtp, CheckOptions())
    assert down.status is Status.FAIL
    assert down.message.startswith(f"cannot reach {nobody}/healthz: ")
    assert down.fix.startswith("run mailer serve (or mailer run) behind base_url in ")


# --- all of it ----------------------------------------------------------------------


def test_everything_ready_over_tls(
    tmp_path: Path, db: Database, database_url: str, tls: Tls, dkim_pem: Path, dkim_key: Any
) -> None:
    smtp = start_smtp(
        tls_context=tls.server_context(),
        require_starttls=True,
        authenticator=password_authenticator,
        auth_required=True,
    )
    url = smtp.url(userinfo=USER, query="starttls=true")
    try:
        settings = project(
            tmp_path,
            database_url,
            backend='"smtp"',
            smtp_url=f'"{url}"',
            dkim_private_key=f'"{dkim_pem.name}"',
            dkim_selector='"s2024"',
            dkim_domain=f'"{DOMAIN}"',
        )
        with (
            served(settings, db, tls) as base_url,
            dns_server(good_records(dkim_key.public_record)) as dns,
        ):
            ready = settings.model_copy(update={"base_url": base_url})
            options = CheckOptions(nameserver=dns.address, ssl_context=tls.client_context())
            checks = run_checks(ready, options)
    finally:
        smtp.controller.stop()
    assert [(c.name, c.status) for c in checks] == [
        ("settings", Status.OK),
        ("database", Status.OK),
        ("smtp", Status.OK),
        ("dkim", Status.OK),
        ("spf", Status.OK),
        ("dmarc", Status.OK),
        ("web", Status.OK),
    ], [c.line() for c in checks]
    assert (
        checks[0].message
        == f"base_url is https://, postal_address is set, the sender is at {DOMAIN}"
    )


# --- the command --------------------------------------------------------------------


def test_the_command_on_smtp_with_a_local_base_url_fails_and_says_why(
    tmp_path: Path, db: Database, database_url: str, dkim_key: Any
) -> None:
    server = start_smtp()
    try:
        settings = project(tmp_path, database_url)
        with (
            served(settings, db) as base_url,
            dns_server(good_records(dkim_key.public_record)) as dns,
        ):
            path = write_config(
                tmp_path,
                database_url,
                from_address=f'"{SENDER}"',
                base_url=f'"{base_url}"',
                backend='"smtp"',
                smtp_url=f'"{server.url()}"',
            )
            cli = Cli(path)
            as_json = cli("check", "--json", "--nameserver", dns.address, ok=False)
            text = cli("check", "--nameserver", dns.address, ok=False)
    finally:
        server.controller.stop()
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["ready"], data["backend"]) == (False, "smtp")
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert statuses == {
        "base_url": "FAIL",
        "database": "OK",
        "smtp": "OK",
        "dkim": "WARN",
        "spf": "OK",
        "dmarc": "OK",
        "web": "OK",
    }
    first = data["checks"][0]
    assert first["fix"] == (
        f"set base_url to the web app's public https:// address in {path} (or as MAILER_BASE_URL)"
    )
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"FAIL base_url: is {base_url}, but real mail's one-click")
    assert lines[2].startswith("OK   smtp: 127.0.0.1:")
    assert lines[3] == (
        "WARN dkim: not set: mail leaves unsigned unless the SMTP server signs it; set "
        f"dkim_private_key, dkim_selector and dkim_domain in {path} (or as MAILER_DKIM_PRIVATE_KEY)"
    )
    assert lines[-1] == "not ready: 1 of 7 checks FAIL"


def test_the_command_on_what_init_writes_warns_and_exits_0(
    tmp_path: Path, database_url: str
) -> None:
    path = write_config(
        tmp_path,
        database_url,
        base_url=f'"http://127.0.0.1:{free_port()}"',
        postal_address='""',
    )
    Cli(path)("lists", "ls")  # opens (creates) the database
    out = Cli(path)("check", "--nameserver", "127.0.0.1:9")
    lines = out.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines[:-1]] == [
        "WARN",
        "WARN",
        "WARN",
        "OK",
        "WARN",
        "WARN",
        "WARN",
    ]
    assert "WARN backend: outbox: nothing is sent; for real mail set backend = " in out.stdout
    assert lines[-1] == "backend outbox: nothing is sent, nothing FAILs"
    typo = Cli(path)("check", "--nameserver", "dns.local", ok=False)
    assert (typo.exit_code, typo.stdout) == (1, "")
    assert typo.stderr == (
        "error: --nameserver: 'dns.local' is not an IP address (IP or IP:PORT)\n"
    )
