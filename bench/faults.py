"""Fault injection: a whole campaign sent to a server that misbehaves, while the sender
is killed with SIGKILL at random moments and resumed until the campaign is sent.

For each backend a project folder is made with the CLI (``mailer init``, ``lists
create``, ``subscribers import``, ``campaigns create``, on SQLite), and ``mailer
campaigns send`` runs as a subprocess against a local server from bench/fault_servers.py:

- SMTP (aiosmtpd, PIPELINING): 421 and hang-ups at MAIL, 451, 452 and 550 to RCPT,
  hang-ups before the data, after the data (nothing kept), and after keeping the message
  (1 %: the answer is lost, the server has the message);
- SendGrid: 429 with X-RateLimit-Reset, 500 and 503, and 1 % (``--sendgrid-lost``) of
  the requests taken and hung up on without an answer.

The sender is killed (-9) when the server has kept a random number of messages, then
``mailer campaigns resume`` goes on. Retries are due 1, 5 and 30 minutes after a
deferral: when the sender says it waits for them, the bench stops it (Ctrl-C, a pause),
moves the retries' time to now in the ledger, and resumes, as if the time had passed.
At the end it compares what the server kept with the ledger, per recipient:

- two copies or more: must be 0 (at most once);
- never sent and not listed ``unknown`` or ``failed``: must be 0 (nobody is lost);
- listed ``failed``, or suppressed, although the server kept the message: must be 0.

    .venv/bin/python bench/faults.py [--backend smtp|sendgrid|both] [--recipients 20000]
                                     [--kills 4] [--seed 1] [--sendgrid-lost 0.01]

Exits 1 if one of the three is not 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fault_servers import FakeSendGrid, FaultySmtp  # noqa: E402

from mailer.addresses import address_hash  # noqa: E402

PAUSED = 3  # mailer campaigns send/resume: the campaign paused
WAITING = "waiting to be retried"  # what the sender prints while only retries are left


class Server(Protocol):
    @property
    def kept(self) -> Counter[str]: ...
    @property
    def seen(self) -> Counter[str]: ...

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Run:
    """One backend's fault run: what happened on the way."""

    backend: str
    kills: int = 0
    fast_forwards: int = 0
    pauses: int = 0
    runs: int = 0
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["smtp", "sendgrid", "both"], default="both")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=4, help="SIGKILLs of the sender per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sendgrid-lost",
        type=float,
        default=0.01,
        help="share of SendGrid requests taken and then left without an answer",
    )
    parser.add_argument("--keep", type=Path, help="make the project folders here and keep them")
    args = parser.parse_args()
    backends = ["smtp", "sendgrid"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        base = args.keep or Path(tempfile.mkdtemp(prefix="mailer-faults-"))
        folder = base / backend
        ok = fault_run(backend, folder, args) and ok
    sys.exit(0 if ok else 1)


def fault_run(backend: str, folder: Path, args: argparse.Namespace) -> bool:
    rng = random.Random(args.seed)
    server: Server
    if backend == "smtp":
        server = FaultySmtp(args.seed)
    else:
        server = FakeSendGrid(args.seed, lost=args.sendgrid_lost)
    server.start()
    try:
        config, campaign_id = set_up(folder, backend, server, args.recipients)
        run = Run(backend)
        started = time.perf_counter()
        # Messages kept by the server when the sender is killed: while most of them
        # are still to go, so that every kill happens.
        moments = range(args.recipients // 20, args.recipients * 3 // 5)
        kill_at = sorted(rng.sample(moments, args.kills))
        send_until_done(config, campaign_id, server, kill_at, run)
        run.seconds = time.perf_counter() - started
    finally:
        server.stop()
    return report(run, config, campaign_id, server, args.recipients)


def set_up(folder: Path, backend: str, server: Server, recipients: int) -> tuple[Path, int]:
    """A project folder made with the CLI, its subscribers and a campaign to them."""
    folder.mkdir(parents=True, exist_ok=True)
    mailer(
        None,
        "init",
        str(folder),
        "--name",
        "The Example Times",
        "--from",
        "newsletter@example-times.org",  # real mail refuses a sender at example.org
        "--postal-address",
        "1 Example Street, Springfield",
        "--base-url",
        "https://news.example.org",
    )
    config = folder / "mailer.toml"
    if isinstance(server, FaultySmtp):
        settings = f'smtp_url = "{server.url}?concurrency=4"\nsend_batch_size = 200\n'
    else:
        assert isinstance(server, FakeSendGrid)
        # Batches of 100, so that 20,000 recipients make 200 requests to draw faults for.
        settings = (
            f'sendgrid_api_key = "SG.faults"\nsendgrid_host = "{server.host}"\n'
            "send_batch_size = 100\n"
        )
    text = config.read_text(encoding="utf-8").replace(
        'backend = "outbox"', f'backend = "{backend}"'
    )
    # init's donate box points at a placeholder, which real mail refuses.
    text = text.replace("https://example.org/donate", "https://give.example-times.org/donate")
    config.write_text(settings + text, encoding="utf-8")

    members = folder / "members.csv"
    with members.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email Address", "First Name", "Last Name"])
        for number in range(recipients):
            writer.writerow([f"reader{number}@example.com", f"Reader{number}", "Example"])
    mailer(config, "lists", "create", "faults")
    mailer(config, "subscribers", "import", str(members), "--list", "faults")
    created = mailer(
        config,
        "campaigns",
        "create",
        "--article",
        str(ROOT / "examples" / "article.md"),
        "--list",
        "faults",
        "--cta",
        "none",
        "--subject",
        "{{ subscriber.first_name or 'Friend' }}, the week",
        "--json",
    )
    return config, int(json.loads(created)["id"])


def mailer(config: Path | None, *args: str) -> str:
    where = ["--config", str(config)] if config is not None else []
    done = subprocess.run(
        [sys.executable, "-m", "mailer", *where, *args],
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"mailer {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def send_until_done(
    config: Path, campaign_id: int, server: Server, kill_at: list[int], run: Run
) -> None:
    """Send, kill at each of ``kill_at`` (messages kept by the server), resume, until
    the campaign is sent."""
    for _ in range(len(kill_at) + 200):  # bounded: every run makes progress or stops
        command = "send" if status(config, campaign_id) == "draft" else "resume"
        run.runs += 1
        with sender(config, command, campaign_id) as (process, waiting, lines):
            while process.poll() is None:
                if kill_at and sum(server.kept.values()) >= kill_at[0]:
                    process.send_signal(signal.SIGKILL)
                    kill_at.pop(0)
                    run.kills += 1
                    break
                if waiting.is_set():
                    process.send_signal(signal.SIGINT)  # a pause, after the wait ends
                    waiting.clear()
                time.sleep(0.01)
            code = process.wait()
        if code == 0:
            return
        if code == PAUSED:
            paused = [line for line in lines if line.startswith("paused: ")]
            if paused and "interrupted" not in paused[0]:
                run.pauses += 1
                run.reasons.append(paused[0])
            run.fast_forwards += fast_forward(config, campaign_id)
            continue
        if code == -signal.SIGKILL:
            continue
        sys.exit(f"mailer campaigns {command} exited {code}:\n" + "\n".join(lines[-20:]))
    sys.exit("the campaign was not sent after 200 runs")


@contextmanager
def sender(
    config: Path, command: str, campaign_id: int
) -> Iterator[tuple[subprocess.Popen[str], threading.Event, list[str]]]:
    """``mailer campaigns COMMAND ID`` running, an event set when it says it waits for
    retries, and the lines it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), "campaigns", command,
         str(campaign_id)],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    waiting = threading.Event()
    lines: list[str] = []

    def read(stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))
            if WAITING in line:
                waiting.set()

    readers = [
        threading.Thread(target=read, args=(stream,), daemon=True)
        for stream in (process.stdout, process.stderr)
    ]
    for reader in readers:
        reader.start()
    try:
        yield process, waiting, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for reader in readers:
            reader.join()


def database(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "var" / "mailer.db", timeout=30)


def status(config: Path, campaign_id: int) -> str:
    with database(config) as conn:
        (value,) = conn.execute(
            "SELECT status FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()
    return str(value).lower()


def fast_forward(config: Path, campaign_id: int) -> int:
    """Make the retries due now, as if their minutes had passed; returns how many."""
    conn = database(config)
    try:
        with conn:
            changed = conn.execute(
                "UPDATE deliveries SET next_attempt_at = NULL WHERE campaign_id = ? "
                "AND lower(status) = 'pending' AND next_attempt_at IS NOT NULL",
                (campaign_id,),
            ).rowcount
    finally:
        conn.close()
    return 1 if changed else 0


def report(run: Run, config: Path, campaign_id: int, server: Server, recipients: int) -> bool:
    conn = database(config)
    try:
        rows = conn.execute(
            "SELECT s.email, s.email_key, d.status, d.bounced FROM deliveries d "
            "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = ?",
            (campaign_id,),
        ).fetchall()
        suppressed = {h for (h,) in conn.execute("SELECT address_hash FROM suppressions")}
    finally:
        conn.close()
    kept = server.kept
    states: Counter[str] = Counter()
    twice = lost = wrongly_failed = unknown_kept = bounced = 0
    for email, key, stored, bounce in rows:
        state = str(stored).lower()
        states[state] += 1
        copies = kept.get(email, 0)
        bounced += bool(bounce)
        twice += copies >= 2
        lost += copies == 0 and state not in ("unknown", "failed")
        wrongly_failed += copies >= 1 and (state == "failed" or address_hash(key) in suppressed)
        unknown_kept += copies >= 1 and state == "unknown"
    faults = ", ".join(f"{name} {count:,}" for name, count in sorted(server.seen.items()))
    print(
        f"{run.backend}: {recipients:,} recipients in {run.seconds:.1f} s; "
        f"{run.runs} runs of the sender: {run.kills} killed with SIGKILL, "
        f"{run.fast_forwards} stopped to make the retries due, {run.pauses} paused "
        "by the error threshold"
    )
    for reason in run.reasons:
        print(f"  {reason}")
    print(f"  the server kept {sum(kept.values()):,} messages; it answered or did: {faults}")
    other = sum(states.values()) - states["sent"] - states["unknown"] - states["failed"]
    print(
        f"  ledger: sent {states['sent']:,}, unknown {states['unknown']:,} (the server "
        f"kept {unknown_kept:,} of them), failed {states['failed']:,} ({bounced:,} as "
        f"bounces), other {other:,}"
    )
    print(f"  messages sent: {sum(kept.values()):,}")
    print(f"  recipients who got two copies: {twice:,} (must be 0)")
    print(f"  recipients never sent and not listed unknown or failed: {lost:,} (must be 0)")
    print(f"  recipients listed failed or suppressed although they got it: {wrongly_failed:,} "
          "(must be 0)")  # fmt: skip
    return twice == lost == wrongly_failed == 0


if __name__ == "__main__":
    main()
