"""The example project's files the tests send (examples/), and the donation
call-to-action the example article asks for."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARTICLE = EXAMPLES / "article.md"

DONATE = """
[cta.donate]
heading = "Independent news needs you"
text = "Our reporting is paid for by readers."
button_label = "Donate"
url = "https://give.example-times.org/donate"
amounts = [5, 10, 25]
"""
