"""The admin's whole way in chromium, as a person walks it: sign in, create a list,
import a CSV file through the upload form (its dry run first, then the import with its
progress), compose a campaign from pasted text, edit it, preview it, send a test, schedule it,
watch it send, read its report and the audit log.

The walk has a site of its own, on a clock the test moves: the campaign is scheduled
five minutes ahead by that clock, the clock moves on, and the scheduler's daemon sends
what is due, in-process, as ``mailer run`` does; no step waits for real time."""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from mailer.delivery.memory import MemoryBackend
from mailer.delivery.message import Recipient, RecipientResult
from mailer.scheduling.daemon import Daemon
from mailer.settings import Settings, load_settings
from mailer.storage import Database, Role, open_database
from mailer.web.app import create_app
from tests.support.admin import ADMIN, add_account
from tests.support.browser import STEP_MS, served, sign_in
from tests.support.clock import Clock, InlineExecutor
from tests.support.config import append_config, write_config
from tests.support.examples import DONATE

pytestmark = pytest.mark.slow

#: The readers the CSV file brings, and its one bad row.
READERS = 30
BAD_ADDRESS = "not-an-address"
ARTICLE = """\
The ferry is back on the river

After eight months in the yard, the old ferry crossed the river again on Saturday
morning with forty passengers and two dogs aboard.

The town council paid for new engines; the ferry keepers' association paid for the
paint. Read the whole story at https://news.example.org/ferry-is-back and tell us what
you think.
"""
SUBJECT = "The ferry is back"
STORY = "https://news.example.org/ferry-is-back"
#: The recipients the sender takes at a time: the send is seen after its first batch.
BATCH = 10


@dataclass
class Site:
    """The walk's admin, served: its database, clock and the mail it sent."""

    url: str
    settings: Settings
    database: Database
    clock: Clock
    app: FastAPI
    outbox: list[EmailMessage] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("walk")
    database_url = f"sqlite:///{folder / 'mailer.db'}"
    database = open_database(database_url)
    clock = Clock()
    outbox: list[EmailMessage] = []
    made: list[tuple[Settings, FastAPI]] = []

    def make_app(url: str) -> FastAPI:
        path = write_config(folder, database_url, base_url=f'"{url}"', send_batch_size=str(BATCH))
        settings = load_settings(append_config(path, DONATE))
        add_account(database, ADMIN, Role.ADMIN, clock())
        backend = lambda s: MemoryBackend(outbox, {})  # noqa: E731
        made.append((settings, create_app(settings, database, clock=clock, backend=backend)))
        return made[0][1]

    try:
        with served(make_app) as url:
            yield Site(url, made[0][0], database, clock, made[0][1], outbox)
    finally:
        database.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    yield page
    context.close()


def write_readers(path: Path) -> Path:
    """A CSV file as a spreadsheet exports it: ``READERS`` readers, and one row whose
    address is no address."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "tags"])
        for number in range(READERS):
            if number == READERS // 2:
                writer.writerow([BAD_ADDRESS, "Nobody", ""])
            writer.writerow([f"walker{number}@example.org", f"Walker {number}", "walk"])
    return path


def create_list(page: Page, site: Site) -> None:
    page.get_by_role("link", name="Lists", exact=True).click()
    page.fill("#list-name", "walkers")
    page.fill("#list-title", "The Walkers' Weekly")
    page.get_by_role("button", name="Create list").click()
    expect(page).to_have_url(f"{site.url}/admin/lists/walkers")
    expect(page.get_by_role("status")).to_have_text("Created the list walkers.")


def import_readers(page: Page, site: Site, csv_file: Path) -> None:
    """Upload, read the dry run's summary, import, watch the progress to its end."""
    page.get_by_role("link", name="Import a CSV file").click()
    page.set_input_files("#import-file", csv_file)
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name="Dry run: what the import would do")).to_be_visible()
    figures = page.locator("dl.figures")
    expect(figures.locator("div", has_text="New")).to_contain_text(str(READERS))
    expect(figures.locator("div", has_text="Rejected")).to_contain_text("1")
    expect(page.locator("table")).to_contain_text(BAD_ADDRESS)
    page.get_by_role("button", name="Import", exact=True).click()
    # The page follows the import's progress stream and reloads when it ends; a small
    # file may be imported before the first look.
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.locator("dl.figures div", has_text="New")).to_contain_text(str(READERS))
    expect(page.get_by_role("link", name="Download the rejected rows")).to_be_visible()
    page.get_by_role("link", name="Back to the list").click()
    # Single opt-in: every reader is confirmed at once.
    expect(page.locator("dl.figures div", has_text="Confirmed").first).to_contain_text(str(READERS))


