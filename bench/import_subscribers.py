"""Benchmark: import generated subscriber rows into SQLite.

Target (issue: foundation): 1,000,000 rows at 50,000 rows/s or more on one core, with peak
memory under 200 MB. Prints rows/s for a first import and for a re-run (every row
unchanged), and the process's peak RSS.

    .venv/bin/python bench/import_subscribers.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailer.storage import open_database
from mailer.subscribers.importer import import_file
from mailer.subscribers.lists import create_list

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Günter", "Hiro", "Ines", "José"]
LAST = ["Lee", "Smith", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva", "Tan"]
LOCAL = ["lee", "smith", "mueller", "nakamura", "okafor", "petrov", "rossi", "silva"] * 12 + [
    "müller"
]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "", "", ""]
TAGS = ['"Donor"', '"Volunteer"', "", "", ""]


def generate(path: Path, rows: int) -> None:
    rng = random.Random(42)
    domains = [f"mail{i}.example.com" for i in range(500)] + ["gmail.com", "yahoo.com"] * 100
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email Address", "First Name", "Last Name", "TAGS", "TIMEZONE", "Country"])
        for i in range(rows):
            writer.writerow(
                [
                    # About one address in a hundred has a non-ASCII local part.
                    f"user{i}.{rng.choice(LOCAL)}@{rng.choice(domains)}",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    rng.choice(TAGS),
                    rng.choice(ZONES),
                    rng.choice(["DE", "US", "JP", "FR"]),
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mailer-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "subscribers.csv"
    database_path = folder / "mailer.db"
    database_path.unlink(missing_ok=True)

    started = time.perf_counter()
    generate(source, args.rows)
    print(f"generated {args.rows:,} rows ({source.stat().st_size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

    database = open_database(f"sqlite:///{database_path}")
    with database.session() as session:
        create_list(session, "bench")
    for label in ("first import", "re-run"):
        started = time.perf_counter()
        summary = import_file(database, source, "bench")
        elapsed = time.perf_counter() - started
        rate = summary.read / elapsed
        print(
            f"{label}: {summary.read:,} rows in {elapsed:.1f} s = {rate:,.0f} rows/s "
            f"(imported {summary.imported:,}, unchanged {summary.unchanged:,}, "
            f"rejected {summary.rejected:,})"
        )
    database.close()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"peak RSS: {peak_rss_mb():.0f} MB; CPU time user {cpu.ru_utime:.1f} s, ", end="")
    print(f"system {cpu.ru_stime:.1f} s")


if __name__ == "__main__":
    main()
