"""Benchmark: how well the readers find an article in a page, scored like the public
article-extraction benchmark (github.com/scrapinghub/article-extraction-benchmark).

Each text is split into lower-case word tokens and counted as word 4-grams (shingles);
per page, TP = shingles both have, FP = predicted only, FN = true only (each divided by
their sum); precision and recall per page (1 and 1 when nothing is true and nothing
predicted), their means over the pages, and F1 of the two means.

For ``html/`` (saved pages) it scores our HTML reader, trafilatura (installed for the
benchmark only: ``pip install trafilatura``) and the whole page's text; for ``text/``
(the same pages as a browser's select-all copy) our plain-text reader and the whole text.
"Our text" is :attr:`Article.body_text`. Keys are split in halves (even and odd by
position in sorted order) so that a change tuned on one half can be checked on the other.

    .venv/bin/python bench/extraction.py [--corpus DIR] [--only html|text] [--worst N]

The corpus is ``../shared/corpora/article-extraction`` by default (``html/<key>.html.gz``,
``text/<key>.txt``, ``ground-truth.json``); without it the benchmark says so and scores
nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailer.articles.furniture import shingles
from mailer.articles.html_page import decode_html, parse_html_page
from mailer.articles.plain_text import parse_text

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "article-extraction"


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(true: str, predicted: str) -> Score:
    expected, got = shingles(true), shingles(predicted)
    tp = sum((expected & got).values())
    fp = sum((got - expected).values())
    fn = sum((expected - got).values())
    if fp == fn == 0:
        return Score(1.0, 1.0)
    total = tp + fp + fn  # normalised as the benchmark does (ratios below are unchanged)
    tp_, fp_, fn_ = tp / total, fp / total, fn / total
    return Score(tp_ / (tp_ + fp_) if tp else 0.0, tp_ / (tp_ + fn_) if tp else 0.0)


def ours_html(data: bytes) -> str:
    return parse_html_page(decode_html(data)).body_text


def trafilatura_html(data: bytes) -> str:
    import trafilatura

    return trafilatura.extract(decode_html(data)) or ""


def whole_html(data: bytes) -> str:
    import trafilatura

    return str(trafilatura.html2txt(decode_html(data)))


def ours_text(data: bytes) -> str:
    return parse_text(data.decode("utf-8")).body_text


def whole_text(data: bytes) -> str:
    return data.decode("utf-8")


READERS: dict[str, dict[str, Callable[[bytes], str]]] = {
    "html": {"ours": ours_html, "trafilatura": trafilatura_html, "whole page": whole_html},
    "text": {"ours": ours_text, "whole page": whole_text},
}


def _page(job: tuple[str, str, Path, str]) -> tuple[str, str, Score, str, float]:
    """One page through one reader: (key, reader, score, error, seconds)."""
    part, reader, path, true = job
    raw = path.read_bytes()
    data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    started = time.perf_counter()
    try:
        predicted, error = READERS[part][reader](data), ""
    except Exception as err:  # a page that raises scores 0 and is counted
        predicted, error = "", f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - started
    return path.name.split(".")[0], reader, score(true, predicted), error, seconds


def _summary(scores: list[Score]) -> str:
    if not scores:
        return "no pages"
    p = statistics.fmean(s.precision for s in scores)
    r = statistics.fmean(s.recall for s in scores)
    return f"F1 {f1(p, r):.3f}  precision {p:.3f}  recall {r:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", choices=sorted(READERS))
    parser.add_argument("--worst", type=int, default=5, help="list the N worst pages of ours")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    truth_file = args.corpus / "ground-truth.json"
    if not truth_file.is_file():
        print(
            f"no corpus at {args.corpus} (no ground-truth.json): nothing scored; give --corpus "
            "a clone of github.com/scrapinghub/article-extraction-benchmark"
        )
        return 0
    truth = {k: v["articleBody"] for k, v in json.loads(truth_file.read_text("utf-8")).items()}
    keys = sorted(truth)
    half = {key: "even" if i % 2 == 0 else "odd" for i, key in enumerate(keys)}
    parts = [args.only] if args.only else list(READERS)
    jobs = []
    for part in parts:
        suffix = ".html.gz" if part == "html" else ".txt"
        for key in keys:
            path = args.corpus / part / f"{key}{suffix}"
            if path.is_file():
                jobs.extend((part, reader, path, truth[key]) for reader in READERS[part])
    started = time.perf_counter()
    with ProcessPoolExecutor(args.processes) as pool:
        results = list(pool.map(_page, jobs, chunksize=4))
    print(f"{len(keys)} pages in {args.corpus}, scored in {time.perf_counter() - started:.1f} s")
    at = 0
    for part in parts:
        count = sum(1 for j in jobs if j[0] == part)
        mine, at = results[at : at + count], at + count
        print(f"\n{part}/")
        for reader in READERS[part]:
            rows = [r for r in mine if r[1] == reader]
            print(f"  {reader:12} {_summary([r[2] for r in rows])}")
            if reader == "ours":
                for name in ("even", "odd"):
                    print(
                        f"    {name} keys   {_summary([r[2] for r in rows if half[r[0]] == name])}"
                    )
                raised = [r for r in rows if r[3]]
                seconds = sum(r[4] for r in rows)
                print(f"    raised on {len(raised)} of {len(rows)} pages; {seconds:.1f} s in all")
                for key, _, s, error, _ in sorted(rows, key=lambda r: r[2].f1)[: args.worst]:
                    why = f"  ({error[:90]})" if error else ""
                    figures = f"F1 {s.f1:.3f} P {s.precision:.2f} R {s.recall:.2f}"
                    print(f"    worst {key[:12]} {figures}{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
