"""The test project's settings: a mailer.toml like ``mailer init`` writes, settings
built in code, and the values the tests share (the secret key, a real-mail sender)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailer.settings import Settings
from mailer.settings.template import CONFIG_TEMPLATE

#: The test project's secret key (tokens and form MACs are signed with it).
SECRET = "test-secret-key-0123456789abcdef"
#: A sender for tests of real-mail backends (smtp, sendgrid), which refuse one at
#: example.org; a made-up domain, never looked up or mailed.
SENDER = "newsletter@example-times.org"


def write_config(folder: Path, database_url: str, **extra: str) -> Path:
    """A mailer.toml like ``mailer init`` writes, on the given database."""
    text_ = CONFIG_TEMPLATE.format(
        base_url="https://news.example.org",
        secret_key=SECRET,
        publisher_name="The Example Times",
        from_address="newsletter@example.org",
        postal_address="1 Example Street, Springfield",
        timezone="Europe/Berlin",
    )
    # Tests add the calls-to-action they need: the template's own (init's placeholder
    # donate box, its last table) is left out.
    text_ = text_.partition("\n[cta.donate]\n")[0]
    # Top-level keys go before any table; a key the template sets is replaced.
    lines = text_.splitlines()
    for key, value in {"database_url": f'"{database_url}"', **extra}.items():
        line = f"{key} = {value}"
        at = next((i for i, old in enumerate(lines) if old.startswith(f"{key} =")), None)
        if at is None:
            lines.insert(0, line)
        else:
            lines[at] = line
    text_ = "\n".join(lines) + "\n"
    path = folder / "mailer.toml"
    path.write_text(text_, encoding="utf-8")
    return path


def append_config(path: Path, text: str) -> Path:
    """``text`` (a table such as a call-to-action) added at the end of the file."""
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    """Settings built in code, without a file, based in ``tmp_path``."""
    return Settings(base_dir=tmp_path, secret_key=SECRET, **values)
