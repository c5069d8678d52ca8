"""``mailer articles show``, and bad input to every command that reads an article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailer.cli import app
from tests.support.cli import Cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEXT = "Café au lait\n\nThe café opens at nine, crème brûlée included.\n"


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_show_a_saved_page() -> None:
    code, out, _ = run("articles", "show", str(EXAMPLES / "article.html"))
    assert code == 0
    assert "Library roof repairs to start in July" in out
    assert "byline    Priya Natarajan" in out
    assert "date      2024-06-12" in out
    assert "8 blocks" in out
    assert "quote" in out and "list" in out and "image" in out
    assert "pieces dropped as page furniture" in out
    for why, text in (
        ("navigation", "Home Politics Sport Culture Opinion Subscribe"),
        ("share buttons (class or id 'share')", "Share on X Share on Facebook Print"),
        ("links to other articles (class or id 'related')", "Related stories Storm damage"),
        ("the page's footer", "© 2024 The Example Times. Privacy"),
        ("an appeal or paywall (class or id 'banner')", "We rely on readers like you. Donate"),
    ):
        assert any(line.startswith(f"{why}: {text}") for line in out.splitlines()), why


def test_show_as_json() -> None:
    code, out, _ = run("articles", "show", str(EXAMPLES / "article.html"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["title"] == "Library roof repairs to start in July"
    assert [b["kind"] for b in data["blocks"]][:3] == ["paragraph", "paragraph", "image"]
    assert data["blocks"][0]["text"].startswith("The leaking roof of the Millbrook")
    assert data["body_text"].startswith("The leaking roof")
    assert "\n\nThe money comes from" in data["body_text"]
    for furniture in ("Share on", "Related stories", "Donate today", "Privacy"):
        assert furniture not in data["body_text"]
    assert {"text": "Home Politics Sport Culture Opinion Subscribe", "why": "navigation"} in (
        data["dropped"]
    )
    assert data["cta"] is None


def test_show_from_standard_input_and_the_front_matter_cta() -> None:
    page = b"---\ntitle: From stdin\ncta: donate\n---\nA paragraph.\n"
    code, out, _ = run("articles", "show", "-", "--json", input=page)
    assert code == 0, out
    data = json.loads(out)
    assert (data["title"], data["cta"], data["body_text"]) == (
        "From stdin",
        ["donate"],
        "A paragraph.",
    )
    code, out, _ = run("articles", "show", "-", input=page)
    assert "call to action  donate" in out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty.txt: is empty"),
        ("blank.md", b"\n \n\t\n", "blank.md: is empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.txt: is a binary file"),
        ("page.html", b"\x00\x00<html>", "page.html: is a binary file"),
        (
            "latin.txt",
            TEXT.encode("latin-1"),
            "latin.txt: is not UTF-8 text (line 1, byte 3): name its encoding with --encoding, "
            "e.g. --encoding cp1252",
        ),
        (
            "bare.html",
            b"<html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>",
            "bare.html: found no article text in the page",
        ),
    ],
)
def test_bad_input_is_named(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run("articles", "show", str(path))
    assert (code, out) == (1, "")
    assert err.strip().startswith(f"error: {tmp_path / message}")


def test_encoding_overrides_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(TEXT.encode("latin-1"))
    code, out, _ = run("articles", "show", str(path), "--encoding", "latin-1", "--json")
    assert code == 0
    assert json.loads(out)["title"] == "Café au lait"
    code, _, err = run("articles", "show", str(path), "--encoding", "klingon")
    assert code == 1
    assert err.strip() == f"error: {path}: unknown encoding 'klingon'"


def test_a_byte_order_mark_says_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes(TEXT.encode("utf-16"))  # with its BOM
    code, out, _ = run("articles", "show", str(path), "--json")
    assert code == 0
    assert "crème brûlée" in json.loads(out)["body_text"]


def test_render_and_campaigns_take_encoding(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(TEXT.encode("latin-1"))
    failed = cli("render", str(path), "-o", str(tmp_path / "out"), ok=False)
    assert failed.exit_code == 1
    assert "--encoding" in failed.stderr
    cli("render", str(path), "-o", str(tmp_path / "out"), "--encoding", "latin-1")
    assert "crème brûlée" in (tmp_path / "out" / "email.txt").read_text("utf-8")
    cli("lists", "create", "weekly")
    created = cli(
        "campaigns", "create", "--article", str(path), "-l", "weekly", "--encoding", "cp1252"
    )
    assert created.stdout.strip() == "1"
    shown = json.loads(cli("campaigns", "show", "1", "--json").stdout)
    assert shown["subject"] == "Café au lait"


def test_show_prints_the_articles_own_appeal() -> None:
    appeal = Path(__file__).resolve().parents[1] / "data" / "articles" / "copied-appeal.txt"
    code, out, _ = run("articles", "show", str(appeal))
    assert code == 0
    assert "the article's own appeal" in out
    assert "link    https://rivertrust.example.org/donate" in out
    assert "gift    a bed and a hot meal for one night: 15 euros" in out
    code, out, _ = run("articles", "show", "--json", str(appeal))
    assert json.loads(out)["appeal"]["url"] == "https://rivertrust.example.org/donate"
