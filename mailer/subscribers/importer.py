"""Importing a CSV file of subscribers into a list, in committed batches.

The merge policy, also in the README:

- Rows for the same address within the file are merged: later non-empty values win,
  attributes merge key by key, tags add up. Only the first counts; the others count as
  duplicates.
- A stored subscriber is updated the same way: the file's non-empty name and timezone
  replace the stored ones, its attributes are merged in, its tags added. Nothing stored
  is erased by an import.
- A new member of the list is confirmed, except on a double opt-in list without
  ``--confirmed``, where it waits for confirmation. ``--confirmed`` also confirms members
  who were waiting.
- An address that unsubscribed from the list, or is on the suppression list (it left
  every list, bounced, complained or asked to be forgotten), is skipped unless
  ``--resubscribe`` says the people in the file asked to be subscribed again.
- A row the source tool marks as gone (Mailchimp's unsubscribed or cleaned exports,
  listmonk's blocklisted) is stored as unsubscribed; bounced and blocklisted addresses are
  also suppressed.

Every batch is committed on its own, and running the same import again changes nothing,
so an import that stopped part way is completed by running it again.
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, literal, select, update

from mailer.addresses import address_hash
from mailer.exceptions import FileInputError, PartialImport
from mailer.storage.bulk import bulk_insert, in_values
from mailer.storage.database import Database
from mailer.storage.models import Subscriber, Subscription, SubscriptionStatus, Suppression
from mailer.storage.types import UTCDateTime, utcnow
from mailer.subscribers.csv_cells import SafeWriter
from mailer.subscribers.csv_rows import Rejected, Row, check_encoding, read_rows
from mailer.subscribers.import_plan import BatchPlan, Policy, Stored, plan_batch
from mailer.subscribers.lists import get_list
from mailer.subscribers.seen import SeenHashes
from mailer.subscribers.subscriptions import initial_status

__all__ = ["FIRST_REJECTED", "ImportSummary", "import_file", "rejected_path"]

BATCH_SIZE = 2000
#: How many rejected rows a summary shows with their reasons (a dry run writes no file).
FIRST_REJECTED = 10


@dataclass
class ImportSummary:
    file: str
    list: str
    dry_run: bool = False
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    rejected_file: str | None = None
    committed_through_line: int = 0
    # The first FIRST_REJECTED rejected rows: their line, reason and cells.
    # (``builtins``: the field ``list`` above hides the type here.)
    first_rejected: builtins.list[dict[str, Any]] = field(default_factory=builtins.list)

    def add(self, plan: BatchPlan) -> None:
        """Count a batch's rows in."""
        self.imported += plan.imported
        self.updated += plan.updated
        self.unchanged += plan.unchanged
        self.duplicates += plan.duplicates
        for reason, count in plan.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rejected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def import_file(
    database: Database,
    path: Path,
    list_name: str,
    *,
    confirmed: bool = False,
    resubscribe: bool = False,
    dry_run: bool = False,
    encoding: str = "utf-8-sig",
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[ImportSummary], None] | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Import ``path`` into the list; see the module's docstring for the policy.

    ``progress`` is called with the number of bytes read so far after every batch, and
    ``on_batch`` with the summary so far (``read`` is the rows done).
    Rejected rows are written with their line and reason next to the input.
    """
    path = Path(path)
    if not path.is_file():
        raise FileInputError(path, "no such file" if not path.exists() else "not a file")
    check_encoding(path, encoding)
    with database.session() as session:
        mailing_list = get_list(session, list_name)
        status = initial_status(mailing_list, confirmed=confirmed)
        list_id = mailing_list.id
    summary = ImportSummary(file=str(path), list=list_name, dry_run=dry_run)
    policy = Policy(status, confirmed, resubscribe, now or utcnow(), dry_run)
    merger = _Merger(list_id, policy, summary, SeenHashes())
    rejects = _RejectWriter(rejected_path(path), dry_run)
    try:
        with path.open("rb") as raw, io.TextIOWrapper(raw, encoding, newline="") as handle:
            header, rows = read_rows(handle, path)
            rejects.header = header
            for batch, line in _batches(rows, summary, rejects, batch_size):
                merger.flush(database, batch)
                summary.committed_through_line = line
                if progress is not None:
                    progress(raw.tell())
                if on_batch is not None:
                    on_batch(summary)
    except KeyboardInterrupt:
        raise PartialImport(summary, summary.committed_through_line + 1, "interrupted") from None
    except FileInputError:
        raise
    except Exception as err:
        raise PartialImport(summary, summary.committed_through_line + 1, str(err)) from err
    finally:
        rejects.close()
    summary.rejected_file = str(rejects.path) if rejects.count else None
    return summary


def _batches(
    rows: Iterator[Row | Rejected],
    summary: ImportSummary,
    rejects: _RejectWriter,
    batch_size: int,
) -> Iterator[tuple[dict[str, Row], int]]:
    """The file's rows in batches of ``batch_size`` addresses, each with the line it ends
    at; the last batch may be empty. Rejected rows go to ``rejects``, and later rows for
    an address in the batch are merged into its first."""
    batch: dict[str, Row] = {}
    line = 0
    for item in rows:
        line = item.line
        summary.read += 1
        if isinstance(item, Rejected):
            summary.rejected += 1
            if len(summary.first_rejected) < FIRST_REJECTED:
                summary.first_rejected.append(
                    {"line": item.line, "reason": item.reason, "cells": list(item.cells)}
                )
            rejects.write(item)
            continue
        key = item.address.key
        earlier = batch.get(key)
        if earlier is not None:
            earlier.merge(item)
            summary.duplicates += 1
            continue
        batch[key] = item
        if len(batch) >= batch_size:
            yield batch, line
            batch = {}
    yield batch, line


class _RejectWriter:
    """Rejected rows in a CSV next to the input: the line and the reason, then the row
    as it was under the file's own header, so that it can be mended and imported again.
    A stale file from an earlier run is removed so that what is there is this run's."""

    def __init__(self, path: Path, dry_run: bool):
        self.path = path
        self.dry_run = dry_run
        self.count = 0
        self.header: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None
        if not dry_run:
            path.unlink(missing_ok=True)

    def write(self, rejected: Rejected) -> None:
        self.count += 1
        if self.dry_run:
            return
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._writer = SafeWriter(self._file)
            self._writer.writerow(["line", "reason", *(self.header or ["email", "name"])])
        self._writer.writerow([rejected.line, rejected.reason, *rejected.cells])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass
