from __future__ import annotations

import pytest

from mailer.settings.smtp_url import SmtpConfig, parse_smtp_url


def test_plain_smtp() -> None:
    assert parse_smtp_url("smtp://mail.example.org") == SmtpConfig("mail.example.org", 25)


def test_starttls_with_login_and_options() -> None:
    config = parse_smtp_url(
        "smtp://ann%40example.org:p%40ss%20word@Mail.Example.org:587"
        "?starttls=true&timeout=7.5&concurrency=8&helo=out.example.org"
    )
    assert config == SmtpConfig(
        host="mail.example.org",
        port=587,
        security="starttls",
        username="ann@example.org",
        password="p@ss word",
        timeout=7.5,
        concurrency=8,
        helo="out.example.org",
    )
    assert "p@ss" not in repr(config)


def test_smtps_is_implicit_tls_on_465() -> None:
    config = parse_smtp_url("smtps://u:p@mail.example.org")
    assert (config.security, config.port, config.username, config.password) == (
        "tls",
        465,
        "u",
        "p",
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://mail.example.org", "smtp://"),
        ("smtp://", "no host"),
        ("smtp://h:99999", "port"),
        ("smtp://h/path", "path"),
        ("smtp://h?starttls=maybe", "starttls"),
        ("smtps://h?starttls=true", "TLS already"),
        ("smtp://h?timeout=0", "timeout"),
        ("smtp://h?timeout=soon", "timeout"),
        ("smtp://h?concurrency=0", "concurrency"),
        ("smtp://h?pool=3", "unknown option 'pool'"),
    ],
)
def test_unusable_urls_are_refused_without_showing_the_password(url: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        parse_smtp_url(url.replace("//", "//user:secret@", 1) if "//h" in url else url)
    assert "secret" not in str(caught.value)
