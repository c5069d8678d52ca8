"""The pure step of ``ledger.record``: what the backend said of each claimed row, sorted
into what to write. Every row lands in exactly one bucket, the counts add up, a retry
waits its turn's delay until the last, and only a bounce suppresses."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from mailer.campaigns.ledger import RETRY_DELAYS, Claimed, RecordPlan, plan_record
from mailer.delivery.message import Outcome, RecipientResult

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _claimed(delivery_id: int, attempts: int) -> Claimed:
    return Claimed(delivery_id, 1000 + delivery_id, 1, attempts, "a@example.org", "", {}, [], None)


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[Claimed, RecipientResult]]:
    size = draw(st.integers(0, 40))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=size, max_size=size, unique=True))
    results = []
    for delivery_id in ids:
        attempts = draw(st.integers(1, len(RETRY_DELAYS) + 2))
        outcome = draw(st.sampled_from(list(Outcome)))
        result = RecipientResult(
            str(delivery_id),
            outcome,
            provider_message_id=draw(st.sampled_from(["", "m1", "m2", "x" * 250])),
            error=draw(st.sampled_from(["", "451 later", "550 no such user"])),
            bounce=draw(st.booleans()),
        )
        results.append((_claimed(delivery_id, attempts), result))
    return results


def _buckets(plan: RecordPlan) -> dict[str, list[int]]:
    return {
        "sent": [i for ids in plan.sent.values() for i in ids],
        **{
            name: [row["b_id"] for row in getattr(plan, name)]
            for name in ("retried", "failed", "skipped", "unknown")
        },
    }


@given(batches())
def test_every_result_lands_in_exactly_one_bucket(batch: list[tuple[Claimed, RecipientResult]]):
    plan = plan_record(batch, NOW)
    placed = [i for ids in _buckets(plan).values() for i in ids]
    assert sorted(placed) == sorted(claimed.delivery_id for claimed, _ in batch)


@given(batches())
def test_the_counts_add_up(batch: list[tuple[Claimed, RecipientResult]]):
    plan = plan_record(batch, NOW)
    outcomes = plan.outcomes()
    assert sum(outcomes.values()) == len(batch)
    buckets = _buckets(plan)
    assert outcomes[Outcome.SENT] == len(buckets["sent"])
    assert outcomes[Outcome.RETRY] == len(buckets["retried"])
    assert outcomes[Outcome.FAILED] == len(buckets["failed"])
    # Skipped and unknown are told only when some rows came to them.
    assert outcomes.get(Outcome.SKIPPED, 0) == len(buckets["skipped"])
    assert outcomes.get(Outcome.UNKNOWN, 0) == len(buckets["unknown"])
    assert (Outcome.SKIPPED in outcomes) == bool(buckets["skipped"])
    assert (Outcome.UNKNOWN in outcomes) == bool(buckets["unknown"])


@given(batches())
def test_each_row_goes_where_its_outcome_says(batch: list[tuple[Claimed, RecipientResult]]):
    plan = plan_record(batch, NOW)
    where = {i: name for name, ids in _buckets(plan).items() for i in ids}
    rows = {row["b_id"]: row for name in ("retried", "failed") for row in getattr(plan, name)}
    for claimed, result in batch:
        bucket = where[claimed.delivery_id]
        if result.outcome is Outcome.SENT:
            assert bucket == "sent"
            assert claimed.delivery_id in plan.sent[result.provider_message_id[:200]]
        elif result.outcome in (Outcome.SKIPPED, Outcome.UNKNOWN):
            assert bucket == result.outcome.value
        elif result.outcome is Outcome.RETRY and claimed.attempts <= len(RETRY_DELAYS):
            assert bucket == "retried"
            assert rows[claimed.delivery_id]["b_next"] == NOW + RETRY_DELAYS[claimed.attempts - 1]
            assert rows[claimed.delivery_id]["b_error"] == result.error
        else:
            assert bucket == "failed"
            row = rows[claimed.delivery_id]
            assert row["b_bounce"] is result.bounce
            gave_up = result.outcome is Outcome.RETRY
            assert row["b_error"].startswith("gave up after") is gave_up


@given(batches())
def test_only_failed_bounces_suppress(batch: list[tuple[Claimed, RecipientResult]]):
    plan = plan_record(batch, NOW)
    failed = {row["b_id"] for row in plan.failed}
    expected = [
        claimed.subscriber_id
        for claimed, result in batch
        if result.bounce and claimed.delivery_id in failed
    ]
    assert plan.bounced == expected


def test_a_batch_in_one_request_is_one_message_id():
    batch = [
        (_claimed(i, 1), RecipientResult(str(i), Outcome.SENT, provider_message_id="batch-1"))
        for i in range(1, 6)
    ]
    plan = plan_record(batch, NOW)
    assert plan.sent == {"batch-1": [1, 2, 3, 4, 5]}
    assert plan.outcomes() == {Outcome.SENT: 5, Outcome.RETRY: 0, Outcome.FAILED: 0}
