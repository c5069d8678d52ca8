"""SpamAssassin's local rules score a campaign message at 0 or below, with no rule adding points.

A newsletter that a stock SpamAssassin flags loses readers at every server that runs it.
Only the local tests run (``-L``: no network, no DNS blocklists), so the score depends on
the message alone. Skips, saying why, where Debian's ``spamassassin`` is not installed
(``.ci/run`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailer.settings import Settings
from tests.support.cli import Cli
from tests.support.examples import ARTICLE

SPAMASSASSIN = shutil.which("spamassassin")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SPAMASSASSIN is None,
        reason="needs SpamAssassin (Debian's spamassassin package; .ci/run installs it)",
    ),
]


def _score(message: Path) -> tuple[float, str]:
    assert SPAMASSASSIN is not None
    report = subprocess.run(
        [SPAMASSASSIN, "-L", "-t"],
        input=message.read_bytes(),
        capture_output=True,
        check=False,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    found = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.MULTILINE)
    assert found is not None, report
    return float(found.group(1)), report[report.find("Content analysis details") :]


def test_a_campaign_message_scores_zero_or_below(cli: Cli, settings: Settings) -> None:
    cli("lists", "create", "weekly")
    cli("subscribers", "add", "ann@example.org", "--list", "weekly", "--name", "Ann Smith")
    cli("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    cli("campaigns", "send", "1")
    [message] = sorted(settings.outbox_dir.glob("*.eml"))
    score, details = _score(message)
    assert score <= 0, details
    # A list manager's headers earn a bonus that can hide a fault: no rule may add points.
    hits = re.findall(r"^\s*(\d+\.\d+) ([A-Z0-9_]+)", details, re.MULTILINE)
    assert [rule for points, rule in hits if float(points) > 0] == [], details
