"""/admin/lists/{name}/import: upload, dry run, import in the background with its
progress streamed, the rejected rows to download; by role, and over the size limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import AuditEntry, Database
from mailer.storage.models import Subscriber, Subscription
from mailer.subscribers.lists import create_list, delete_list
from mailer.web.admin import imports
from mailer.web.app import create_app
from tests.support.admin import ADMIN, csrf, shown, sign_in
from tests.support.clock import Clock
from tests.support.web import BASE

pytestmark = pytest.mark.anyio

SAMPLE = Path(__file__).resolve().parents[3] / "subscribers" / "sample.csv"
IMPORT = "/admin/lists/weekly/import"


async def _upload(
    client: httpx.AsyncClient, content: bytes, name: str = "sample.csv", **fields: str
) -> httpx.Response:
    page = await client.get(IMPORT)
    assert page.status_code == 200, page.text
    return await client.post(
        IMPORT,
        data={"csrf": csrf(page.text), **fields},
        files={"file": (name, content, "text/csv")},
    )


def _events(stream: str) -> list[dict[str, object]]:
    return [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: ")]


def _members(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Subscription)) or 0


def _audited(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    with db.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(r.actor, r.action, dict(r.detail)) for r in rows if r.action.startswith("list.")]


async def test_upload_dry_run_import_progress_and_rejected_rows(
    db: Database, settings: Settings, lists: None, as_admin: httpx.AsyncClient
) -> None:
    uploaded = await _upload(as_admin, SAMPLE.read_bytes(), confirmed="1")
    assert uploaded.status_code == 303
    job_page = uploaded.headers["location"]
    job_id = job_page.rsplit("/", 1)[1]
    # The file is kept under the project's var folder, not in memory.
    assert (settings.base_dir / "var" / "imports" / job_id / "import.csv").is_file()

    dry = await as_admin.get(job_page)
    text = shown(dry.text)
    assert "Dry run: what the import would do" in text
    assert "Rows read 41 New 36 Updated 0 Unchanged 0 Duplicates 1" in text
    assert "Rejected 4" in text
    assert "The first rejected rows" in text
    assert _members(db) == 0, "a dry run stores nothing"
    assert (await as_admin.get(f"{job_page}/progress", params={"once": "1"})).text.count(
        "data: "
    ) == 1

    started = await as_admin.post(f"{job_page}/start", data={"csrf": csrf(dry.text)})
    assert started.status_code == 303
    # The stream ends when the import does: its last event says so.
    stream = await as_admin.get(f"{job_page}/progress")
    assert stream.headers["content-type"].startswith("text/event-stream")
    last = _events(stream.text)[-1]
    assert last["done"] is True and last["state"] == "done"
    assert (last["done_rows"], last["total_rows"], last["imported"]) == (41, 41, 36)
    assert _members(db) == 36

    done = shown((await as_admin.get(job_page)).text)
    assert "Imported" in done and "New 36" in done
    rejected = await as_admin.get(f"{job_page}/rejected.csv")
    assert rejected.status_code == 200
    assert rejected.headers["content-type"].startswith("text/csv")
    assert rejected.text.splitlines()[0].startswith("line,reason,Email Address")
    assert len(rejected.text.splitlines()) == 5
    assert not (settings.base_dir / "var" / "imports" / job_id / "import.csv").exists()

    actions = [(actor, action) for actor, action, _ in _audited(db)]
    assert actions == [(ADMIN, "list.import_start"), (ADMIN, "list.import")]
    assert _audited(db)[-1][2]["imported"] == 36

    discarded = await as_admin.post(f"{job_page}/discard", data={"csrf": csrf(dry.text)})
    assert discarded.status_code == 303
    assert not (settings.base_dir / "var" / "imports" / job_id).exists()
    assert (await as_admin.get(job_page)).status_code == 404
    assert _audited(db)[-1][:2] == (ADMIN, "list.import_discard")


async def test_importing_the_same_file_again_changes_nothing(
    db: Database, clock: Clock, lists: None, as_admin: httpx.AsyncClient
) -> None:
    for _ in range(2):
        clock.now += timedelta(minutes=5)
        job_page = (await _upload(as_admin, SAMPLE.read_bytes())).headers["location"]
        page = await as_admin.get(job_page)
        await as_admin.post(f"{job_page}/start", data={"csrf": csrf(page.text)})
        await as_admin.get(f"{job_page}/progress")
    text = shown((await as_admin.get(job_page)).text)
    assert "New 0 Updated 0 Unchanged 36 Duplicates 1" in text
    assert _members(db) == 36


async def test_a_file_the_importer_cannot_read_shows_the_form_again(
    db: Database, settings: Settings, lists: None, as_admin: httpx.AsyncClient
) -> None:
    answer = await _upload(as_admin, b"name,city\nAna,Lagos\n", name="people.csv")
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "email" in shown(answer.text).lower()
    folder = settings.base_dir / "var" / "imports"
    assert not folder.exists() or not any(folder.iterdir()), "the refused upload is removed"
    missing = await as_admin.post(IMPORT, data={"csrf": csrf(answer.text)})
    assert missing.status_code == 422
    assert "Choose a CSV file" in shown(missing.text)


async def test_an_editor_and_a_viewer_may_not_import(
    lists: None, as_editor: httpx.AsyncClient, as_viewer: httpx.AsyncClient
) -> None:
    for client in (as_editor, as_viewer):
        page = await client.get(IMPORT)
        assert page.status_code == 200
        assert 'type="file"' not in page.text
        assert "Importing needs an admin's role" in shown(page.text)
        answer = await _upload(client, SAMPLE.read_bytes())
        assert answer.status_code == 403
        assert "Importing subscribers needs an admin's role" in shown(answer.text)


async def _admin_of_new_app(
    settings: Settings, db: Database, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin signed in to an app of its own (a server started again, other settings)."""
    outbox: list[EmailMessage] = []
    app: FastAPI = create_app(
        settings, db, clock=clock, backend=lambda s: MemoryBackend(outbox, {})
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        assert (await sign_in(client, ADMIN)).status_code == 303
        yield client


@pytest.fixture
async def small_limit(
    settings: Settings, db: Database, clock: Clock, accounts: None
) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"max_import_bytes": 2048})
    async for client in _admin_of_new_app(limited, db, clock):
        yield client


