"""An error quotes at most a few dozen characters of the input it names."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from mailer.addresses import normalize_address
from mailer.campaigns.when import parse_when
from mailer.exceptions import MailerError
from mailer.rendering.expressions import ExpressionSet
from mailer.subscribers.segments import parse_segment
from mailer.timezones import zone

HUGE = "x" * 200_000


@pytest.mark.parametrize(
    "fail",
    [
        lambda: normalize_address(HUGE + "@example.org"),
        lambda: normalize_address(HUGE),
        lambda: parse_segment("tag:a and " + HUGE[:1900] + " ?"),
        lambda: parse_when(HUGE, ZoneInfo("UTC")),
        lambda: zone(HUGE),
        lambda: ExpressionSet().in_text("{{ " + HUGE, "subject"),
        lambda: ExpressionSet().add(HUGE + " +", "subject"),
    ],
)
def test_errors_quote_input_in_part(fail: Callable[[], object]) -> None:
    with pytest.raises(MailerError) as caught:
        fail()
    message = str(caught.value)
    assert len(message) < 300, message[:400]
    assert "\n" not in message
