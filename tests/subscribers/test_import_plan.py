"""Property-based: the import's plan for a batch, without a database. Whatever is stored
and whatever the file says, every row counts once, a suppressed or unsubscribed address
is not subscribed again unless the import resubscribes, an address seen twice is one
subscriber, and planning the same rows against what the plan wrote changes nothing."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mailer.addresses import address_hash, normalize_address
from mailer.storage.models import SubscriptionStatus
from mailer.subscribers.csv_rows import Row
from mailer.subscribers.import_plan import BatchPlan, Policy, Stored, plan_batch
from mailer.subscribers.seen import SeenHashes

EARLIER = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)
LATER = datetime(2026, 3, 1, tzinfo=UTC)
KEYS = [f"{local}@example.org" for local in "abcdefgh"]
SUBSCRIBED = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.UNCONFIRMED)


@dataclass
class Person:
    id: int
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    timezone: str | None = None
    created_at: datetime = EARLIER


_name = st.sampled_from(["", "Ann", "Bob"])
_attributes = st.dictionaries(st.sampled_from(["city", "age"]), st.sampled_from(["1", "x"]))
_tags = st.lists(st.sampled_from(["Donor", "Gala"]), unique=True).map(sorted)
_zone = st.sampled_from([None, "Europe/Berlin"])
_left = st.sampled_from([None, None, "unsubscribed", "bounced", "blocklisted"])
_status = st.sampled_from(list(SubscriptionStatus))


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, Row]:
    keys = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=len(KEYS)))
    return {
        key: Row(
            line,
            normalize_address(key),
            draw(_name) or None,
            draw(_attributes),
            draw(_tags),
            draw(_zone),
            draw(_left),
        )
        for line, key in enumerate(keys, start=2)
    }


@st.composite
def _stored(draw: st.DrawFn) -> Stored:
    people: dict[str, Any] = {
        key: Person(i, draw(_name), draw(_attributes), draw(_tags), draw(_zone))
        for i, key in enumerate(KEYS, start=1)
        if draw(st.booleans())
    }
    memberships = {person.id: draw(_status) for person in people.values() if draw(st.booleans())}
    hashes = {key: address_hash(key) for key in KEYS}
    suppressed = {hashes[key] for key in KEYS if draw(st.integers(0, 3)) == 0}
    return Stored(people, memberships, hashes, suppressed)


@st.composite
def _policy(draw: st.DrawFn) -> Policy:
    confirmed, double_opt_in = draw(st.booleans()), draw(st.booleans())
    status = SubscriptionStatus.UNCONFIRMED if double_opt_in and not confirmed else None
    return Policy(
        status or SubscriptionStatus.CONFIRMED,
        confirmed,
        draw(st.booleans()),
        NOW,
        draw(st.booleans()),
    )


def _plan(rows: dict[str, Row], stored: Stored, policy: Policy, seen: SeenHashes) -> BatchPlan:
    # The plan keeps references to the rows' values; a copy keeps the next plan's own.
    return plan_batch(copy.deepcopy(rows), stored, policy, seen)


def _written(stored: Stored, plan: BatchPlan) -> Stored:
    """What the database holds once the plan is written (what importer._write does)."""
    people = copy.deepcopy(stored.people)
    by_id = {person.id: person for person in people.values()}
    for values in plan.new_people:
        person = Person(len(KEYS) + len(people) + 1, values["name"], values["attributes"])
        person.tags, person.timezone, person.created_at = values["tags"], values["timezone"], NOW
        people[values["email_key"]] = by_id[person.id] = person
    for values in plan.changed_people:
        for column, value in values.items():
            if column not in ("b_id", "updated_at"):
                setattr(by_id[values["b_id"]], column, value)
    memberships = dict(stored.memberships)
    memberships.update({people[key].id: status for key, status in plan.new_members})
    memberships.update({change["b_id"]: change["status"] for change in plan.status_changes})
    suppressed = stored.suppressed - set(plan.lifted)
    suppressed |= {row["address_hash"] for row in plan.new_suppressions}
    return Stored(people, memberships, stored.hashes, suppressed)


def _counted(plan: BatchPlan) -> int:
    return (
        plan.imported + plan.updated + plan.unchanged + plan.duplicates
        + sum(plan.skipped.values())
    )  # fmt: skip


@given(rows=_rows(), stored=_stored(), policy=_policy())
def test_every_row_counts_once(rows: dict[str, Row], stored: Stored, policy: Policy) -> None:
    plan = _plan(rows, stored, policy, SeenHashes())
    assert _counted(plan) == len(rows)
    # Nothing stored was stored by this import: no row is a duplicate.
    assert plan.duplicates == 0
    assert plan.imported == sum(1 for key, _ in plan.new_members if not rows[key].left)


@given(rows=_rows(), stored=_stored(), policy=_policy())
def test_a_suppressed_or_unsubscribed_address_is_not_subscribed_again_unless_asked(
    rows: dict[str, Row], stored: Stored, policy: Policy
) -> None:
    plan = _plan(rows, stored, policy, SeenHashes())
    ids = {person.id: key for key, person in stored.people.items()}
    subscribed = {key for key, status in plan.new_members if status in SUBSCRIBED}
    subscribed |= {ids[c["b_id"]] for c in plan.status_changes if c["status"] in SUBSCRIBED}
    for key in subscribed:
        assert rows[key].left is None
        if not policy.resubscribe:
            assert stored.hashes[key] not in stored.suppressed
            person = stored.people.get(key)
            assert person is None or stored.memberships.get(person.id) is not (
                SubscriptionStatus.UNSUBSCRIBED
            )
    if not policy.resubscribe:
        assert plan.lifted == []
    # Who leaves in the file is never subscribed, and a bounce is suppressed.
    for key, status in plan.new_members:
        assert (status is SubscriptionStatus.UNSUBSCRIBED) == bool(rows[key].left)
    for suppression in plan.new_suppressions:
        assert suppression["address_hash"] not in stored.suppressed


@given(rows=_rows(), stored=_stored(), policy=_policy())
def test_each_address_is_one_subscriber(
    rows: dict[str, Row], stored: Stored, policy: Policy
) -> None:
    plan = _plan(rows, stored, policy, SeenHashes())
    inserted = [values["email_key"] for values in plan.new_people]
    assert len(inserted) == len(set(inserted))
    assert not set(inserted) & set(stored.people)
    changed = [values["b_id"] for values in plan.changed_people]
    assert len(changed) == len(set(changed))
    members = [key for key, _ in plan.new_members]
    assert len(members) == len(set(members))
    assert set(members) <= set(inserted) | set(stored.people)


@given(rows=_rows(), stored=_stored(), policy=_policy())
def test_a_second_sight_of_the_same_rows_is_a_duplicate_and_adds_no_one(
    rows: dict[str, Row], stored: Stored, policy: Policy
) -> None:
    """As when a file has the same address in two batches: the second is merged into
    the one subscriber the first stored, and counts as a duplicate."""
    seen = SeenHashes()
    first = _plan(rows, stored, policy, seen)
    after = stored if policy.dry_run else _written(stored, first)
    second = _plan(rows, after, policy, seen)
    assert second.duplicates == len(rows)
    assert _counted(second) == len(rows)
    if not policy.dry_run:
        assert second.new_people == second.new_members == []


@given(rows=_rows(), stored=_stored(), policy=_policy())
def test_importing_the_same_rows_again_changes_nothing(
    rows: dict[str, Row], stored: Stored, policy: Policy
) -> None:
    policy = replace(policy, dry_run=False)
    after = _written(stored, _plan(rows, stored, policy, SeenHashes()))
    again = _plan(rows, after, replace(policy, now=LATER), SeenHashes())
    assert again == BatchPlan(unchanged=again.unchanged, skipped=again.skipped)
