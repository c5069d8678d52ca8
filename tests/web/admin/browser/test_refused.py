"""A viewer's attempt to send, in the browser: the draft's page offers a viewer no way to
send or schedule it (an admin's shows both), and a form forged in the viewer's page,
with the viewer's own token, is answered by the 403 page that names the role it needs.
The HTTP-level checks of every role are in tests/web/admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from mailer.storage import Role

pytestmark = pytest.mark.slow

#: Campaign 2 of the browser tests' site: a draft for 'readers' (conftest.py).
DRAFT = "/admin/campaigns/2"
#: A form as someone would forge it in the browser's console: the page's own CSRF
#: token (the sign-out form has it) posted to the draft's "Send now".
FORGED = """([action, token]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  const csrf = document.createElement('input');
  csrf.type = 'hidden';
  csrf.name = 'csrf';
  csrf.value = token;
  form.append(csrf);
  document.body.append(form);
  form.submit();
}"""


def test_a_viewer_cannot_send_a_draft(base_url: str, open_page: Callable[..., Page]) -> None:
    admin = open_page(Role.ADMIN)
    admin.goto(base_url + DRAFT)
    expect(admin.get_by_role("button", name="Send now")).to_be_visible()
    expect(admin.get_by_role("button", name="Schedule", exact=True)).to_be_visible()

    viewer = open_page(Role.VIEWER)
    viewer.goto(base_url + DRAFT)
    expect(viewer.locator(".facts .status")).to_have_text("draft")
    expect(viewer.get_by_role("button", name="Send now")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Schedule", exact=True)).to_have_count(0)
    expect(viewer.get_by_role("heading", name="Actions")).to_have_count(0)

    token = viewer.locator("input[name=csrf]").first.get_attribute("value")
    assert token, "the viewer's page has no CSRF token to forge with"
    with viewer.expect_navigation() as navigation:
        viewer.evaluate(FORGED, [f"{DRAFT}/send", token])
    answer = navigation.value
    assert answer is not None and answer.status == 403
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(viewer.get_by_role("alert")).to_contain_text("Sending a campaign needs an admin's role")

    # Nothing was sent: the draft is as it was.
    viewer.goto(base_url + DRAFT)
    expect(viewer.locator(".facts .status")).to_have_text("draft")
