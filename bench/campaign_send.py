"""Benchmark: a whole campaign, ledger and all, through SMTP or SendGrid.

Unlike bench/smtp_sink.py and bench/sendgrid_send.py, which time the backends alone, this
imports the subscribers into SQLite, renders examples/article.md into a campaign, and
sends it with the same CampaignSender that `mailer campaigns send` uses: claiming rows
from the ledger, personalising each message (subject, tokens, signed unsubscribe links),
handing batches over and recording every outcome.

    .venv/bin/python bench/campaign_send.py smtp [--recipients 100000]
    .venv/bin/python bench/campaign_send.py sendgrid [--recipients 1000000]

Targets (issue: delivery): SMTP to Postfix's smtp-sink on loopback at 2,000 messages/s
or more; SendGrid to a local mail/send at 20,000 recipients/s or more in at most 1,000
requests with peak RSS under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_subscribers import generate  # noqa: E402
from sendgrid_send import serve  # noqa: E402
from smtp_sink import free_port, start_sink  # noqa: E402

from mailer.campaigns import actions  # noqa: E402
from mailer.campaigns.sender import CampaignSender  # noqa: E402
from mailer.delivery.backends import get_backend  # noqa: E402
from mailer.settings import Settings  # noqa: E402
from mailer.storage import open_database  # noqa: E402
from mailer.subscribers.importer import import_file  # noqa: E402
from mailer.subscribers.lists import create_list  # noqa: E402

CTA = {
    "donate": {
        "heading": "Independent news needs you",
        "text": "Our reporting is paid for by readers.",
        "button_label": "Donate",
        "url": "https://give.example-times.org/donate",
        "amounts": [5, 10, 25],
    }
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("backend", choices=["smtp", "sendgrid"])
    parser.add_argument("--recipients", type=int)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--processes", type=int, default=0, help="send_processes")
    args = parser.parse_args()
    count = args.recipients or (100_000 if args.backend == "smtp" else 1_000_000)
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-"))

    started = time.perf_counter()
    # In a process of its own, so that the peak memory printed at the end is the
    # sending's alone, not the import's.
    setup = multiprocessing.Process(target=set_up, args=(folder, count))
    setup.start()
    setup.join()
    if setup.exitcode != 0:
        sys.exit(f"setting up the subscribers failed ({setup.exitcode})")
    print(f"set up {count:,} subscribers in {time.perf_counter() - started:.1f} s")
    database = open_database(f"sqlite:///{folder / 'mailer.db'}")

    server: multiprocessing.Process | None = None
    sink = None
    if args.backend == "smtp":
        port = free_port()
        sink = start_sink(port)
        extra = {"smtp_url": f"smtp://127.0.0.1:{port}?concurrency={args.concurrency}"}
        batch_size = 500
    else:
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.Process(target=serve, args=(theirs,), daemon=True)
        server.start()
        if not ours.poll(10):
            sys.exit("the local mail/send server did not start")
        host = f"http://127.0.0.1:{ours.recv()}"
        extra = {"sendgrid_api_key": "SG.bench", "sendgrid_host": host}
        batch_size = 1000
    settings = Settings(
        base_dir=folder,
        database_url=f"sqlite:///{folder / 'mailer.db'}",
        secret_key="bench-secret-key-0123456789abcdef",
        base_url="https://news.example.org",
        # Real-mail backends refuse a sender at example.org (RFC 2606): a made-up domain.
        from_address="newsletter@example-times.org",
        publisher_name="The Example Times",
        postal_address="1 Example Street, Springfield",
        backend=args.backend,
        send_batch_size=batch_size,
        send_processes=args.processes,
        cta=CTA,
        **extra,
    )
    try:
        with database.session() as session:
            campaign_id = actions.create(
                session,
                settings,
                article=str(ROOT / "examples" / "article.md"),
                lists=["bench"],
                subject="{{ subscriber.first_name or 'Friend' }}, the week in Millbrook",
            ).id
        sender = CampaignSender(database, settings, get_backend(settings), batch_size=batch_size)
        started = time.perf_counter()
        outcome = sender.send(campaign_id)
        elapsed = time.perf_counter() - started
        sent = outcome.counts.get("sent", 0)
        print(
            f"{args.backend}: campaign {outcome.status.value}, {sent:,} of {count:,} messages in "
            f"{elapsed:.1f} s = {sent / elapsed:,.0f} messages/s (ledger, personalisation and all)"
        )
        others = {k: v for k, v in outcome.counts.items() if k != "sent" and v}
        if others:
            # The generated list has a few addresses with non-ASCII local parts, which need
            # SMTPUTF8: smtp-sink does not offer it and SendGrid's mail/send does not take
            # them, so both fail them rather than send them mangled.
            print(f"not sent: {others}")
        if server is not None:
            with urllib.request.urlopen(f"{extra['sendgrid_host']}/stats", timeout=10) as answer:
                stats = json.load(answer)
            seen = stats["recipients"]
            print(f"requests: {stats['requests']:,}; recipients the server saw: {seen:,}")
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(10)
        if server is not None:
            server.terminate()
            server.join(10)
        database.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the sending process: {peak:,.0f} MB")


def set_up(folder: Path, count: int) -> None:
    generate(folder / "people.csv", count)
    with open_database(f"sqlite:///{folder / 'mailer.db'}") as database:
        with database.session() as session:
            create_list(session, "bench")
        import_file(database, folder / "people.csv", "bench", confirmed=True)


if __name__ == "__main__":
    main()
