"""The admin served for a real browser: one Chromium and one app for each module (a
SQLite project with the three accounts of tests/support/admin.py, the list 'readers',
campaign 1 sent to it and campaign 2 a draft for it), and a fresh page for each test,
signed in as the role asked.

Each role signs in through the form once a module; its tests start from the cookies
that sign-in left (Playwright's storage state), so a test costs a page, not a sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mailer.campaigns import actions
from mailer.delivery.memory import MemoryBackend
from mailer.settings import load_settings
from mailer.storage import Role, open_database
from mailer.web.app import create_app
from tests.support.admin import ADMIN, EDITOR, VIEWER, add_account
from tests.support.browser import CHROMIUM, NO_CHROMIUM, STEP_MS, launch, served, sign_in
from tests.support.clock import Clock
from tests.support.config import append_config, write_config
from tests.support.examples import ARTICLE, DONATE
from tests.support.web import send_to_readers

EMAILS = {Role.ADMIN: ADMIN, Role.EDITOR: EDITOR, Role.VIEWER: VIEWER}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium (every test here asks for it, so each skips without it). One a
    module, not a session: Playwright's sync API runs an event loop of its own while it
    is open, and the async tests of other modules could not start theirs beside it."""
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    # What ``expect`` waits for, as long as any other step may (its own default is 5 s).
    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin on 127.0.0.1 (plain http: cookies are not Secure there), on the real
    clock: sessions must not expire while a slow machine runs the tests."""
    folder = tmp_path_factory.mktemp("admin-site")
    database_url = f"sqlite:///{folder / 'mailer.db'}"
    database = open_database(database_url)
    # The sent campaign is stamped by the test clock; the accounts by the real one.
    clock = Clock()
    outbox: list[EmailMessage] = []

    def make_app(url: str) -> FastAPI:
        path = write_config(folder, database_url, base_url=f'"{url}"')
        settings = load_settings(append_config(path, DONATE))
        for role, email in EMAILS.items():
            add_account(database, email, role, clock())
        send_to_readers(database, settings, clock)
        with database.session() as session:
            actions.create(
                session, settings, article=str(ARTICLE), lists=["readers"], now=clock.now
            )
        return create_app(settings, database, backend=lambda s: MemoryBackend(outbox, {}))

    try:
        with served(make_app) as url:
            yield url
    finally:
        database.close()


@pytest.fixture(scope="module")
def signed_in_states(
    browser: Browser, base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Role], Path]:
    """Each role's cookies after signing in through the form, made on first use."""
    folder = tmp_path_factory.mktemp("states")
    states: dict[Role, Path] = {}

    def state(role: Role) -> Path:
        if role not in states:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            sign_in(page, base_url, EMAILS[role])
            states[role] = folder / f"{role.value}.json"
            context.storage_state(path=states[role])
            context.close()
        return states[role]

    return state


@pytest.fixture
def open_page(
    browser: Browser, signed_in_states: Callable[[Role], Path]
) -> Iterator[Callable[..., Page]]:
    """``open_page(role)``: a new page, signed in as ``role`` (None: not signed in).
    ``open_page(role, axe=True)``: one whose context bypasses the admin's CSP, so that
    axe-core can be put into it; the others keep the policy, as a real visit does."""
    contexts = []

    def page_as(role: Role | None = None, *, axe: bool = False) -> Page:
        state = signed_in_states(role) if role is not None else None
        context = browser.new_context(bypass_csp=axe, storage_state=state)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(STEP_MS)
        return page

    yield page_as
    for context in contexts:
        context.close()
