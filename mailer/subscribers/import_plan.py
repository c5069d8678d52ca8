"""What one batch of an import changes, decided without the database.

Given the batch's rows and what is stored for their addresses (the subscribers, their
membership of the list, the suppressed addresses), :func:`plan_batch` decides which
subscribers to insert and update, which memberships to add or change, which
suppressions to lift or add, and how every row counts. The importer reads the stored
state, plans, then writes the plan; the policy itself is in the importer's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mailer.storage.models import SubscriptionStatus, SuppressionReason
from mailer.subscribers.csv_rows import Row
from mailer.subscribers.seen import SeenHashes

__all__ = ["BatchPlan", "Policy", "Stored", "StoredPerson", "plan_batch"]

LEFT_SUPPRESSION = {
    "bounced": SuppressionReason.HARD_BOUNCE,
    "blocklisted": SuppressionReason.UNSUBSCRIBED,
}
_UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED
_UNCONFIRMED = SubscriptionStatus.UNCONFIRMED


class StoredPerson(Protocol):
    """The columns of a stored subscriber that the merge reads."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Policy:
    """What the import was asked to do."""

    status: SubscriptionStatus  # of a new member
    confirmed: bool
    resubscribe: bool
    now: datetime
    dry_run: bool


@dataclass
class Stored:
    """What the database holds for one batch's addresses."""

    people: dict[str, StoredPerson]  # by address key
    memberships: dict[int, SubscriptionStatus]  # by subscriber id, for the list imported into
    hashes: dict[str, str]  # the address hash of every key in the batch
    suppressed: set[str]  # the hashes among those that are suppressed


@dataclass
class BatchPlan:
    """The writes one batch makes, as the rows of executemany statements, and how its
    rows count: every row counts exactly once, as a duplicate, as imported, updated or
    unchanged, or under the reason it was skipped."""

    new_people: list[dict[str, Any]] = field(default_factory=list)
    changed_people: list[dict[str, Any]] = field(default_factory=list)  # with b_id
    # By address key: the new subscribers' ids are not known until they are inserted.
    new_members: list[tuple[str, SubscriptionStatus]] = field(default_factory=list)
    status_changes: list[dict[str, Any]] = field(default_factory=list)  # b_id and status
    lifted: list[str] = field(default_factory=list)  # address hashes
    new_suppressions: list[dict[str, Any]] = field(default_factory=list)
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        if outcome == "imported":
            self.imported += 1
        elif outcome == "updated":
            self.updated += 1
        elif outcome == "unchanged":
            self.unchanged += 1
        else:
            self.skipped[outcome] = self.skipped.get(outcome, 0) + 1


def plan_batch(
    batch: dict[str, Row], stored: Stored, policy: Policy, seen: SeenHashes
) -> BatchPlan:
    """The plan for ``batch`` (rows by address key, each key once). The one thing this
    changes is ``seen``: the stored addresses met, so that a later batch (or a re-run
    that stopped part way) counts a repeated address as a duplicate, once."""
    plan = BatchPlan()
    now, resubscribe = policy.now, policy.resubscribe
    for key, row in batch.items():
        hashed = stored.hashes[key]
        person = stored.people.get(key)
        suppressed = hashed in stored.suppressed
        counted = True
        # A dry run stores nothing, so there it has to remember every address.
        if policy.dry_run or person is not None or suppressed:
            counted = _first_sight(key, person, now, seen)
            if not counted:
                plan.duplicates += 1
        current = stored.memberships.get(person.id) if person is not None else None
        outcome = _skip_reason(row, suppressed, current, resubscribe)
        if outcome is None:
            outcome = _take(plan, key, hashed, row, person, current, suppressed, policy)
        if counted:
            plan.count(outcome)
    return plan


def _first_sight(key: str, person: StoredPerson | None, now: datetime, seen: SeenHashes) -> bool:
    """Whether this import meets the address for the first time. One inserted by this
    import is known by its creation time; one stored before it is remembered in ``seen``.
    A collision of the 64-bit hash would only miscount a row as a duplicate: the row
    itself is still merged like any other."""
    fingerprint = hash(key)
    if (person is not None and person.created_at == now) or fingerprint in seen:
        return False
    seen.add(fingerprint)
    return True


def _skip_reason(
    row: Row, suppressed: bool, current: SubscriptionStatus | None, resubscribe: bool
) -> str | None:
    """Why a row that does not say its person left is skipped, if it is: the address is
    suppressed, or unsubscribed from the list, and the file does not resubscribe it."""
    if row.left is not None or resubscribe:
        return None
    if suppressed:
        return "suppressed"
    if current is _UNSUBSCRIBED:
        return "unsubscribed"
    return None


def _take(
    plan: BatchPlan,
    key: str,
    hashed: str,
    row: Row,
    person: StoredPerson | None,
    current: SubscriptionStatus | None,
    suppressed: bool,
    policy: Policy,
) -> str:
    """Plan the writes for a row that is not skipped; its outcome (imported, updated,
    unchanged, or how its person left)."""
    if suppressed and row.left is None:
        plan.lifted.append(hashed)
    changed = _plan_person(plan, key, row, person, policy.now)
    if row.left in LEFT_SUPPRESSION and not suppressed:
        plan.new_suppressions.append(
            {
                "address_hash": hashed,
                "reason": LEFT_SUPPRESSION[row.left],
                "source": "import",
                "created_at": policy.now,
            }
        )
    wanted = _UNSUBSCRIBED if row.left else policy.status
    if current is None:
        plan.new_members.append((key, wanted))
        outcome = "imported"
    elif current is not wanted and (
        row.left or current is _UNSUBSCRIBED or (current is _UNCONFIRMED and policy.confirmed)
    ):
        plan.status_changes.append({"b_id": person.id if person else 0, "status": wanted})
        outcome = "updated"
    else:
        outcome = "updated" if changed else "unchanged"
    return row.left or outcome


def _plan_person(
    plan: BatchPlan, key: str, row: Row, person: StoredPerson | None, now: datetime
) -> bool:
    """Plan the insert of a new subscriber or the update of a stored one; whether a
    stored one changes."""
    if person is None:
        plan.new_people.append(
            {
                "email": row.address.email,
                "email_key": key,
                "name": row.name or "",
                "attributes": row.attributes,
                "tags": row.tags,
                "timezone": row.timezone,
            }
        )
        return False
    values = merged(person, row)
    if not values:
        return False
    plan.changed_people.append({"b_id": person.id, "updated_at": now, **values})
    return True


def merged(person: StoredPerson, row: Row) -> dict[str, Any]:
    """The columns of a stored subscriber that this row changes, with their new values:
    the row's non-empty name and timezone, its attributes merged in, its tags added."""
    values: dict[str, Any] = {}
    if row.name and row.name != person.name:
        values["name"] = row.name
    if row.timezone and row.timezone != person.timezone:
        values["timezone"] = row.timezone
    if row.attributes:
        attributes = {**person.attributes, **row.attributes}
        if attributes != person.attributes:
            values["attributes"] = attributes
    if row.tags:
        tags = sorted({*person.tags, *row.tags})
        if tags != sorted(person.tags):
            values["tags"] = tags
    return values
