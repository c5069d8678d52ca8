"""Benchmark: the SMTP backend against Postfix's smtp-sink on loopback.

Target (issue: delivery): 2,000 messages/s or more on 2 cores without DKIM, for a
realistic newsletter of about 20 KB of HTML with per-recipient tokens. Prints messages/s
without DKIM and with DKIM (rsa-sha256, 2048 bits), and the process's peak RSS.

smtp-sink comes with Postfix (Debian: ``apt-get install postfix``, "No configuration");
this script starts it on a free port and stops it at the end.

    .venv/bin/python bench/smtp_sink.py [--messages 100000] [--concurrency 4]
                                        [--dkim-messages 5000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.delivery.dkim import DkimSigner
from mailer.delivery.headers import list_headers
from mailer.delivery.message import Batch, Content, Outcome, Recipient
from mailer.delivery.smtp import SmtpBackend
from mailer.settings.keys import load_private_key
from mailer.settings.smtp_url import parse_smtp_url

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Günter", "Hiro", "Ines", "José"]
BATCH = 1000

ARTICLE = """\
<tr><td style="padding:24px 32px 8px 32px;font-family:Georgia,'Times New Roman',serif">
<img src="https://cdn.news.example.org/img/{n}/hero-600.jpg" width="536" height="300" \
alt="Photo for story {n}" style="display:block;width:100%;max-width:536px;height:auto;border:0">
<h2 style="margin:16px 0 8px 0;font-size:24px;line-height:30px;color:#1f1f1f;\
font-weight:bold">Council approves budget for the new riverside library, story {n}</h2>
<p style="margin:0 0 12px 0;font-size:16px;line-height:24px;color:#333333">After months of \
debate the council voted 31 to 12 on Tuesday to fund the library. Construction is to begin \
in spring, and the building is to open in two years, officials said. Residents who spoke at \
the meeting were divided over the cost, which grew by a fifth since the first plans.</p>
<p style="margin:0 0 12px 0;font-size:16px;line-height:24px;color:#333333">"We have waited a \
long time for this," said one resident, %%first_name%%, you can read the whole story and the \
reactions on our site. Caf\u00e9 owners near the site hope for more visitors \u2615.</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>
<td style="border-radius:4px;background:#b3261e"><a href="https://news.example.org/2024/\
story-{n}?utm_source=example-times&amp;utm_medium=email&amp;utm_campaign=weekly-42&amp;\
sid=%%subscriber_id%%" style="display:inline-block;padding:10px 18px;font-family:Arial,\
sans-serif;font-size:15px;color:#ffffff;text-decoration:none">Read more</a></td></tr></table>
</td></tr>
"""

HTML = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    "<title>The Example Times weekly</title></head>"
    '<body style="margin:0;padding:0;background:#f6f1e7">'
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
    'style="background:#f6f1e7"><tr><td align="center">'
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
    'style="width:600px;max-width:600px;background:#ffffff">'
    '<tr><td style="padding:24px 32px;font-family:Georgia,serif;font-size:28px;'
    'color:#1f1f1f">The Example Times</td></tr>'
    '<tr><td style="padding:0 32px;font-family:Arial,sans-serif;font-size:15px;color:#555">'
    "Good morning, %%first_name%%. Here is your week in review.</td></tr>"
    + "".join(ARTICLE.format(n=n) for n in range(1, 14))
    + '<tr><td style="padding:24px 32px;font-family:Arial,sans-serif;font-size:12px;'
    'line-height:18px;color:#777777">You get this because you subscribed to the weekly '
    'newsletter. <a href="%%unsubscribe_url%%" style="color:#777777">Unsubscribe</a> or '
    '<a href="https://news.example.org/preferences/%%subscriber_id%%" style="color:#777777">'
    "change your preferences</a>.<br>The Example Times, 1 Example Street, Springfield</td>"
    "</tr></table></td></tr></table>"
    '<img src="https://news.example.org/o/%%subscriber_id%%.gif" width="1" height="1" alt="">'
    "</body></html>"
)

TEXT = (
    "The Example Times\n\nGood morning, %%first_name%%. Here is your week in review.\n\n"
    + "".join(
        f"Council approves budget for the new riverside library, story {n}\n"
        "After months of debate the council voted 31 to 12 on Tuesday to fund the library.\n"
        f"Read more: https://news.example.org/2024/story-{n}?sid=%%subscriber_id%%\n\n"
        for n in range(1, 14)
    )
    + "Unsubscribe: %%unsubscribe_url%%\n"
)


def newsletter() -> Content:
    """The shared content of the benchmarks' mailing."""
    return Content(
        subject="The week in review, %%first_name%%",
        html=HTML,
        text=TEXT,
        from_address="newsletter@news.example.org",
        from_name="The Example Times",
        reply_to="editor@news.example.org",
        headers={"List-Id": "<weekly.news.example.org>", "Precedence": "bulk"},
        campaign="weekly-42",
    )


