"""axe-core on each main page of the admin, as the role that sees the most of it, at a
desktop's width and a phone's: no serious or critical violation (colour contrast, labels,
landmarks, names of controls, regions a keyboard cannot scroll).

A new page joins the check with one line in ``PAGES``. The site has the three accounts,
the list 'readers', campaign 1 sent to it and campaign 2 a draft (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from playwright.sync_api import Page

from mailer.storage import Role
from tests.support.browser import AXE, FAILING, NO_AXE, axe_violations, describe

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AXE.is_file(), reason=NO_AXE),
]


WIDTHS = (1280, 375)


class Checked(NamedTuple):
    name: str
    path: str
    # None: not signed in.
    role: Role | None
    # At a phone's width too: the pages with tables, whose frames then scroll. What the
    # others could get wrong there (labels, names, contrast) does not change with it.
    phone: bool = False


PAGES = (
    Checked("sign-in", "/admin/login", None),
    Checked("dashboard", "/admin", Role.ADMIN, phone=True),
    Checked("accounts", "/admin/users", Role.ADMIN, phone=True),
    Checked("your account", "/admin/account", Role.EDITOR),
    Checked("audit log", "/admin/audit", Role.ADMIN, phone=True),
    Checked("refused", "/admin/users", Role.VIEWER),
    Checked("lists", "/admin/lists", Role.ADMIN, phone=True),
    Checked("list", "/admin/lists/readers", Role.ADMIN),
    Checked("import", "/admin/lists/readers/import", Role.ADMIN),
    Checked("subscribers", "/admin/subscribers?q=reader", Role.ADMIN, phone=True),
    Checked("subscriber", "/admin/subscribers/1", Role.ADMIN, phone=True),
    Checked("campaigns", "/admin/campaigns", Role.ADMIN, phone=True),
    Checked("draft campaign", "/admin/campaigns/2", Role.ADMIN),
    Checked("composer", "/admin/campaigns/new", Role.EDITOR),
    Checked("preview", "/admin/campaigns/2/preview", Role.EDITOR),
    Checked("sending", "/admin/campaigns/1/sending", Role.ADMIN),
    Checked("report", "/admin/campaigns/1/report", Role.ADMIN, phone=True),
    Checked("digests", "/admin/digests", Role.ADMIN, phone=True),
    Checked("settings", "/admin/settings", Role.ADMIN, phone=True),
)


def assert_no_serious_violations(page: Page, name: str, phone: bool = True) -> None:
    for width in WIDTHS if phone else WIDTHS[:1]:
        # A phone's width finds what a desktop's hides: a wide table's frame then scrolls.
        page.set_viewport_size({"width": width, "height": 800})
        violations = axe_violations(page)
        failing = [v for v in violations if v["impact"] in FAILING]
        assert not failing, f"{name} ({page.url}) at {width} px:\n{describe(failing)}"


@pytest.mark.parametrize("checked", PAGES, ids=[p.name for p in PAGES])
def test_no_serious_violations(
    checked: Checked, base_url: str, open_page: Callable[..., Page]
) -> None:
    page = open_page(checked.role, axe=True)
    answer = page.goto(base_url + checked.path)
    assert answer is not None
    assert page.url.startswith(base_url + checked.path), "redirected: not signed in?"
    assert_no_serious_violations(page, checked.name, checked.phone)


def test_the_import_summary(base_url: str, open_page: Callable[..., Page], tmp_path: Path) -> None:
    """The dry run's page, which only an upload leads to: its figures and the table of
    rejected rows."""
    upload = tmp_path / "people.csv"
    upload.write_text("email,name\nnew@example.org,New Reader\nnot-an-address,Nobody\n")
    page = open_page(Role.ADMIN, axe=True)
    page.goto(f"{base_url}/admin/lists/readers/import")
    page.set_input_files("#import-file", upload)
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("heading", name="Dry run: what the import would do").wait_for()
    assert_no_serious_violations(page, "import summary")
