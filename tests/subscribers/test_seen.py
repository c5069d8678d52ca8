from __future__ import annotations

import random

from mailer.subscribers.seen import SeenHashes


def test_seen_hashes_is_an_exact_set() -> None:
    rng = random.Random(1)
    values = [rng.getrandbits(64) - 2**63 for _ in range(20_000)]
    seen = SeenHashes()
    for value in values[:10_000]:
        seen.add(value)
    assert len(seen) == 10_000
    assert all(value in seen for value in values[:10_000])
    assert not any(value in seen for value in values[10_000:])
