"""The admin from the keyboard alone, under its own content security policy: sign in,
every section of the navigation reached with Tab and Enter, the focused control always
outlined, the skip link, and signing out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import Page

from mailer.web.admin.nav import NAV
from mailer.web.admin.routes import PREFIX, ROUTERS
from tests.support.admin import ADMIN, PASSWORD

pytestmark = pytest.mark.slow

#: More Tabs than any page needs from its top to the last section of the navigation.
MOST_TABS = 40
#: What the focused element is: enough to find it and see its outline.
FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return {tag: e.tagName, id: e.id, text: e.innerText.trim(), href: e.getAttribute('href'),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth), left: box.left,
          in_main: e.closest('main') !== null};
}"""


def focused(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(FOCUSED)
    return info


def assert_outlined(element: dict[str, Any]) -> None:
    assert element["outline"] != "none" and element["width"] >= 2, f"no visible focus: {element}"


def tab_to(page: Page, label: str) -> dict[str, Any]:
    """Tabs forward until the link ``label`` has the focus."""
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        element = focused(page)
        if element["tag"] == "A" and element["text"] == label:
            return element
    raise AssertionError(f"{MOST_TABS} Tabs did not reach {label!r} on {page.url}")


def routed() -> set[str]:
    """The admin's pages that exist: a section joins the walk once its routes do."""
    return {
        PREFIX + route.path
        for section in ROUTERS
        for route in section.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    }


def test_sign_in_every_section_the_skip_link_and_sign_out(
    base_url: str, open_page: Callable[..., Page]
) -> None:
    page = open_page(None)
    page.goto(f"{base_url}/admin/login")
    # The address field has the focus when the page opens.
    assert focused(page)["id"] == "email"
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/admin")

    paths = routed()
    assert {"/admin", "/admin/users"} <= paths
    for item in NAV:
        link = tab_to(page, item.label)
        assert_outlined(link)
        if item.href not in paths:
            continue  # a section still to come: its link is reached, not followed
        with page.expect_navigation() as navigation:
            page.keyboard.press("Enter")
        answer = navigation.value
        assert answer is not None and answer.ok, f"{item.href}: {answer and answer.status}"
        assert page.url == base_url + item.href
        assert page.locator("[aria-current=page]").inner_text() == item.label

    # A page just opened: the first Tab shows the skip link, which leads past the header.
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "Skip to content" and skip["left"] >= 0, skip
    assert_outlined(skip)
    page.keyboard.press("Enter")
    # The jump to the fragment is a navigation of its own, which may land after the key.
    page.wait_for_url(re.compile(r"#main$"))
    assert focused(page)["tag"] == "MAIN"
    page.keyboard.press("Tab")
    assert focused(page)["in_main"], "the Tab after the skip link left the main part"

    page.keyboard.press("Shift+Tab")  # back to the top: the header's last control
    assert focused(page)["text"] == "Sign out"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base_url}/admin/login"
    assert page.locator("[role=status]").inner_text() == "You are signed out."
