"""Benchmark: how long the web tier's hit writer takes to store a batch of opens, which
is what a crashed worker can lose (the README's "What a crash can lose").

A campaign sent to --recipients readers (as bench/web.py builds it), then batches of
each of --sizes opens of distinct readers put into a :class:`~mailer.web.hits.HitWriter`
at once and flushed, --repeats times a size: the writer takes them as one batch, ties
them to their ledger rows and stores them, their firsts and their counters in one
transaction. Prints the median and the slowest batch of each size, in milliseconds.

    .venv/bin/python bench/hit_batches.py [--database-url postgresql://.../h_web_bench]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from web import build, empty_postgres, free_port, write_config

from mailer.storage import open_database
from mailer.storage.events import EventKind
from mailer.web.hits import Hit, HitWriter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=30_000)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    needed = sum(sizes) * (args.repeats + 1)
    if needed > args.recipients:
        parser.error(f"--recipients: {args.recipients:,} is fewer than the {needed:,} needed")
    with tempfile.TemporaryDirectory(prefix="mailer-bench-hits-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'mailer.db'}"
        if url.startswith("postgresql"):
            empty_postgres(url)
        campaign_id, _, readers = build(write_config(folder, url, free_port()), args.recipients)
        database = open_database(url, migrate=False)
        writer = HitWriter(database)
        print(f"{len(readers):,} recipients on {url.split(':', 1)[0]}; batches of opens, ms:")
        print("| batch | median | slowest |\n| --- | --- | --- |")
        # Each open is a reader's first: every batch stores its firsts and its counts.
        unread = iter(readers)
        now = datetime.now(UTC)
        for size in sizes:
            times = []
            # The first of each size is not counted: its statements are new to the
            # database then.
            for _ in range(args.repeats + 1):
                batch = [
                    Hit(EventKind.OPENED, campaign_id, delivery_id, subscriber_id, now)
                    for subscriber_id, delivery_id in (next(unread) for _ in range(size))
                ]
                started = time.perf_counter()
                # Put while holding the writer's lock (re-entrant), so that its thread
                # takes them as one batch, as it does when they arrive while it writes.
                with writer._cond:
                    for hit in batch:
                        writer.put(hit)
                writer.flush()
                times.append((time.perf_counter() - started) * 1000)
            counted = times[1:]
            print(f"| {size:,} | {statistics.median(counted):.1f} | {max(counted):.1f} |")
        writer.close()
        database.close()


if __name__ == "__main__":
    main()
