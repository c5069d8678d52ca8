"""Reading subscriber CSV files into rows, whatever tool exported them.

Recognised layouts, by their header:

- Mailchimp: ``Email Address``, ``First Name``, ``Last Name``, ``TAGS``, ``TIMEZONE``; an
  export of unsubscribed (``UNSUB_TIME``) or cleaned (``CLEAN_TIME``) members is honoured.
- listmonk: ``email``, ``name``, ``attributes`` (JSON), ``status`` (``blocklisted`` honoured).
- Plain: a column named email (or e-mail, mail, email address) and optionally name,
  first name, last name, tags, timezone; or no header at all, as ``email[,name]``.

Every other non-empty column is kept as an attribute, its name in snake_case
(``Phone Number`` becomes ``phone_number``). Commas, semicolons and tabs are all
recognised as separators. A cell that our exports escaped against spreadsheet formulas
(``'=x``) reads back as its value (``=x``); see csv_cells.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from mailer.addresses import Address, clean_name, normalize_address
from mailer.exceptions import FileInputError, InputError, InvalidAddress, quoted
from mailer.subscribers.csv_cells import unescape_cell
from mailer.subscribers.fields import check_attributes, check_name, check_tags
from mailer.timezones import known_zone

__all__ = ["Rejected", "Row", "check_encoding", "read_rows"]

EMAIL_COLUMNS = ("email address", "email", "e-mail", "e-mail address", "email_address", "mail")
NAME_COLUMNS = ("name", "full name", "full_name")
FIRST_COLUMNS = ("first name", "first_name", "firstname", "fname", "given name")
LAST_COLUMNS = ("last name", "last_name", "lastname", "lname", "surname", "family name")
TAG_COLUMNS = ("tags", "tag")
ZONE_COLUMNS = ("timezone", "time zone", "tz")
# Columns that describe the exporting tool's own rows, not the person.
DROPPED_COLUMNS = frozenset(
    {"uuid", "id", "created_at", "updated_at", "subscribed_at", "leid", "euid"}
)
MAX_FIELD = 1 << 20

csv.field_size_limit(MAX_FIELD)


@dataclass(slots=True)
class Row:
    line: int
    address: Address
    name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    timezone: str | None = None
    # Set when the source says this person left: "unsubscribed", "bounced", "blocklisted".
    left: str | None = None

    def merge(self, later: Row) -> None:
        """Fold a later row for the same address into this one: later non-empty values
        win, attributes merge key by key, tags add up."""
        if later.name:
            self.name = later.name
        self.attributes.update(later.attributes)
        self.tags = sorted({*self.tags, *later.tags})
        if later.timezone:
            self.timezone = later.timezone
        if later.left:
            self.left = later.left


@dataclass(slots=True)
class Rejected:
    line: int
    reason: str
    cells: list[str]


@dataclass(frozen=True)
class _Layout:
    """Where each field is in a row; a field the file lacks has the index ``width``."""

    header: list[str] | None
    width: int
    email: int
    name: int
    first: int
    last: int
    tags: int
    timezone: int
    attributes_json: int
    status: int
    unsub: int
    cleaned: int
    extra: tuple[tuple[int, str], ...] = ()


def check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file before anything is stored, so that a wrong encoding is a
    clear error naming the line instead of half an import."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise FileInputError(path, f"unknown encoding {quoted(encoding)}") from None
    line = 1
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as err:
                    line += chunk.count(b"\n", 0, err.start)
                    raise FileInputError(
                        path,
                        f"not valid {encoding} (byte {chunk[err.start]:#04x}); pass "
                        "--encoding with the file's encoding, for example cp1252 or latin-1",
                        line=line,
                    ) from None
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except OSError as err:
        raise FileInputError(path, f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise FileInputError(path, f"ends in the middle of a {encoding} character") from None


def read_rows(handle: IO[str], path: Path) -> tuple[list[str] | None, Iterator[Row | Rejected]]:
    """The header (None for a file of bare ``email[,name]`` lines) and the rows of a CSV
    file opened as text with ``newline=""``. The header is read at once, so that a file
    without an email column is refused before anything is stored."""
    sample = handle.read(64 * 1024)
    handle.seek(0)
    if not sample.strip():
        raise FileInputError(path, "the file is empty")
    reader = csv.reader(handle, _dialect(sample))
    try:
        first = next(reader)
    except csv.Error as err:
        raise FileInputError(path, f"not a readable CSV file: {err}", line=1) from None
    layout = _layout(first, path)
    return layout.header, _rows(reader, layout, first)


def _rows(reader: Any, layout: _Layout, first: list[str]) -> Iterator[Row | Rejected]:
    if layout.header is None:
        yield _row(layout, first, 1)
    while True:
        first_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield Rejected(first_line, f"unreadable CSV: {err}", [])
            continue
        if not any(cell.strip() for cell in cells):
            continue
        yield _row(layout, cells, first_line)


def _dialect(sample: str) -> type[csv.Dialect]:
    """Excel's CSV with the separator the first line uses most: csv.Sniffer guesses
    quoting too, and guesses it wrong on Mailchimp's quoted tag lists."""
    header = sample.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter if header.count(delimiter) else ","
    return Dialect


