"""Three accounts (admin, editor, viewer), each with a client of its own, signed in
through the form on the test app of tests/web/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mailer.storage import Database, Role
from tests.support.admin import ADMIN, EDITOR, VIEWER, add_account, sign_in
from tests.support.clock import Clock
from tests.support.database import sqlite_at_head
from tests.support.web import BASE


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only. The admin's pages call the functions that the CLI and the API call,
    whose own tests (tests/subscribers, tests/campaigns, tests/web, tests/accounts) run
    on PostgreSQL too; run again on it through every page, they doubled the suite's time
    and found nothing those did not."""
    return sqlite_at_head(sqlite_template, tmp_path / "var" / "mailer.db")


@pytest.fixture
def accounts(db: Database, clock: Clock) -> None:
    add_account(db, ADMIN, Role.ADMIN, clock())
    add_account(db, EDITOR, Role.EDITOR, clock())
    add_account(db, VIEWER, Role.VIEWER, clock())


async def _signed_in(app: FastAPI, email: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        answer = await sign_in(client, email)
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture
async def as_admin(app: FastAPI, accounts: None) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _signed_in(app, ADMIN):
        yield client


@pytest.fixture
async def as_editor(app: FastAPI, accounts: None) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _signed_in(app, EDITOR):
        yield client


@pytest.fixture
async def as_viewer(app: FastAPI, accounts: None) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _signed_in(app, VIEWER):
        yield client
