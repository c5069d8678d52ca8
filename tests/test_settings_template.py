"""The commented mailer.toml that ``mailer init`` writes and the README's settings table
come from the fields of Settings and CtaSettings: the README holds the generated table,
the file loads back to what init was told, and every field is in both."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailer.cli import app
from mailer.settings import CtaSettings, Settings, load_settings
from mailer.settings.template import (
    CONFIG_TEMPLATE,
    DONATE_BOX,
    DONATE_NAME,
    INIT_KEYS,
    README_END,
    README_START,
    SECTIONS,
    config_file,
    readme_section,
    readme_table,
    rewrite_readme,
)

README = Path(__file__).resolve().parents[1] / "README.md"
VALUES = {
    "base_url": "https://news.example.org",
    "secret_key": "test-secret-key-0123456789abcdef",
    "publisher_name": "The Example Times",
    "from_address": "newsletter@example.org",
    "postal_address": "1 Example Street, Springfield",
    "timezone": "Europe/Berlin",
}
SETTINGS_KEYS = [name for name, field in Settings.model_fields.items() if not field.exclude]
# A key line of the file, active or commented: "key = value" or "# key = value".
KEY_LINE = re.compile(r"^(# )?([a-z_]+) = ")


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(README_START) == text.count(README_END) == 1
    assert readme_section(text) == readme_table(), (
        "the README's settings table is stale: python -m mailer.settings.template --readme"
    )


def test_init_writes_a_file_that_loads_back_to_what_it_was_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILER_CONFIG", raising=False)
    told = {
        "publisher_name": 'Die "Zeit" \\ Zürich',
        "from_address": "The Weekly <news@zeit.example.org>",
        "postal_address": "1 Example Street\n12345 Springfield",
        "base_url": "https://news.example.org",
        "timezone": "Europe/Zurich",
    }
    result = CliRunner().invoke(
        app,
        [
            "init",
            "--name", told["publisher_name"],
            "--from", told["from_address"],
            "--postal-address", told["postal_address"],
            "--base-url", told["base_url"],
            "--timezone", told["timezone"],
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    path = tmp_path / "mailer.toml"
    text = path.read_text(encoding="utf-8")
    assert "Zürich" in text  # written as it is, not as \u escapes
    loaded = load_settings(path)
    expected = Settings(
        base_dir=tmp_path,
        config_file=path,
        secret_key=loaded.secret_key,
        cta={DONATE_NAME: CtaSettings.model_validate(DONATE_BOX)},
        **told,
    )
    assert loaded.model_dump() == expected.model_dump()
    assert len(loaded.secret_key.get_secret_value()) >= 32


def test_the_file_is_toml_and_every_key_is_there_once_with_a_valid_example() -> None:
    text = config_file(VALUES)
    data = tomllib.loads(text)
    assert set(data) == {*INIT_KEYS, "backend", "outbox_dir", "cta"}
    assert data["cta"] == {DONATE_NAME: DONATE_BOX}
    # Uncommented, every key line is valid TOML, and the file then sets every field once.
    top, _, box = text.partition(f"\n[cta.{DONATE_NAME}]\n")
    keys = [m.group(2) for line in top.splitlines() if (m := KEY_LINE.match(line))]
    assert sorted(keys) == sorted(key for key in SETTINGS_KEYS if key != "cta")
    box_keys = [m.group(2) for line in box.splitlines() if (m := KEY_LINE.match(line))]
    assert box_keys == list(CtaSettings.model_fields)
    everything = tomllib.loads(_uncommented(text))
    assert set(everything) == set(SETTINGS_KEYS)
    assert set(everything["cta"][DONATE_NAME]) == set(CtaSettings.model_fields)
    # The examples are values the settings take (the keys name files and keys that are
    # not here, and DKIM wants all three).
    for key in ("dkim_private_key", "dkim_selector", "dkim_domain", "sendgrid_webhook_public_key"):
        del everything[key]
    Settings(**everything)


def test_every_field_has_a_description_and_one_place_in_a_section() -> None:
    placed = [key for section in SECTIONS for key in section.keys]
    assert sorted(placed) == sorted(SETTINGS_KEYS)
    for model in (Settings, CtaSettings):
        for name, field in model.model_fields.items():
            assert field.exclude or field.description, f"{model.__name__}.{name}"


def test_the_readme_table_has_a_row_for_every_field() -> None:
    table = readme_table()
    keys = re.findall(r"^\| `([a-zA-Z_.]+)` \|", table, flags=re.MULTILINE)
    cta = [f"cta.NAME.{name}" for name in CtaSettings.model_fields]
    assert sorted(keys) == sorted([*SETTINGS_KEYS, *cta])
    rows = table.splitlines()[2:]
    assert all(row.count(" | ") == 2 for row in rows)  # no | inside a cell


def test_the_template_formats_to_the_file() -> None:
    # CONFIG_TEMPLATE: the file with a placeholder for each of init's values.
    assert CONFIG_TEMPLATE.format(**VALUES) == config_file(VALUES)


def test_the_regeneration_command_rewrites_a_stale_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\n| old |\n{README_END}\n\nmore\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mailer.settings.template", "--readme", str(readme)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "table rewritten" in result.stdout
    text = readme.read_text(encoding="utf-8")
    assert text == f"# x\n\n{README_START}\n{readme_table()}{README_END}\n\nmore\n"
    assert not rewrite_readme(readme)  # up to date now


def _uncommented(text: str) -> str:
    lines = []
    for line in text.splitlines():
        match = KEY_LINE.match(line)
        lines.append(line.removeprefix("# ") if match and match.group(1) else line)
    return "\n".join(lines)