def _key(column: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")


def _layout(first: list[str], path: Path) -> _Layout:
    lowered = [cell.strip().lower() for cell in first]

    def find(names: tuple[str, ...]) -> int | None:
        for name in names:
            if name in lowered:
                return lowered.index(name)
        return None

    width = len(first)
    email = find(EMAIL_COLUMNS)
    if email is None:
        if first and "@" in first[0]:
            try:
                normalize_address(first[0])
            except InvalidAddress:
                pass
            else:
                # No header: email[,name]; every other field is absent (index 2).
                return _Layout(None, 2, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2)
        shown = ", ".join(quoted(c, 20) for c in first[:5]) or "nothing"
        if len(first) > 5:
            shown += f" and {len(first) - 5} more columns"
        raise FileInputError(
            path,
            f"no email column: the header has {shown}; name one column 'email' "
            "(or 'Email Address'), or give a file whose lines are email[,name]",
            line=1,
        )
    found = {
        "name": find(NAME_COLUMNS),
        "first": find(FIRST_COLUMNS),
        "last": find(LAST_COLUMNS),
        "tags": find(TAG_COLUMNS),
        "timezone": find(ZONE_COLUMNS),
        "attributes_json": find(("attributes",)),
        "status": find(("status",)),
        "unsub": find(("unsub_time",)),
        "cleaned": find(("clean_time",)),
    }
    used = {email, *(i for i in found.values() if i is not None)}
    extra = tuple(
        (i, _key(column))
        for i, column in enumerate(first)
        if i not in used and _key(column) and _key(column) not in DROPPED_COLUMNS
    )
    fields = {key: width if index is None else index for key, index in found.items()}
    return _Layout(header=first, width=width, email=email, extra=extra, **fields)


_FIELDS = (
    "name",
    "first",
    "last",
    "tags",
    "timezone",
    "attributes_json",
    "status",
    "unsub",
    "cleaned",
)


def _row(layout: _Layout, cells: list[str], line: int) -> Row | Rejected:
    # Columns the layout lacks point one past the header; padding the row to that
    # width makes every lookup a plain index (this runs a million times an import).
    width = layout.width
    given = cells
    if any(cell[:1] == "'" for cell in cells):
        cells = [unescape_cell(cell) for cell in cells]
    padded = cells + [""] * (width + 1 - len(cells)) if len(cells) <= width else cells
    raw = padded[layout.email].strip()
    if not raw:
        return Rejected(line, "no email address", cells)
    address = _address(raw, given[layout.email].strip() if given is not cells else raw)
    if isinstance(address, InvalidAddress):
        return Rejected(line, address.reason, cells)
    row = Row(line, address)
    problem = _fill(row, layout, padded)
    if problem is not None:
        return Rejected(line, problem, cells)
    zone = padded[layout.timezone].strip()
    if zone and known_zone(zone):
        row.timezone = zone
    row.left = _left(layout, padded)
    return row


def _fill(row: Row, layout: _Layout, padded: list[str]) -> str | None:
    """Fill in the row's name, attributes and tags from its cells; why the row is
    rejected, if it is."""
    first, last = clean_name(padded[layout.first]), clean_name(padded[layout.last])
    name = clean_name(padded[layout.name]) or f"{first} {last}".strip()
    if name:
        row.name = name
    if first and first != name.split(" ", 1)[0]:
        row.attributes["first_name"] = first
    text = padded[layout.attributes_json].strip()
    if text:
        parsed = _json_object(text)
        if isinstance(parsed, str):
            return parsed
        row.attributes.update(parsed)
    for index, key in layout.extra:
        value = padded[index].strip()
        if value:
            row.attributes[key] = value
    tags = padded[layout.tags].strip()
    if tags:
        row.tags = list(_tags(tags))
    try:
        check_name(name)
        check_attributes(row.attributes)
        check_tags(row.tags)
    except InputError as err:
        return str(err)
    return None


def _json_object(text: str) -> dict[str, Any] | str:
    """listmonk's attributes cell as a JSON object, or why it is not one."""
    try:
        parsed = json.loads(text)
    except ValueError as err:
        return f"attributes is not valid JSON: {err}"
    if not isinstance(parsed, dict):
        return "attributes must be a JSON object"
    return parsed


def _left(layout: _Layout, padded: list[str]) -> str | None:
    """How the source says the person left, if it does."""
    status = padded[layout.status].strip().lower()
    if status == "blocklisted":
        return "blocklisted"
    if padded[layout.cleaned].strip():
        return "bounced"
    if padded[layout.unsub].strip() or status == "unsubscribed":
        return "unsubscribed"
    return None


def _address(cell: str, given: str) -> Address | InvalidAddress:
    """The address in a cell (after the export escape is taken off), or why there is none.
    An address that is valid only with its leading quote (``'@x.org``, whose local part
    is ``'``) was not escaped by us, since no valid address begins with an ``@``."""
    try:
        return normalize_address(cell)
    except InvalidAddress as err:
        if given != cell:
            try:
                return normalize_address(given)
            except InvalidAddress:
                pass
        return err


@lru_cache(maxsize=4096)
def _tags(text: str) -> tuple[str, ...]:
    # Mailchimp writes tags as quoted, comma-separated values: "Donor","2024 Gala".
    parsed = next(csv.reader([text], skipinitialspace=True), [])
    return tuple(sorted({tag.strip() for tag in parsed if tag.strip()}))
