"""Accounts, sign-ins, limits and the audit log, on the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailer.accounts.audit import audit, recent_entries
from mailer.accounts.limits import LoginLimit
from mailer.accounts.sessions import Lifetime, find_session, start_session
from mailer.accounts.sign_in import WRONG, check_sign_in
from mailer.accounts.users import add_user, get_user, parse_role, remove_user, set_role
from mailer.exceptions import AlreadyExists, InputError, NotFound, SignInRefused, StateError
from mailer.storage import Database, Role

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LIFE = Lifetime(idle=timedelta(hours=1), absolute=timedelta(hours=12))
LIMIT = LoginLimit(per_account=3, per_address=9)


def test_roles_go_up_from_viewer_to_admin() -> None:
    assert Role.ADMIN.allows(Role.EDITOR) and Role.EDITOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.EDITOR) and not Role.EDITOR.allows(Role.ADMIN)
    assert parse_role(" Admin ") is Role.ADMIN
    with pytest.raises(InputError, match="one of viewer, editor, admin"):
        parse_role("owner")


def test_an_address_is_one_account_whatever_its_case(db: Database) -> None:
    with db.session() as session:
        add_user(session, "Ana@Example.org", Role.ADMIN, "correct horse battery", now=NOW)
        with pytest.raises(AlreadyExists):
            add_user(session, "ana@example.ORG", Role.EDITOR, "correct horse battery", now=NOW)
        assert get_user(session, "ANA@example.org").email == "Ana@example.org"
        with pytest.raises(NotFound, match="mailer users ls"):
            get_user(session, "nobody@example.org")


def test_the_last_admin_can_be_neither_removed_nor_demoted(db: Database) -> None:
    with db.session() as session:
        add_user(session, "ana@example.org", Role.ADMIN, "correct horse battery", now=NOW)
        add_user(session, "eli@example.org", Role.EDITOR, "correct horse battery", now=NOW)
        with pytest.raises(StateError, match="last admin"):
            remove_user(session, "ana@example.org")
        with pytest.raises(StateError, match="last admin"):
            set_role(session, "ana@example.org", Role.VIEWER)
        set_role(session, "eli@example.org", Role.ADMIN)
        remove_user(session, "ana@example.org")


def test_a_sign_in_checks_the_password_and_counts_failures(db: Database) -> None:
    with db.session() as session:
        add_user(session, "ana@example.org", Role.ADMIN, "correct horse battery", now=NOW)
    for _ in range(3):
        with db.session() as session, pytest.raises(SignInRefused, match=WRONG):
            check_sign_in(
                session, "ana@example.org", "wrong", address="10.0.0.1", limit=LIMIT, now=NOW
            )
    with db.session() as session, pytest.raises(SignInRefused, match="Too many") as refused:
        check_sign_in(
            session,
            "ana@example.org",
            "correct horse battery",
            address="10.0.0.2",
            limit=LIMIT,
            now=NOW,
        )
    assert refused.value.retry_after == 15 * 60 + 1
    later = NOW + timedelta(minutes=15, seconds=1)
    with db.session() as session:
        user = check_sign_in(
            session,
            "ana@example.org",
            "correct horse battery",
            address="10.0.0.2",
            limit=LIMIT,
            now=later,
        )
        assert user.email == "ana@example.org"


def test_a_sign_in_ends_idle_or_old_and_is_found_by_its_token_only(db: Database) -> None:
    with db.session() as session:
        user = add_user(session, "ana@example.org", Role.ADMIN, "correct horse battery", now=NOW)
        token = start_session(session, user, now=NOW, lifetime=LIFE)
    with db.session() as session:
        assert find_session(session, token, now=NOW + timedelta(minutes=59), lifetime=LIFE)
        assert find_session(session, token + "x", now=NOW, lifetime=LIFE) is None
        assert find_session(session, "", now=NOW, lifetime=LIFE) is None
    with db.session() as session:
        assert (
            find_session(session, token, now=NOW + timedelta(minutes=59 + 61), lifetime=LIFE)
            is None
        )
    with db.session() as session:
        assert find_session(session, token, now=NOW, lifetime=LIFE) is None, "an ended one is gone"


def test_audit_entries_page_back_newest_first(db: Database) -> None:
    with db.session() as session:
        for number in range(5):
            audit(session, "ana@example.org", "list.edit", f"list l{number}", now=NOW, title="T")
        audit(session, "cli", "user.add", "user eli@example.org", now=NOW)
    with db.session() as session:
        newest = recent_entries(session, limit=3)
        assert [e.target for e in newest] == ["user eli@example.org", "list l4", "list l3"]
        older = recent_entries(session, before=newest[-1].id, limit=3)
        assert [e.target for e in older] == ["list l2", "list l1", "list l0"]
        assert [e.actor for e in recent_entries(session, actor="cli")] == ["cli"]
        assert newest[1].detail == {"title": "T"}
