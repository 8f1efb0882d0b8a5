"""Charts as SVG, drawn here on the server: a report's funnel and its time series.

No charting library and no JavaScript: the SVG is part of the page, prints as it shows, and shows
the same numbers as the tables beside it (each bar and point carries its value in a <title>).
Each chart is an image with a name (aria-label): the funnel's name reads its steps and counts, the time
series' name is its heading, its numbers are in the table under it. Labels come in already translated;
every text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

COLOURS = ("#2856d8", "#15803d", "#a16207", "#c0262d")
MUTED = "#5d697e"  # herald.css --muted: small text at 4.5:1 or more on white
SERIES_LABELS = {"sent": "Sent", "delivered": "Delivered", "clicked": "Clicks", "conversions": "Conversions"}


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def funnel_svg(steps: Sequence[tuple[str, int]], *, title: str, width: int = 640) -> Markup:
    """Horizontal bars, one per step, as wide as its share of the first step; the count and share beside it.
    Screen readers hear the title and every step's count."""
    row, label_width, value_width = 30, 130, 130
    bar_space = width - label_width - value_width
    top = max((n for _, n in steps), default=0) or 1
    height = row * len(steps) + 10
    name = f"{title}: " + "; ".join(f"{label} {n:,}" for label, n in steps)
    parts = [f'<svg class="chart chart-funnel" role="img" aria-label="{escape(name)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">']
    first = steps[0][1] if steps else 0
    for i, (label, n) in enumerate(steps):
        y = 5 + i * row
        w = bar_space * n / top
        share = f" · {100 * n / first:.1f}%" if first and i else ""
        parts.append(
            f'<g><title>{escape(label)}: {n:,}{share}</title>'
            f'<text x="{label_width - 8}" y="{y + 19}" text-anchor="end" font-size="13" fill="#1c2533">'
            f'{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{_n(max(w, 1 if n else 0))}" height="{row - 10}" rx="3" '
            f'fill="{COLOURS[0]}" fill-opacity="{1 - 0.09 * i:.2f}"/>'
            f'<text x="{_n(label_width + w + 6)}" y="{y + 19}" font-size="13" fill="{MUTED}">'
            f'{n:,}{share}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def series_svg(series: Mapping[str, Mapping[str, int]], labels: Mapping[str, str] | None = None, *,
               title: str, width: int = 640, height: int = 220) -> Markup:
    """One line per measure (sent, delivered, clicked, conversions) over the buckets, with a legend and axes."""
    shown = dict(labels or SERIES_LABELS)
    names = list(shown)
    buckets = list(series)
    left, right, top_pad, bottom = 48, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    peak = max((series[b].get(n, 0) for b in buckets for n in names), default=0) or 1
    parts = [f'<svg class="chart chart-series" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
             f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg">']
    for k in range(5):  # grid lines with their values
        y = top_pad + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}" stroke="#e2e6ec"/>'
                     f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" font-size="11" fill="{MUTED}">'
                     f'{round(peak * k / 4):,}</text>')
    step = plot_w / max(len(buckets) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(buckets) > 1 else plot_w / 2)

    def y_of(value: int) -> float:
        return top_pad + plot_h - plot_h * value / peak

    for c, name in enumerate(names):
        colour = COLOURS[c % len(COLOURS)]
        points = " ".join(f"{_n(x(i))},{_n(y_of(series[b].get(name, 0)))}" for i, b in enumerate(buckets))
        if len(buckets) > 1:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, b in enumerate(buckets):
            value = series[b].get(name, 0)
            parts.append(f'<circle cx="{_n(x(i))}" cy="{_n(y_of(value))}" r="3" fill="{colour}">'
                         f'<title>{escape(b)} · {escape(shown[name])}: {value:,}</title></circle>')
        parts.append(f'<rect x="{left + c * 130}" y="6" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + c * 130 + 14}" y="15" font-size="12" fill="#1c2533">'
                     f'{escape(shown[name])}</text>')
    every = max(1, len(buckets) // 6)  # at most about seven labels on the time axis
    for i, b in enumerate(buckets):
        if i % every == 0 or i == len(buckets) - 1:
            parts.append(f'<text x="{_n(x(i))}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                         f'fill="{MUTED}">{escape(b[5:] if len(b) > 10 else b)}</text>')
    if not buckets:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13" fill="{MUTED}">'
                     '—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
