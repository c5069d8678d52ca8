from __future__ import annotations

from tests.conftest import Cli


def test_list_round_trip(cli: Cli) -> None:
    cli("lists", "create", "news")
    assert "news" in cli("lists", "ls").stdout