def compose(page: Page, site: Site) -> int:
    """From pasted text to a draft: the subject checked on a reader, the recipients
    counted; the draft's preview opens. Returns the campaign's id."""
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    expect(page).to_have_url(f"{site.url}/admin/campaigns/new")
    page.get_by_label("Paste text or HTML", exact=True).check()
    page.fill("#text", ARTICLE)
    page.select_option("#format", "text")
    page.fill("#subject", SUBJECT + ', {{ subscriber.first_name or "friend" }}')
    page.get_by_role("button", name="Check the subject").click()
    expect(page.locator("#subject-result")).to_contain_text(SUBJECT + ", ")
    # The page came back with the text kept; the count follows the ticked list.
    expect(page.locator("#text")).to_have_value(ARTICLE)
    page.get_by_label("The Walkers' Weekly").check()
    expect(page.locator("#count")).to_have_text(f"{READERS} recipients")
    page.get_by_role("button", name="Save draft and preview").click()
    expect(page.get_by_role("status").first).to_contain_text("is saved as a draft")
    campaign_id = int(page.url.split("/campaigns/")[1].split("/")[0])
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}/preview")
    return campaign_id


def edit_the_draft(page: Page, site: Site, campaign_id: int) -> None:
    """The draft comes back in the composer's form as it was composed; saving it
    renders it again."""
    page.goto(f"{site.url}/admin/campaigns/{campaign_id}")
    page.get_by_role("link", name="Edit the draft").click()
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}/edit")
    expect(page.locator("#text")).to_have_value(ARTICLE)
    expect(page.get_by_label("The Walkers' Weekly")).to_be_checked()
    page.get_by_role("button", name="Save changes and preview").click()
    expect(page.get_by_role("status").first).to_contain_text("is changed and rendered again")
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}/preview")


def preview_and_test(page: Page, site: Site, campaign_id: int) -> None:
    """Every frame of the preview shows the article; a test goes to the admin."""
    frames = page.locator("iframe")
    expect(frames).to_have_count(3)
    for number in range(3):
        email = page.frame_locator("iframe").nth(number)
        story = email.get_by_role("paragraph").filter(has_text="After eight months in the yard")
        expect(story).to_be_visible()
    expect(page.locator("#addresses")).to_have_value(ADMIN)
    button = page.get_by_role("button", name="Send the test")
    # Scrolled to first: a click that scrolls the page past the preview's frames can
    # land before Chromium knows where the frames went, and reach no element.
    button.scroll_into_view_if_needed()
    button.click()
    expect(page.get_by_role("status").first).to_contain_text(f"{ADMIN}: sent")
    (test,) = site.outbox
    assert test["To"] == ADMIN
    assert test["Subject"].startswith(f"[TEST] {SUBJECT}")


class HeldBackend(MemoryBackend):
    """The memory backend, held before the message after the first ``held_after``
    until the test lets it go: the live page is seen while the campaign sends."""

    def __init__(self, messages: list[EmailMessage], held_after: int):
        super().__init__(messages, {})
        self.held_after = held_after
        self.delivered = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    def deliver(self, recipient: Recipient, message: bytes, message_id: str) -> RecipientResult:
        if self.delivered == self.held_after:
            self.reached.set()
            assert self.release.wait(STEP_MS / 1000), "the test did not let the send go on"
        self.delivered += 1
        return super().deliver(recipient, message, message_id)


def run_the_scheduler(site: Site, backend: HeldBackend) -> threading.Thread:
    """``mailer run``'s daemon, in a thread: it starts, sends what is due by the site's
    clock (at once, in that thread) and stops."""

    def run() -> None:
        daemon = Daemon(
            site.settings,
            site.database,
            clock=site.clock,
            backend_factory=lambda s: backend,
            executor=InlineExecutor(),
            reconcile_seconds=3600,
        )
        daemon.start()
        daemon.stop()

    thread = threading.Thread(target=run, name="walk-scheduler", daemon=True)
    thread.start()
    return thread


