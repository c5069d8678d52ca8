"""Benchmark: a campaign sent by 1, 2 and 4 ``mailer worker`` processes (dispatch =
"procrastinate"), beside today's single process, over SMTP with DKIM signing
(rsa-sha256, 2048 bits) to Postfix's smtp-sink on loopback, where CPU is what limits.

Target (issue 16): with two workers on two cores, at least 1.8 times one worker's rate.

The subscribers, the campaigns and the job queue live in the PostgreSQL database given,
whose public schema this script empties first: give it a database of its own.

    .venv/bin/python bench/workers.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
                                      [--recipients 3000] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from campaign_send import CTA  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from import_subscribers import generate  # noqa: E402
from smtp_sink import free_port, start_sink  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from mailer.campaigns import actions  # noqa: E402
from mailer.settings import Settings  # noqa: E402
from mailer.storage import Database, open_database  # noqa: E402
from mailer.subscribers.importer import import_file  # noqa: E402
from mailer.subscribers.lists import create_list  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("MAILER_BENCH_DATABASE_URL"))
    parser.add_argument("--recipients", type=int, default=3_000)
    parser.add_argument("--workers", default="1,2,4", help="worker processes, comma-separated")
    args = parser.parse_args()
    if not args.database_url:
        # make bench runs every benchmark; this one needs a database of its own.
        print("bench/workers.py skipped: set MAILER_BENCH_DATABASE_URL to a PostgreSQL database")
        return
    if not args.database_url.startswith("postgresql"):
        sys.exit(f"--database-url must be a PostgreSQL database, not {args.database_url}")
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-workers-"))
    key = folder / "dkim.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    database = set_up(args.database_url, folder, args.recipients)
    port = free_port()
    sink = start_sink(port)
    smtp_url = f"smtp://127.0.0.1:{port}"
    print(f"{args.recipients:,} recipients, SMTP with DKIM to smtp-sink, {os.cpu_count()} cores")
    try:
        single = send(database, settings(folder, args.database_url, smtp_url, "local"))
        print(f"{'one process (dispatch = local):':36}{single:,.0f} messages/s")
        rates = {}
        for count in (int(n) for n in args.workers.split(",")):
            workers = start_workers(folder, args.database_url, smtp_url, count)
            try:
                queued = settings(folder, args.database_url, smtp_url, "procrastinate")
                rates[count] = send(database, queued)
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(30)
            ratio = f" ({rates[count] / rates[1]:.2f} x one worker)" if 1 in rates else ""
            label = f"{count} worker process{'es' if count > 1 else ''}:"
            print(f"{label:36}{rates[count]:,.0f} messages/s{ratio}")
    finally:
        sink.terminate()
        sink.wait(10)
        database.close()


def set_up(url: str, folder: Path, count: int) -> Database:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    database = open_database(url)
    generate(folder / "people.csv", count)
    with database.session() as session:
        create_list(session, "bench")
    import_file(database, folder / "people.csv", "bench", confirmed=True)
    return database


def settings(folder: Path, url: str, smtp_url: str, dispatch: str) -> Settings:
    return Settings(
        base_dir=folder,
        database_url=url,
        secret_key=SECRET,
        base_url="https://news.example.org",
        from_address="newsletter@example-times.org",
        publisher_name="The Example Times",
        postal_address="1 Example Street, Springfield",
        backend="smtp",
        smtp_url=smtp_url,
        dkim_private_key=str(folder / "dkim.pem"),
        dkim_selector="mail",
        dkim_domain="example-times.org",
        # Batches small enough for four workers to share a few thousand recipients.
        send_batch_size=100,
        dispatch=dispatch,
        cta=CTA,
    )


def start_workers(
    folder: Path, url: str, smtp_url: str, count: int
) -> list[subprocess.Popen[bytes]]:
    """``count`` workers, each with a file of its own holding the database URL and the
    secrets; returns once each says it is on the queue."""
    workers = []
    for n in range(count):
        home = folder / f"worker-{n}"
        home.mkdir(exist_ok=True)
        (home / "mailer.toml").write_text(
            f'database_url = "{url}"\nsecret_key = "{SECRET}"\nsmtp_url = "{smtp_url}"\n'
            # The key is a secret; its selector and domain go with it (the sender's own
            # come with each job).
            f'dkim_private_key = "{folder / "dkim.pem"}"\n'
            'dkim_selector = "mail"\ndkim_domain = "example-times.org"\n',
            encoding="utf-8",
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "mailer", "--config", str(home / "mailer.toml"), "worker"],
                cwd=home,
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        )
    for worker in workers:
        assert worker.stderr is not None
        said = []
        for line in worker.stderr:
            said.append(line.decode(errors="replace"))
            if b"on queue" in line:
                break
        else:
            sys.exit("a worker stopped before it took jobs:\n" + "".join(said))
        # Its later lines go nowhere: a pipe nobody reads would fill and block it.
        worker.stderr.close()
    return workers


def send(database: Database, config: Settings) -> float:
    with database.session() as session:
        campaign_id = actions.create(
            session, config, article=str(ROOT / "examples" / "article.md"), lists=["bench"]
        ).id
    sender = actions.sender_for(database, config)
    started = time.perf_counter()
    outcome = sender.send(campaign_id)
    elapsed = time.perf_counter() - started
    return outcome.counts.get("sent", 0) / elapsed


if __name__ == "__main__":
    main()
