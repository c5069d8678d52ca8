"""Benchmark: the SendGrid backend, official client and all, against a local mail/send.

Target (issue: delivery): 1,000,000 recipients at 20,000 recipients/s or more, in at most
1,000 requests, with the sending process's peak RSS under 200 MB. Recipients are made
one at a time and sent in batches of 1,000, so memory stays flat. The server is a small
asyncio HTTP server in a process of its own that reads each body, counts its
personalizations and answers 202 like SendGrid.

    .venv/bin/python bench/sendgrid_send.py [--recipients 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The same newsletter and recipients as the SMTP benchmark.
from smtp_sink import batches

from mailer.delivery.message import Outcome
from mailer.delivery.sendgrid import SendGridBackend


def serve(ready: Connection) -> None:
    """Answer POST /v3/mail/send with 202, and GET /stats with what came in."""
    stats = {"requests": 0, "recipients": 0, "bytes": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        body = await reader.readexactly(int(headers.get("Content-Length", "0")))
        if request_line.startswith("POST /v3/mail/send"):
            stats["requests"] += 1
            stats["bytes"] += len(body)
            # Counting keys is enough to check that nobody went missing; parsing every
            # body would make the server the bottleneck.
            stats["recipients"] += body.count(b'"mailer_delivery"')
            answer = (
                f"HTTP/1.1 202 Accepted\r\nX-Message-Id: bench{stats['requests']}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            ).encode()
        else:
            payload = json.dumps(stats).encode()
            answer = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            ).encode() + payload
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=128)
        ready.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    try:
        if not ours.poll(10):
            sys.exit("the local mail/send server did not start")
        host = f"http://127.0.0.1:{ours.recv()}"
        backend = SendGridBackend("SG.bench", host=host)
        sent = 0
        start = time.perf_counter()
        for batch in batches(args.recipients):
            results = backend.send_batch(batch)
            sent += sum(result.outcome is Outcome.SENT for result in results)
        elapsed = time.perf_counter() - start
        with urllib.request.urlopen(f"{host}/stats", timeout=10) as response:
            stats = json.load(response)
    finally:
        server.terminate()
        server.join(10)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if sent != args.recipients or stats["recipients"] != args.recipients:
        sys.exit(f"sent {sent:,}, server saw {stats['recipients']:,} of {args.recipients:,}")
    print(f"recipients: {args.recipients:,} in {elapsed:.1f} s, {sent / elapsed:,.0f} recipients/s")
    print(
        f"requests: {stats['requests']:,} "
        f"({stats['bytes'] / stats['requests'] / 1024:,.0f} KB each on average)"
    )
    print(f"peak RSS of the sending process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
