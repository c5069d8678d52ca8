"""The rules for real mail: which settings smtp and sendgrid refuse, and what the
outbox takes (mailer init's settings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.campaigns.readiness import (
    placeholder_domain,
    readiness_problems,
    require_ready,
)
from mailer.exceptions import NotReady
from mailer.settings import load_settings
from mailer.settings.template import CONFIG_TEMPLATE
from tests.support.config import SENDER, write_config

INIT_LIKE = {"base_url": '"http://localhost:8000"', "postal_address": '""'}


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("news@example.org", "example.org"),
        ("news@EXAMPLE.COM", "example.com"),
        ("news@example.net", "example.net"),
        ("news@mail.example.org", "mail.example.org"),
        ("news@example-times.org", None),
        ("news@notexample.org", None),
        ("news@example.org.uk", None),
    ],
)
def test_placeholder_domains_are_rfc_2606s_and_their_subdomains(
    address: str, domain: str | None
) -> None:
    assert placeholder_domain(address) == domain


def test_the_outbox_takes_init_settings_a_real_backend_refuses_each_with_its_fix(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", **INIT_LIKE)
    outbox = load_settings(path)
    require_ready(outbox)  # nothing is sent: nothing to refuse
    problems = readiness_problems(outbox)
    assert [p.key for p in problems] == ["base_url", "postal_address", "from_address"]
    smtp = load_settings(path, backend="smtp", smtp_url="smtp://127.0.0.1:25")
    with pytest.raises(NotReady) as caught:
        require_ready(smtp)
    assert caught.value.key == "base_url"
    assert [p.key for p in caught.value.problems] == ["base_url", "postal_address", "from_address"]
    assert str(caught.value) == (
        "base_url: is http://localhost:8000, but real mail's one-click unsubscribe link "
        "(RFC 8058, which Gmail and Yahoo require) must be https://; set base_url to the "
        f"web app's public https:// address in {path} (or as MAILER_BASE_URL) "
        "(and 2 more: mailer check lists them)"
    )
    assert problems[1].fix == (
        f"set postal_address to your postal address in {path} (or as MAILER_POSTAL_ADDRESS)"
    )
    assert problems[2].message.startswith("is newsletter@example.org, at example.org, a domain")


def test_a_variable_that_overrides_the_file_is_named_as_where_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", from_address=f'"{SENDER}"')
    monkeypatch.setenv("MAILER_BASE_URL", "http://10.0.0.1:8000")
    settings = load_settings(path, backend="sendgrid", sendgrid_api_key="SG.x")
    with pytest.raises(NotReady) as caught:
        require_ready(settings)
    assert [p.key for p in caught.value.problems] == ["base_url"]
    assert caught.value.problems[0].fix.endswith(
        "in the environment variable MAILER_BASE_URL (it overrides mailer.toml)"
    )


def test_a_campaigns_own_sender_is_checked_and_the_fix_says_to_make_it_again(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", from_address=f'"The Times <{SENDER}>"')
    settings = load_settings(path, backend="smtp", smtp_url="smtp://127.0.0.1:25")
    require_ready(settings)  # https, a postal address, a sender of one's own
    assert readiness_problems(settings) == []
    with pytest.raises(NotReady) as caught:
        require_ready(settings, "old@news.example.com", campaign_id=7)
    assert str(caught.value).startswith(
        "from_address: campaign 7 sends from old@news.example.com, at news.example.com"
    )
    assert str(caught.value).endswith(
        "and create the campaign again (its sender is stored with it)"
    )
    # --from at a placeholder, over a good setting: the fix names --from first.
    given = readiness_problems(settings, "x@example.net")
    assert given[0].fix.startswith("pass --from with an address at your own domain, or set")


def test_list_headers_take_a_local_http_link_only_when_told_the_mail_stays_here() -> None:
    from mailer.delivery.headers import list_headers
    from mailer.exceptions import InvalidMessage

    local = "http://localhost:8000/unsubscribe/t"
    with pytest.raises(InvalidMessage, match="must be https://"):
        list_headers("weekly.example.org", local, "news@example.org")
    headers = list_headers("weekly.example.org", local, "news@example.org", https_only=False)
    assert headers["List-Unsubscribe"] == f"<{local}>, <mailto:news@example.org>"
    for broken in ("http://", "http:///x", "ftp://host/x"):
        with pytest.raises(InvalidMessage, match="must be https://"):
            list_headers("weekly.example.org", broken, "news@example.org", https_only=False)


def test_init_writes_a_donate_box_whose_placeholder_url_real_mail_refuses(
    tmp_path: Path,
) -> None:
    # The example article asks for "donate": init's settings render it on the outbox, and
    # real mail waits for the publisher's own donation page.
    path = tmp_path / "mailer.toml"
    path.write_text(
        CONFIG_TEMPLATE.format(
            base_url="https://news.example-times.org",
            secret_key="test-secret-key-0123456789abcdef",
            publisher_name="The Example Times",
            from_address=SENDER,
            postal_address="1 Example Street, Springfield",
            timezone="UTC",
        )
    )
    settings = load_settings(path)
    assert settings.cta["donate"].url == "https://example.org/donate"
    require_ready(settings)
    problems = readiness_problems(settings)
    assert [(p.key, p.fix) for p in problems] == [
        ("cta.donate.url", f"set url in [cta.donate] of {path} to your own page")
    ]
    with pytest.raises(NotReady, match=r"^cta\.donate\.url: is https://example\.org/donate, "):
        require_ready(load_settings(path, backend="smtp", smtp_url="smtp://127.0.0.1:25"))
    path.write_text(
        path.read_text().replace(
            "https://example.org/donate", "https://give.example-times.org/donate"
        )
    )
    assert readiness_problems(load_settings(path)) == []
