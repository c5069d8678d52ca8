"""Benchmark: render the example article once, then personalise it for many subscribers.

Targets (issue: articles to email-safe HTML): one article rendered and inlined in under
0.5 s; personalised messages (subject, HTML and text, each filled for one subscriber) at
50,000 or more per second on one core, for 100,000 subscribers.

    .venv/bin/python bench/render.py [--subscribers 100000] [--article examples/article.md]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailer.articles import load_article
from mailer.rendering import Filler, render_email
from mailer.settings import CtaSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Günter", "Hiro", "Ines", "José", ""]
LAST = ["Lee", "Smith", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva", "Tan"]


def settings(folder: Path) -> Settings:
    return Settings(
        base_dir=folder,
        secret_key="bench-secret-key-0123456789",
        publisher_name="The Example Times",
        postal_address="1 Example Street, Springfield",
        base_url="https://news.example.org",
        cta={
            "donate": CtaSettings(
                heading="Keep local news free for everyone",
                text="Stories like this one are paid for by readers, not advertisers.",
                button_label="Give to the newsroom",
                url="https://news.example.org/donate",
                amounts=[5, 10, 25],
                gifts=["$5 pays for an hour of fact-checking", "$25 a day in court"],
                placement=3,
            )
        },
    )


def subscribers(count: int) -> list[dict[str, object]]:
    rng = random.Random(42)
    contexts: list[dict[str, object]] = []
    for i in range(count):
        first = rng.choice(FIRST)
        name = f"{first} {rng.choice(LAST)}" if first else ""
        contexts.append(
            {
                "subscriber": {
                    "email": f"user{i}@example.com",
                    "name": name,
                    "attributes": {"country": rng.choice(["DE", "US", "JP", "FR"])},
                    "tags": [],
                    "timezone": None,
                },
                "unsubscribe_url": f"https://news.example.org/u/{i:08d}.{rng.getrandbits(128):032x}",
                "preferences_url": f"https://news.example.org/p/{i:08d}.{rng.getrandbits(128):032x}",
            }
        )
    return contexts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--article", type=Path, default=ROOT / "examples" / "article.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        config = settings(Path(folder))
        article = load_article(args.article)
        subject = '{{ subscriber.first_name or "Hello" }}, ' + article.title

        started = time.perf_counter()
        rendered = render_email(article, config, subject=subject, list_name="Morning Briefing")
        cold = time.perf_counter() - started
        warm_times = []
        for _ in range(5):
            started = time.perf_counter()
            render_email(article, config, subject=subject, list_name="Morning Briefing")
            warm_times.append(time.perf_counter() - started)
        print(f"article: {args.article.name}, {len(article.blocks)} blocks")
        print(
            f"render + inline, first (templates compiled): {cold * 1000:.0f} ms; "
            f"then median {statistics.median(warm_times) * 1000:.0f} ms (target < 500 ms)"
        )
        print(
            f"HTML {len(rendered.html.encode()) / 1024:.1f} KB, "
            f"text {len(rendered.text.encode()) / 1024:.1f} KB, "
            f"tokens: {', '.join(sorted(rendered.tokens))}"
        )

        contexts = subscribers(args.subscribers)
        fillers = [Filler(rendered.subject), Filler(rendered.html), Filler(rendered.text)]
        total = 0
        started = time.perf_counter()
        for context in contexts:
            values = rendered.substitutions(context)
            for filler in fillers:
                total += len(filler.fill(values))
        elapsed = time.perf_counter() - started
        rate = len(contexts) / elapsed
        print(
            f"personalised {len(contexts):,} messages (subject, HTML, text) in {elapsed:.2f} s: "
            f"{rate:,.0f} messages/s (target >= 50,000/s); {total / 1e9:.2f} GB of text built"
        )


if __name__ == "__main__":
    main()
