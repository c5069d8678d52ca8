"""First contact: the README's quick tour runs end to end on the settings mailer init
writes (a local http:// base_url on the outbox), and the same settings on a backend
that sends real mail are refused early, at every command that would lead to sending,
with one line naming the key and changing nothing stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailer.cli import app
from mailer.settings import load_settings
from mailer.storage import open_database
from mailer.storage.models import Delivery
from tests.scheduling.test_restart import mailer_run
from tests.support.cli import Cli
from tests.support.config import SENDER, write_config
from tests.support.examples import ARTICLE, DONATE

MEMBERS = "email,name\nann@example.org,Ann\nbob@example.org,Bob\nnot-an-address,Nobody\n"


@pytest.mark.slow
def test_the_quick_tour_on_what_init_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILER_CONFIG", "MAILER_BACKEND", "MAILER_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    init = CliRunner().invoke(app, ["init"])
    assert init.exit_code == 0, init.output
    assert "links point at http://localhost:8000, a local address" in init.stdout
    assert 'before sending real mail (backend = "smtp" or "sendgrid"), set' in init.stdout
    for key in ("base_url", "postal_address", "from_address"):
        assert f"\n  {key}: " in init.stdout
    assert "mailer check tells whether" in init.stdout
    config = tmp_path / "mailer.toml"
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(config)
    cli("lists", "create", "weekly", "--description", "The week's best reporting")
    cli("subscribers", "import", "members.csv", "--list", "weekly")
    cli("render", str(ARTICLE), "-o", "out/")
    assert (tmp_path / "out" / "email.html").is_file()
    assert cli("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly").stdout == "1\n"
    cli("campaigns", "schedule", "1", "--at", "2030-01-01T09:00")

    run = mailer_run(config, fake_now=datetime(2030, 1, 1, 9, 2, tzinfo=UTC).isoformat())
    run.wait_for("campaign 1 is sent")
    assert run.stop() == 0, run.output

    shown = json.loads(cli("campaigns", "show", "1", "--json").stdout)
    assert (shown["status"], shown["deliveries"]["sent"]) == ("sent", 2)
    parser = BytesParser(policy=policy.default)
    messages = [
        parser.parsebytes(p.read_bytes()) for p in (tmp_path / "var" / "outbox").glob("*.eml")
    ]
    assert len(messages) == 2
    assert all("<http://localhost:8000/unsubscribe/" in m["List-Unsubscribe"] for m in messages)
    assert {m["From"] for m in messages} == {"My Newsletter <newsletter@example.org>"}


@pytest.fixture
def init_like(tmp_path: Path, database_url: str) -> Path:
    """What mailer init writes: a local base_url, no postal address, example.org."""
    path = write_config(
        tmp_path, database_url, base_url='"http://localhost:8000"', postal_address='""'
    )
    path.write_text(path.read_text() + DONATE, encoding="utf-8")
    return path


def test_on_smtp_every_command_towards_sending_refuses_and_stores_nothing(
    init_like: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(init_like)
    cli("lists", "create", "weekly")
    cli("subscribers", "add", "ann@example.org", "--list", "weekly")
    cli("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")  # outbox: fine
    monkeypatch.setenv("MAILER_BACKEND", "smtp")
    monkeypatch.setenv("MAILER_SMTP_URL", "smtp://127.0.0.1:9")  # never reached
    attempts = [
        ("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly"),
        ("campaigns", "schedule", "1", "--at", "2030-01-01T09:00"),
        ("campaigns", "test", "1", "--to", "editor@example.org"),
        ("campaigns", "send", "1"),
        ("campaigns", "resume", "1"),
    ]
    for args in attempts:
        refused = cli(*args, ok=False)
        assert refused.exit_code == 1, args
        lines = refused.stderr.splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("error: base_url: is http://localhost:8000, but real mail's"), (
            lines
        )
        assert (
            f"in {init_like} (or as MAILER_BASE_URL) (and 2 more: mailer check lists them)"
            in lines[0]
        )
    listed = json.loads(cli("campaigns", "ls", "--json").stdout)
    assert [(c["id"], c["status"], c["scheduled_at"]) for c in listed] == [(1, "draft", None)]
    settings = load_settings(init_like)
    with open_database(settings.database_url) as db, db.session() as session:
        assert session.query(Delivery).count() == 0
    assert not settings.outbox_dir.exists() or not any(settings.outbox_dir.iterdir())


def test_each_rule_names_its_key_in_turn_and_a_placeholder_sender_is_its_own_fix(
    init_like: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(init_like)
    cli("lists", "create", "weekly")
    monkeypatch.setenv("MAILER_BACKEND", "sendgrid")
    monkeypatch.setenv("MAILER_SENDGRID_API_KEY", "SG.test")
    create = ("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    monkeypatch.setenv("MAILER_BASE_URL", "https://news.example.org")
    refused = cli(*create, ok=False).stderr
    assert refused.startswith("error: postal_address: is empty, but the law (CAN-SPAM)")
    monkeypatch.setenv("MAILER_POSTAL_ADDRESS", "1 Main Street, Springfield")
    refused = cli(*create, ok=False).stderr
    assert refused.startswith("error: from_address: is newsletter@example.org, at example.org")
    refused = cli(*create, "--from", "news@mail.example.com", ok=False).stderr
    assert "pass --from with an address at your own domain" in refused
    assert cli("campaigns", "ls", "--json").stdout.strip() == "[]"
    # The form with a name: its address is checked, its name becomes the sender's.
    created = cli(*create, "--from", f"The Weekly <{SENDER}>", "--json")
    assert json.loads(created.stdout)["from"] == SENDER
    settings = load_settings(init_like)
    with open_database(settings.database_url) as db, db.session() as session:
        from mailer.storage.models import Campaign

        campaign = session.get_one(Campaign, 1)
        assert (campaign.from_address, campaign.from_name) == (SENDER, "The Weekly")
