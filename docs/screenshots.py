"""Screenshots of the admin's main pages, at a phone's width and a desktop's, for the README.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--subscribers 3000]

Builds a demo project in a temporary folder (two lists, a few thousand made-up
subscribers, examples/article.md sent to one list with its opens and clicks, the next
issue halfway sent, the one after scheduled, a digest, three accounts), serves it on
127.0.0.1, signs in through the form in Debian's chromium (driven by Playwright, as the
browser tests do) and saves
``admin-<page>-<width>.png``. Nothing leaves the machine: mail goes to a list in memory.
A new page joins with one line in ``PAGES``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402
from playwright.sync_api import Browser, FloatRect, Page, sync_playwright  # noqa: E402
from sqlalchemy import Row, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from mailer.accounts.audit import audit  # noqa: E402
from mailer.accounts.users import add_user  # noqa: E402
from mailer.articles import load_text  # noqa: E402
from mailer.campaigns import actions  # noqa: E402
from mailer.campaigns.sender import CampaignSender  # noqa: E402
from mailer.delivery.memory import MemoryBackend  # noqa: E402
from mailer.scheduling.digests import create_digest  # noqa: E402
from mailer.settings import Settings  # noqa: E402
from mailer.storage import (  # noqa: E402
    Campaign,
    Database,
    Delivery,
    Event,
    EventKind,
    Role,
    open_database,
)
from mailer.subscribers.importer import import_file  # noqa: E402
from mailer.subscribers.lists import create_list  # noqa: E402
from mailer.subscribers.subscriptions import unsubscribe  # noqa: E402
from mailer.web.app import create_app  # noqa: E402
from tests.support.browser import CHROMIUM, NO_CHROMIUM, launch, served, sign_in  # noqa: E402

#: (file name part, path): the main pages, as the admin sees them.
PAGES = (
    ("sign-in", "/admin/login"),
    ("dashboard", "/admin"),
    ("accounts", "/admin/users"),
    ("your-account", "/admin/account"),
    ("audit-log", "/admin/audit"),
    ("lists", "/admin/lists"),
    ("list", "/admin/lists/weekly"),
    ("import", "/admin/lists/events/import"),
    ("subscribers", "/admin/subscribers?list=weekly"),
    ("subscriber", "/admin/subscribers/2"),
    ("campaigns", "/admin/campaigns"),
    ("composer", "/admin/campaigns/new"),
    ("campaign", "/admin/campaigns/3"),
    ("edit-draft", "/admin/campaigns/4/edit"),
    ("preview", "/admin/campaigns/3/preview"),
    ("sending", "/admin/campaigns/2/sending"),
    ("report", "/admin/campaigns/1/report"),
    ("digests", "/admin/digests"),
    ("settings", "/admin/settings"),
)
#: A page taller than this is cut there: a long table shows its point in its first rows.
TALLEST = 1200
WIDTHS = (375, 1280)
ADMIN = "ana.ribeiro@millbrook-ledger.example"
PASSWORD = "screenshots only, never real"
FIRST = ["Ana", "Tom", "Lena", "Sam", "Priya", "Jonas", "Mei", "Omar", "Sofia", "Kofi", "Ines"]
LAST = ["Ribeiro", "Okafor", "Marsh", "Keller", "Nakamura", "Haddad", "Novak", "Lindqvist"]
CTA = {
    "donate": {
        "heading": "Independent news needs you",
        "text": "Our reporting is paid for by readers.",
        "button_label": "Donate",
        "url": "https://give.millbrook-ledger.example/donate",
        "amounts": [5, 10, 25],
    }
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--subscribers", type=int, default=3000)
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit(NO_CHROMIUM)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="mailer-screenshots-"))
    database = open_database(f"sqlite:///{folder / 'mailer.db'}")
    outbox: list[EmailMessage] = []

    def make_app(base_url: str) -> FastAPI:
        settings = demo_settings(folder, base_url)
        fill(database, settings, folder, args.subscribers)
        return create_app(settings, database, backend=lambda s: MemoryBackend(outbox, {}))

    try:
        with served(make_app) as base_url, sync_playwright() as playwright:
            browser = launch(playwright)
            for width in WIDTHS:
                shoot(browser, base_url, width, args.out, folder)
            browser.close()
    finally:
        database.close()


def demo_settings(folder: Path, base_url: str) -> Settings:
    return Settings(
        base_dir=folder,
        database_url=f"sqlite:///{folder / 'mailer.db'}",
        secret_key="screenshots-secret-key-0123456789",
        base_url=base_url,
        publisher_name="The Millbrook Ledger",
        from_address="newsletter@millbrook-ledger.example",
        postal_address="12 Landing Road, Millbrook",
        backend="memory",
        cta=CTA,
    )


def fill(database: Database, settings: Settings, folder: Path, count: int) -> None:
    """The demo's lists, subscribers, campaigns and accounts."""
    with database.session() as session:
        create_list(session, "weekly", title="The Millbrook Weekly", double_opt_in=True)
        create_list(session, "events", title="What's on in Millbrook", double_opt_in=True)
    people = write_people(folder / "people.csv", count)
    import_file(database, people, "weekly", confirmed=True)
    some = write_people(folder / "some.csv", count // 8, seed=7)
    import_file(database, some, "events")
    with database.session() as session:
        for number in range(0, count, 37):
            unsubscribe(session, address(number), "weekly", source="preferences")
    send_issue(database, settings)
    start_next_issue(database, settings)
    with database.session() as session:
        create_digest(
            session,
            settings,
            "Weekend reading",
            feed="https://millbrook-ledger.example/feed.xml",
            list_name="weekly",
            cron="0 8 * * sat",
        )
        draft = actions.create(
            session, settings, article=str(ROOT / "examples" / "article.md"), lists=["weekly"]
        )
        at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT09:00")
        actions.schedule(session, settings, draft.id, at, now=datetime.now(UTC), tz="UTC")
        # The issue after that, a draft written in the admin's Markdown editor.
        markdown = (ROOT / "examples" / "article.md").read_text(encoding="utf-8")
        actions.create(
            session,
            settings,
            article=load_text(markdown, name="the Markdown editor", kind="markdown"),
            lists=["weekly"],
            source="admin: Markdown editor",
            article_input={"source": "markdown", "markdown": markdown},
        )
        add_accounts(session)


def address(number: int) -> str:
    return f"reader{number}@millbrook-mail.example"


def write_people(path: Path, count: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name", "tags"])
        for number in range(count):
            tags = rng.choice(["", "donor", "local", "donor,local"])
            writer.writerow([address(number), rng.choice(FIRST), rng.choice(LAST), tags])
    return path


def send_issue(database: Database, settings: Settings) -> None:
    """examples/article.md sent to 'weekly', then the readers' opens and clicks."""
    with database.session() as session:
        campaign_id = actions.create(
            session,
            settings,
            article=str(ROOT / "examples" / "article.md"),
            lists=["weekly"],
            subject="The ferry is back, and the week in Millbrook",
        ).id
    CampaignSender(database, settings, MemoryBackend([], {})).send(campaign_id)
    with database.session() as session:
        links = session.get_one(Campaign, campaign_id).links
        rows = session.execute(
            select(Delivery.id, Delivery.subscriber_id).where(Delivery.campaign_id == campaign_id)
        ).all()
        session.add_all(reader_events(campaign_id, rows, links))


def start_next_issue(database: Database, settings: Settings) -> None:
    """The next issue to 'weekly', stopped after its first batch as a daemon that
    shuts down leaves it: still sending, for the live page."""
    with database.session() as session:
        campaign_id = actions.create(
            session,
            settings,
            article=str(ROOT / "examples" / "article.md"),
            lists=["weekly"],
            subject="Council votes on the harbour plan tonight",
        ).id
    stop = threading.Event()
    sender = actions.sender_for(
        database,
        settings,
        MemoryBackend([], {}),
        stop=stop,
        on_progress=lambda progress: stop.set(),
        release_on_stop=True,
    )
    actions.send(sender, campaign_id)


def reader_events(campaign_id: int, rows: Sequence[Row[int, int]], links: list[str]) -> list[Event]:
    """What the tracking pixel, the tracked links and the provider would have recorded:
    most delivered, nearly half opened, one in ten clicked, over the next ten hours."""
    rng = random.Random(3)
    sent_at = datetime.now(UTC)
    events = []
    for delivery_id, subscriber_id in rows:
        for kind, chance in (
            (EventKind.DELIVERED, 0.98),
            (EventKind.OPENED, 0.46),
            (EventKind.CLICKED, 0.1),
        ):
            if rng.random() >= chance:
                continue
            number = rng.randrange(len(links)) if kind is EventKind.CLICKED and links else None
            events.append(
                Event(
                    kind=kind,
                    campaign_id=campaign_id,
                    delivery_id=delivery_id,
                    subscriber_id=subscriber_id,
                    link_index=number,
                    url=links[number] if number is not None else "",
                    occurred_at=sent_at + timedelta(minutes=rng.randint(1, 600)),
                )
            )
    return events


def add_accounts(session: Session) -> None:
    now = datetime.now(UTC)
    for email, role in (
        (ADMIN, Role.ADMIN),
        ("tom.okafor@millbrook-ledger.example", Role.EDITOR),
        ("lena.marsh@millbrook-ledger.example", Role.VIEWER),
    ):
        add_user(session, email, role, PASSWORD, now=now)
        audit(session, "cli", "user.add", f"user {email}", now=now, role=role.value)


def shoot(browser: Browser, base_url: str, width: int, out: Path, folder: Path) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{base_url}/admin/login")
    save(page, out / f"admin-sign-in-{width}.png")
    sign_in(page, base_url, ADMIN, PASSWORD)
    for name, path in PAGES:
        if name == "sign-in":
            continue
        page.goto(base_url + path)
        if name == "composer":
            fill_composer(page)
        save(page, out / f"admin-{name}-{width}.png")
    shoot_import_summary(page, base_url, out / f"admin-import-summary-{width}.png", folder)
    context.close()


def fill_composer(page: Page) -> None:
    """The composer as it is being used: an article typed, a list ticked and counted."""
    page.fill("#markdown", (ROOT / "examples" / "article.md").read_text(encoding="utf-8"))
    page.fill("#subject", 'The ferry that would not sink, {{ subscriber.first_name or "friend" }}')
    page.get_by_label("The Millbrook Weekly").check()
    page.locator("#count", has_text="recipients").wait_for()
    page.evaluate("() => { document.getElementById('markdown').scrollTop = 0; scrollTo(0, 0); }")


def shoot_import_summary(page: Page, base_url: str, path: Path, folder: Path) -> None:
    """The dry run's summary, which only an upload leads to (the file is not imported)."""
    upload = folder / "new-readers.csv"
    with upload.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name"])
        # Mostly new readers, and a few the list has already.
        for number in range(400):
            email = address(number) if number % 20 == 0 else f"new{number}@millbrook-mail.example"
            writer.writerow([email, FIRST[number % len(FIRST)], LAST[number % len(LAST)]])
        writer.writerow(["mei.nakamura@@millbrook-mail", "Mei", "Nakamura"])
    page.goto(f"{base_url}/admin/lists/events/import")
    page.set_input_files("#import-file", upload)
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("heading", name="Dry run: what the import would do").wait_for()
    save(page, path)


def save(page: Page, path: Path) -> None:
    """The whole page, down to ``TALLEST`` pixels."""
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), TALLEST)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=path, full_page=True, clip=clip)
    print(path)


if __name__ == "__main__":
    main()
