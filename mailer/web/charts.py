"""A campaign's opens and clicks over time as an SVG chart, drawn on the server: no
JavaScript, nothing from a CDN, and the same picture in every browser and in a PDF.

The chart is an image with a title and a label for screen readers; the table of the
same numbers, for those who want them, is the page's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from mailer.campaigns.report import Bucket

__all__ = ["Layout", "timeline_chart"]


@dataclass(frozen=True)
class Layout:
    width: int = 640
    height: int = 260
    left: int = 48  # room for the counts
    right: int = 16
    top: int = 16
    bottom: int = 40  # room for the times and the legend

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom


def _nice_max(value: int) -> int:
    """The top of the count axis: 1, 2 or 5 times a power of ten, at least ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _x(layout: Layout, index: int, count: int) -> float:
    if count <= 1:
        return layout.left + layout.plot_width / 2
    return layout.left + layout.plot_width * index / (count - 1)


def _y(layout: Layout, value: int, top: int) -> float:
    return layout.top + layout.plot_height * (1 - value / top)


def _points(layout: Layout, values: Sequence[int], top: int) -> str:
    return " ".join(
        f"{_x(layout, i, len(values)):.1f},{_y(layout, v, top):.1f}" for i, v in enumerate(values)
    )


def _axes(layout: Layout, buckets: Sequence[Bucket], top: int) -> list[str]:
    bottom = layout.top + layout.plot_height
    parts = [
        f'<line class="axis" x1="{layout.left}" y1="{bottom}" x2="{layout.width - layout.right}" '
        f'y2="{bottom}" stroke="#555"/>',
        f'<line class="axis" x1="{layout.left}" y1="{layout.top}" x2="{layout.left}" '
        f'y2="{bottom}" stroke="#555"/>',
    ]
    for value in (0, top // 2, top):
        y = _y(layout, value, top)
        parts.append(
            f'<text class="y-label" x="{layout.left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{value:,}</text>'
        )
    # At most six time labels, the first and the last among them.
    count = len(buckets)
    shown = sorted({round(k * (count - 1) / 5) for k in range(6)}) if count > 1 else [0]
    for index in shown if count else []:
        label = escape(buckets[index].start.strftime("%d %b %H:%M"))
        parts.append(
            f'<text class="x-label" x="{_x(layout, index, count):.1f}" y="{bottom + 16}" '
            f'text-anchor="middle">{label}</text>'
        )
    return parts


def _legend(layout: Layout) -> list[str]:
    y = layout.height - 6
    return [
        f'<rect x="{layout.left}" y="{y - 9}" width="10" height="10" fill="#1f5fa8"/>',
        f'<text x="{layout.left + 14}" y="{y}">Opens</text>',
        f'<rect x="{layout.left + 80}" y="{y - 9}" width="10" height="10" fill="#b3261e"/>',
        f'<text x="{layout.left + 94}" y="{y}">Clicks</text>',
    ]


def timeline_chart(
    buckets: Sequence[Bucket], *, title: str, unique: bool = False, layout: Layout | None = None
) -> Markup:
    """Opens and clicks per bucket (``unique``: messages rather than events) as two
    lines, with the counts on the left and the times below."""
    layout = layout or Layout()
    opens = [b.unique_opens if unique else b.opens for b in buckets]
    clicks = [b.unique_clicks if unique else b.clicks for b in buckets]
    top = _nice_max(max([*opens, *clicks, 1]))
    label = escape(
        f"{title}: {sum(opens):,} opens and {sum(clicks):,} clicks"
        + (
            f" from {buckets[0].start:%d %b %H:%M} to {buckets[-1].end:%d %b %H:%M} UTC"
            if buckets
            else ""
        )
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'viewBox="0 0 {layout.width} {layout.height}" width="{layout.width}" '
        f'height="{layout.height}" font-family="sans-serif" font-size="11" class="chart">',
        f"<title>{escape(title)}</title>",
        *_axes(layout, buckets, top),
        *_legend(layout),
    ]
    for name, values, colour in (("opens", opens, "#1f5fa8"), ("clicks", clicks, "#b3261e")):
        if values:
            parts.append(
                f'<polyline class="series {name}" fill="none" stroke="{colour}" '
                f'stroke-width="2" points="{_points(layout, values, top)}"/>'
            )
    parts.append("</svg>")
    return Markup("\n".join(parts))
