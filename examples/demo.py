"""`make demo`: the main job end to end on the embedded defaults (SQLite, file outbox).

Creates ./demo (git-ignored) afresh, sets up a project in it, imports the sample
subscribers and shows where everything is. Every step runs the real `mailer` command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
MAILER = [sys.executable, "-m", "mailer"]


def mailer(*args: str) -> str:
    print(f"\n$ mailer {' '.join(args)}", flush=True)
    result = subprocess.run([*MAILER, *args], check=False, cwd=DEMO, text=True, capture_output=True)
    print(result.stdout, end="")
    if result.returncode != 0:
        print(result.stderr, end="", file=sys.stderr)
        raise SystemExit(f"demo step failed: mailer {' '.join(args)}")
    return result.stdout


def main() -> None:
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    mailer(
        "init",
        "--name", "The Example Times",
        "--from", "newsletter@example.org",
        "--postal-address", "1 Example Street, 12345 Springfield",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    mailer("lists", "create", "weekly", "--description", "The week's best reporting")
    sample = DEMO / "sample.csv"
    shutil.copy(ROOT / "subscribers" / "sample.csv", sample)
    mailer("subscribers", "import", "sample.csv", "--list", "weekly")
    mailer("lists", "ls")
    mailer("subscribers", "ls", "--list", "weekly", "--limit", "5")
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s; look at:")
    print(f"  settings          {DEMO / 'mailer.toml'}")
    print(f"  database          {DEMO / 'var' / 'mailer.db'}")
    print(f"  rejected rows     {DEMO / 'sample.rejected.csv'}")


if __name__ == "__main__":
    main()