class _Merger:
    """Applies one batch of rows to the database in one transaction: reads what is
    stored for its addresses, plans (import_plan), then writes the plan."""

    list_id: int
    policy: Policy
    summary: ImportSummary
    # Stored addresses met in earlier batches. One inserted by this import is known by
    # its creation time; only addresses stored before the import need remembering.
    seen: SeenHashes

    def flush(self, database: Database, batch: dict[str, Row]) -> None:
        if not batch:
            return
        with database.engine.connect() as connection:
            transaction = connection.begin()
            if connection.dialect.name == "sqlite":
                # The address index of a large list outgrows SQLite's default 2 MB cache.
                connection.exec_driver_sql("PRAGMA cache_size=-32768")
            try:
                self._apply(connection, batch)
            except BaseException:
                transaction.rollback()
                raise
            if self.policy.dry_run:
                transaction.rollback()
            else:
                transaction.commit()

    def _apply(self, conn: Connection, batch: dict[str, Row]) -> None:
        plan = plan_batch(batch, _stored(conn, self.list_id, batch), self.policy, self.seen)
        # Counted before the writes, so that a batch that fails still shows its rows.
        self.summary.add(plan)
        _write(conn, plan, self.list_id, self.policy.now)


def _stored(conn: Connection, list_id: int, batch: dict[str, Row]) -> Stored:
    """What the database holds for the batch's addresses."""
    people: dict[str, Any] = {
        r.email_key: r
        for r in conn.execute(
            select(
                Subscriber.id,
                Subscriber.email_key,
                Subscriber.name,
                Subscriber.attributes,
                Subscriber.tags,
                Subscriber.timezone,
                Subscriber.created_at,
            ).where(in_values(conn, Subscriber.email_key, list(batch)))
        )
    }
    memberships = {
        r.subscriber_id: r.status
        for r in conn.execute(
            select(Subscription.subscriber_id, Subscription.status).where(
                Subscription.list_id == list_id,
                in_values(conn, Subscription.subscriber_id, [r.id for r in people.values()]),
            )
        )
    }
    hashes = {key: address_hash(key) for key in batch}
    suppressed = set(
        conn.scalars(
            select(Suppression.address_hash).where(
                in_values(conn, Suppression.address_hash, list(hashes.values()))
            )
        )
    )
    return Stored(people, memberships, hashes, suppressed)


def _write(conn: Connection, plan: BatchPlan, list_id: int, now: datetime) -> None:
    """Write a batch's plan, one executemany (or INSERT ... SELECT) per kind of change."""
    if plan.new_people:
        bulk_insert(conn, Subscriber, plan.new_people, {"created_at": now, "updated_at": now})
    if plan.changed_people:
        _update_people(conn, plan.changed_people)
    if plan.new_members:
        _insert_members(conn, plan.new_members, list_id, now)
    if plan.status_changes:
        conn.execute(
            update(Subscription)
            .where(
                Subscription.subscriber_id == bindparam("b_id"),
                Subscription.list_id == list_id,
            )
            .values(status=bindparam("status"), status_changed_at=now, status_source="import"),
            plan.status_changes,
        )
    if plan.lifted:
        conn.execute(delete(Suppression).where(Suppression.address_hash.in_(plan.lifted)))
    if plan.new_suppressions:
        conn.execute(insert(Suppression), plan.new_suppressions)


def _update_people(conn: Connection, changed: list[dict[str, Any]]) -> None:
    # Rows differ in which fields changed: group them by that so one executemany per
    # shape updates them.
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in changed:
        by_shape.setdefault(tuple(sorted(values)), []).append(values)
    for shape, rows in by_shape.items():
        columns: dict[str, Any] = {k: bindparam(k) for k in shape if k != "b_id"}
        conn.execute(
            update(Subscriber).where(Subscriber.id == bindparam("b_id")).values(columns), rows
        )


def _insert_members(
    conn: Connection, members: list[tuple[str, SubscriptionStatus]], list_id: int, now: datetime
) -> None:
    by_status: dict[SubscriptionStatus, list[str]] = {}
    for key, status in members:
        by_status.setdefault(status, []).append(key)
    for status, keys in by_status.items():
        # INSERT ... SELECT finds the new subscribers' ids in the same statement.
        conn.execute(
            insert(Subscription).from_select(
                [
                    "subscriber_id",
                    "list_id",
                    "status",
                    "status_changed_at",
                    "status_source",
                    "created_at",
                ],
                select(
                    Subscriber.id,
                    literal(list_id),
                    literal(status, Subscription.status.type),
                    literal(now, UTCDateTime()),
                    literal("import"),
                    literal(now, UTCDateTime()),
                ).where(in_values(conn, Subscriber.email_key, keys)),
            )
        )
