"""The timeline chart: well-formed SVG, accessible, its points where the data says, and
every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from mailer.campaigns.report import Bucket
from mailer.web.charts import Layout, timeline_chart

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def buckets(opens: list[int], clicks: list[int]) -> list[Bucket]:
    hour = timedelta(hours=1)
    return [
        Bucket(START + i * hour, START + (i + 1) * hour, o, o, c, c)
        for i, (o, c) in enumerate(zip(opens, clicks, strict=True))
    ]


def points(root: ET.Element, name: str) -> list[tuple[float, float]]:
    line = next(e for e in root.iter(f"{SVG}polyline") if name in e.get("class", ""))
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


def test_well_formed_and_accessible() -> None:
    root = ET.fromstring(str(timeline_chart(buckets([4, 10, 2], [1, 3, 0]), title="Issue 7")))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == (
        "Issue 7: 16 opens and 4 clicks from 30 Nov 09:00 to 30 Nov 12:00 UTC"
    )
    assert root.findtext(f"{SVG}title") == "Issue 7"
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0", "5", "10", "Opens", "Clicks", "30 Nov 09:00", "30 Nov 11:00"} <= set(labels)


def test_points_match_the_data() -> None:
    layout = Layout(width=240, height=140, left=40, right=0, top=0, bottom=40)
    chart = timeline_chart(buckets([0, 10, 5], [2, 0, 1]), title="t", layout=layout)
    root = ET.fromstring(str(chart))
    # The axis tops at 10; the plot is 200 wide and 100 high.
    assert points(root, "opens") == [(40.0, 100.0), (140.0, 0.0), (240.0, 50.0)]
    assert points(root, "clicks") == [(40.0, 80.0), (140.0, 100.0), (240.0, 90.0)]


def test_unique_counts_messages() -> None:
    data = [Bucket(START, START + timedelta(hours=1), 9, 3, 4, 2)]
    root = ET.fromstring(str(timeline_chart(data, title="t", unique=True)))
    assert root.get("aria-label", "").startswith("t: 3 opens and 2 clicks")


def test_text_is_escaped() -> None:
    chart = timeline_chart(buckets([1], [0]), title='<script>"&</script>')
    root = ET.fromstring(str(chart))
    assert root.findtext(f"{SVG}title") == '<script>"&</script>'
    assert "<script>" not in str(chart)


def test_empty_timeline_is_still_a_chart() -> None:
    root = ET.fromstring(str(timeline_chart([], title="No opens yet")))
    assert root.get("aria-label") == "No opens yet: 0 opens and 0 clicks"
    assert list(root.iter(f"{SVG}polyline")) == []