@pytest.fixture
async def restarted(
    settings: Settings, db: Database, clock: Clock, accounts: None
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _admin_of_new_app(settings, db, clock):
        yield client


async def test_an_import_that_stopped_is_completed_by_importing_again(
    db: Database, lists: None, as_admin: httpx.AsyncClient
) -> None:
    job_page = (await _upload(as_admin, SAMPLE.read_bytes())).headers["location"]
    page = await as_admin.get(job_page)
    # The list goes between the dry run and the import: the import stops.
    with db.session() as session:
        delete_list(session, "weekly")
    await as_admin.post(f"{job_page}/start", data={"csrf": csrf(page.text)})
    last = _events((await as_admin.get(f"{job_page}/progress")).text)[-1]
    assert (last["state"], last["done"]) == ("failed", True)
    stopped = shown((await as_admin.get(job_page)).text)
    assert "The import stopped" in stopped and "no list 'weekly'" in stopped.lower()
    assert "Import again" in stopped
    with db.session() as session:
        create_list(session, "weekly", title="The Weekly")
    again = await as_admin.post(f"{job_page}/start", data={"csrf": csrf(page.text)})
    assert again.status_code == 303
    last = _events((await as_admin.get(f"{job_page}/progress")).text)[-1]
    assert (last["state"], last["imported"]) == ("done", 36)
    assert [action for _, action, _ in _audited(db)] == [
        "list.import_start",
        "list.import_failed",
        "list.import_start",
        "list.import",
    ]


async def test_an_uploaded_file_outlives_a_restart_and_goes_after_a_week(
    settings: Settings,
    clock: Clock,
    lists: None,
    as_admin: httpx.AsyncClient,
    restarted: httpx.AsyncClient,
) -> None:
    job_page = (await _upload(as_admin, SAMPLE.read_bytes())).headers["location"]
    # Another app (the server started again) finds the job on disk, dry run and all.
    page = await restarted.get(job_page)
    assert page.status_code == 200
    assert "Rows read 41 New 36" in shown(page.text)
    clock.now += timedelta(days=8)
    assert (await sign_in(as_admin, ADMIN)).status_code == 303  # the sign-in ended too
    await _upload(as_admin, SAMPLE.read_bytes())
    assert (await as_admin.get(job_page)).status_code == 404
    assert len(list((settings.base_dir / "var" / "imports").iterdir())) == 1


async def test_a_file_over_the_limit_gets_a_413_page(
    settings: Settings, lists: None, small_limit: httpx.AsyncClient
) -> None:
    # Just over: the route measures the file itself.
    answer = await _upload(small_limit, b"email\n" + b"a@example.org\n" * 200)
    assert answer.status_code == 413
    assert "The file is too large" in shown(answer.text)
    assert "2,048 bytes" in answer.text
    # Far over: refused before the body is read, still as a page for a browser.
    page = await small_limit.get(IMPORT)
    far = await small_limit.post(
        IMPORT,
        data={"csrf": csrf(page.text)},
        files={"file": ("big.csv", b"x" * 200_000, "text/csv")},
        headers={"accept": "text/html"},
    )
    assert far.status_code == 413
    assert far.headers["content-type"].startswith("text/html")
    assert "max_import_bytes" in far.text
    folder = settings.base_dir / "var" / "imports"
    assert not folder.exists() or not any(folder.iterdir())


async def test_a_large_file_is_checked_in_the_background_with_its_progress(
    monkeypatch: pytest.MonkeyPatch, lists: None, as_admin: httpx.AsyncClient
) -> None:
    # The upload's answer does not wait for the dry run at all here, as for a file
    # too large to check while the browser waits.
    monkeypatch.setattr(imports, "CHECK_WAIT_SECONDS", 0.0)
    uploaded = await _upload(as_admin, SAMPLE.read_bytes())
    assert uploaded.status_code == 303
    job_page = uploaded.headers["location"]
    events = _events((await as_admin.get(f"{job_page}/progress")).text)
    assert (events[-1]["state"], events[-1]["done"]) == ("uploaded", True)
    assert all(e["state"] in ("checking", "uploaded") for e in events)
    assert "Rows read 41 New 36" in shown((await as_admin.get(job_page)).text)


async def test_a_file_saved_by_a_windows_spreadsheet_is_read_in_its_encoding(
    db: Database, lists: None, as_admin: httpx.AsyncClient
) -> None:
    content = "email,name\nchloe@example.org,Chloé Martin\n".encode("cp1252")
    job_page = (await _upload(as_admin, content, encoding="cp1252")).headers["location"]
    page = await as_admin.get(job_page)
    assert "New 1" in shown(page.text)
    await as_admin.post(f"{job_page}/start", data={"csrf": csrf(page.text)})
    await as_admin.get(f"{job_page}/progress")
    with db.session() as session:
        assert session.scalars(select(Subscriber.name)).all() == ["Chloé Martin"]
    unknown = await _upload(as_admin, content, encoding="rot13")
    assert unknown.status_code == 422
