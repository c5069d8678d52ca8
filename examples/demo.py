"""`make demo`: the main job end to end on the embedded defaults (SQLite, file outbox).

In ./demo (git-ignored, made afresh each time): set up a project, import the sample
subscribers, render the example article with its donation call-to-action, schedule the
campaign a few seconds ahead, run the scheduler until it has been sent, and show where
everything is. Every step runs the real `mailer` command; nothing touches the network.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
MAILER = [sys.executable, "-m", "mailer"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}

#: The demo's admin account (a demo's password: change it for anything real).
ADMIN = "admin@example.org"
PASSWORD = "demo-password-please-change"

DONATE = """
[cta.donate]
heading = "Independent news needs you"
text = "The Example Times is paid for by its readers, not by advertisers."
button_label = "Give to the newsroom"
url = "https://news.example.org/donate"
amounts = [5, 10, 25]
gifts = ["$5 pays for an hour of fact-checking", "$25 pays for a day in court"]
placement = 3
"""


def mailer(*args: str, input: str | None = None) -> str:
    print(f"\n$ mailer {' '.join(args)}", flush=True)
    result = subprocess.run(
        [*MAILER, *args],
        check=False,
        cwd=DEMO,
        env=ENV,
        text=True,
        capture_output=True,
        input=input,
    )
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        print(result.stderr, end="", file=sys.stderr)
        raise SystemExit(f"demo step failed: mailer {' '.join(args)}")
    return result.stdout


def run_scheduler_until(text: str, timeout: float = 60) -> None:
    """`mailer run` until its log says ``text``; then stop it as a service manager would."""
    print("\n$ mailer run", flush=True)
    process = subprocess.Popen(
        [*MAILER, "run", "--reconcile", "0.5", "--port", "0"],
        cwd=DEMO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and selector.select(deadline - time.monotonic()):
            line = process.stderr.readline()
            if not line:
                break
            print(f"  {line}", end="", flush=True)
            if text in line:
                break
        else:
            raise SystemExit(f"the scheduler did not log {text!r} in {timeout:.0f} s")
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[1]
        print("".join(f"  {line}\n" for line in rest.splitlines()), end="")


def main() -> None:
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    mailer(
        "init",
        "--name", "The Example Times",
        "--from", "newsletter@example.org",
        "--postal-address", "1 Example Street, 12345 Springfield",
        "--base-url", "https://news.example.org",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    # The demo's own donation box in place of the placeholder that init writes last.
    config = DEMO / "mailer.toml"
    written = config.read_text(encoding="utf-8").partition("\n[cta.donate]\n")[0]
    config.write_text(written + "\n" + DONATE, encoding="utf-8")
    mailer(
        "lists", "create", "weekly", "--title", "The Weekly",
        "--description", "The week's best reporting",
    )  # fmt: skip
    shutil.copy(ROOT / "subscribers" / "sample.csv", DEMO / "sample.csv")
    mailer("subscribers", "import", "sample.csv", "--list", "weekly")
    mailer("render", str(ROOT / "examples" / "article.md"), "--list", "weekly", "-o", "rendered")
    campaign = mailer(
        "campaigns", "create",
        "--article", str(ROOT / "examples" / "article.md"),
        "--list", "weekly",
        "--subject", "{{ subscriber.first_name or 'Friend' }}, the ferry that would not sink",
    ).strip()  # fmt: skip
    due = (datetime.now(UTC) + timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%S")
    mailer("campaigns", "schedule", campaign, "--at", due, "--tz", "UTC")
    mailer("jobs", "ls")
    run_scheduler_until(f"campaign {campaign} is sent")
    mailer("campaigns", "show", campaign)
    mailer("users", "add", ADMIN, "--role", "admin", "--password-stdin", input=PASSWORD + "\n")

    outbox = sorted((DEMO / "var" / "outbox").glob("*.eml"))
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s; look at:")
    for label, path in (
        ("rendered HTML", DEMO / "rendered" / "email.html"),
        ("plain text", DEMO / "rendered" / "email.txt"),
        ("render report", DEMO / "rendered" / "report.json"),
        (f"outbox ({len(outbox)} .eml)", DEMO / "var" / "outbox"),
        ("one message", outbox[0] if outbox else DEMO / "var" / "outbox"),
        ("rejected rows", DEMO / "sample.rejected.csv"),
        ("settings", DEMO / "mailer.toml"),
        ("database", DEMO / "var" / "mailer.db"),
    ):
        print(f"  {label:<20} {path.relative_to(ROOT)}")
    print(
        "\nthe admin: cd demo && ../.venv/bin/mailer serve, then open "
        f"http://127.0.0.1:8000/admin and sign in as {ADMIN} with the password {PASSWORD!r}"
    )


if __name__ == "__main__":
    main()
