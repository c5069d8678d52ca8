"""A subject tried on one reader, and the dark-mode copy of an email for its preview."""

from __future__ import annotations

from mailer.rendering.preview import dark_mode
from mailer.rendering.subject import SubjectTry, try_subject

ADA = {"email": "ada@example.org", "name": "Ada Lovelace", "attributes": {"city": "Bonn"}}


def test_a_subject_is_filled_as_a_message_subject_is() -> None:
    assert try_subject("Hi {{ subscriber.first_name }} in {{ subscriber.attr.city }}", ADA) == (
        SubjectTry(text="Hi Ada in Bonn")
    )
    assert try_subject('Hi {{ subscriber.first_name or "friend" }}', {"email": "x@y"}).text == (
        "Hi friend"
    )


def test_a_problem_names_where_it_is() -> None:
    stray = try_subject("News }} today", ADA)
    assert "without its other half" in stray.problem and stray.column == 6
    broken = try_subject("News {{ subscriber.name ( }}", ADA)
    assert broken.problem and broken.column == 6
    failing = try_subject("A {{ 1 // 0 }}", ADA)
    assert "ZeroDivisionError" in failing.problem and failing.column == 3


def test_dark_mode_puts_the_dark_rules_in_force() -> None:
    html = (
        "<html><head><style>@media (prefers-color-scheme: dark) { .x { color: #fff } }"
        "</style></head><body class='b'>x</body></html>"
    )
    dark = dark_mode(html)
    assert "@media all { .x" in dark and "prefers-color-scheme" not in dark
    assert "<body data-ogsc class='b'>" in dark