def schedule(page: Page, site: Site, campaign_id: int) -> None:
    """Five minutes from now by the site's clock, in the site's timezone."""
    page.get_by_role("link", name=f"Campaign {campaign_id}", exact=True).click()
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}")
    at = (site.clock() + timedelta(minutes=5)).astimezone(site.settings.zone)
    page.get_by_label("At this date and time in the timezone below").check()
    page.fill("#date", at.strftime("%Y-%m-%d"))
    page.fill("#time", at.strftime("%H:%M"))
    expect(page.locator("#tz")).to_have_value(site.settings.timezone)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Campaign {campaign_id} is scheduled for {at:%Y-%m-%d %H:%M}"
    )
    expect(page.locator(".facts .status")).to_have_text("scheduled")


def watch_it_send(page: Page, site: Site, campaign_id: int) -> None:
    """The clock reaches the campaign's time; the scheduler sends it, held after its
    first batch while the live page shows it sending; then let go, to the end."""
    site.clock.sleep(5 * 60)
    sent_before = len(site.outbox)
    backend = HeldBackend(site.outbox, held_after=BATCH)
    scheduler = run_the_scheduler(site, backend)
    assert backend.reached.wait(STEP_MS / 1000), "the scheduler did not send the campaign"
    page.reload()
    expect(page.locator(".facts .status")).to_have_text("sending")
    page.get_by_role("link", name="Watch it send").click()
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}/sending")
    live = page.locator("[data-live]")
    expect(live.locator("[data-field=status]")).to_have_text("sending")
    expect(live.locator("label[for=handled]")).to_have_text(f"Handled {BATCH} of {READERS}")
    backend.release.set()
    # The stream's last event says it is done; the page reloads with the outcome.
    expect(page.locator("span.status")).to_have_text("sent")
    expect(page.locator("label[for=handled]")).to_have_text(f"Handled {READERS} of {READERS}")
    expect(page.locator("[data-live]")).to_have_count(0)
    scheduler.join(STEP_MS / 1000)
    assert not scheduler.is_alive()
    sent = site.outbox[sent_before:]
    assert sorted(m["To"].addresses[0].addr_spec for m in sent) == sorted(
        f"walker{n}@example.org" for n in range(READERS)
    )


def click_the_story(page: Page, site: Site) -> None:
    """What a reader does: the story's tracked link in their email, followed (to the
    redirect only: the story itself is on no network here)."""
    html = site.outbox[-1].get_body(("html",))
    assert html is not None
    tracked = re.findall(rf'href="({re.escape(site.url)}/c/[^"]+)"', html.get_content())
    for url in tracked:
        answer = page.request.get(url, max_redirects=0)
        if answer.headers.get("location", "").startswith(STORY):
            # A click is answered before it is stored (the hit writer stores it within
            # a batch interval): the report is read once it is in.
            assert site.app.state.web.hits.flush(STEP_MS / 1000)
            return
    raise AssertionError(f"no tracked link leads to {STORY}: {tracked}")


def read_the_report(page: Page, site: Site, campaign_id: int) -> None:
    """The report counts the messages, and the click by its link."""
    page.get_by_role("link", name="Report").click()
    expect(page).to_have_url(f"{site.url}/admin/campaigns/{campaign_id}/report")
    figures = page.locator("dl.figures")
    expect(figures.locator("div", has_text="Sent")).to_contain_text(str(READERS))
    expect(figures.locator("div", has_text="Clicked")).to_contain_text("1")
    links = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Link"))
    story = links.get_by_role("row").filter(has=page.get_by_role("rowheader", name=STORY))
    expect(story.get_by_role("cell")).to_have_text(["1", "1"])


def read_the_audit_log(page: Page) -> None:
    """Each change the walk made, once."""
    page.get_by_role("link", name="Audit log", exact=True).click()
    actions = page.get_by_role("region", name="Audit log entries").locator("code")
    done = (
        "list.create",
        "list.import_start",
        "campaign.create",
        "campaign.edit",
        "campaign.test",
        "campaign.schedule",
    )
    for action in done:
        expect(actions.filter(has_text=action)).to_have_count(1)


def test_the_admins_walk(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, site.url, ADMIN)
    create_list(page, site)
    import_readers(page, site, write_readers(tmp_path / "readers.csv"))
    campaign_id = compose(page, site)
    edit_the_draft(page, site, campaign_id)
    preview_and_test(page, site, campaign_id)
    schedule(page, site, campaign_id)
    watch_it_send(page, site, campaign_id)
    click_the_story(page, site)
    read_the_report(page, site, campaign_id)
    read_the_audit_log(page)