def recipients(count: int) -> Iterator[Recipient]:
    """``count`` recipients, made one at a time so that memory stays flat."""
    for i in range(count):
        unsubscribe = f"https://news.example.org/u/{i:08x}c0ffee{i * 7919 % 99991:05d}"
        yield Recipient(
            delivery_id=f"b{i:08d}",
            email=f"reader{i}@mail{i % 500}.example.com",
            name=f"{FIRST[i % len(FIRST)]} Reader",
            substitutions={
                "%%first_name%%": FIRST[i % len(FIRST)],
                "%%subscriber_id%%": f"s{i}",
                "%%unsubscribe_url%%": unsubscribe,
            },
            headers=list_headers(
                "weekly.news.example.org", unsubscribe, "unsubscribe@news.example.org"
            ),
        )


def batches(count: int) -> Iterator[Batch]:
    content = newsletter()
    people = recipients(count)
    while chunk := list(islice(people, BATCH)):
        yield Batch(content, chunk)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not Path(sink).exists():
        sys.exit("smtp-sink not found: apt-get install postfix (choose 'No configuration')")
    # As root smtp-sink wants a user to drop to; -c counts, 1000 is the listen backlog.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = subprocess.Popen(
        [sink, *user, "-c", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):  # up to 10 s for it to listen
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                sys.exit(f"smtp-sink exited with {process.returncode}")
            time.sleep(0.05)
    process.kill()
    sys.exit("smtp-sink did not start listening")


def run(url: str, messages: int, concurrency: int, dkim: DkimSigner | None) -> float:
    backend = SmtpBackend(parse_smtp_url(url), concurrency=concurrency, dkim=dkim)
    sent = 0
    start = time.perf_counter()
    with backend:
        for batch in batches(messages):
            results = backend.send_batch(batch)
            sent += sum(result.outcome is Outcome.SENT for result in results)
    elapsed = time.perf_counter() - start
    if sent != messages:
        sys.exit(f"only {sent} of {messages} messages were accepted")
    return messages / elapsed


def dkim_signer() -> DkimSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return DkimSigner(load_private_key(pem.decode()), "bench", "news.example.org")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--dkim-messages", type=int, default=5_000, help="0 to skip")
    args = parser.parse_args()

    probe = next(batches(1))
    from mailer.delivery.mime import MessageBuilder

    size = len(MessageBuilder(probe.content).build(probe.recipients[0]))
    print(f"newsletter: {len(HTML.encode()):,} bytes of HTML, {size:,} bytes per message")

    port = free_port()
    sink = start_sink(port)
    try:
        url = f"smtp://127.0.0.1:{port}?helo=bench.example.org"
        rate = run(url, args.messages, args.concurrency, None)
        print(
            f"without DKIM: {args.messages:,} messages, {rate:,.0f} messages/s "
            f"({args.concurrency} connections)"
        )
        if args.dkim_messages:
            rate = run(url, args.dkim_messages, args.concurrency, dkim_signer())
            print(f"with DKIM:    {args.dkim_messages:,} messages, {rate:,.0f} messages/s")
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
