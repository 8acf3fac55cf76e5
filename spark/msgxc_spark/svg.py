"""Small inline-SVG charts for the HTML report: no scripts, no fonts or files to fetch, so the report
opens offline and prints as it shows."""

from __future__ import annotations

from html import escape

PALETTE = ("#2563eb", "#f59e0b", "#dc2626", "#059669", "#7c3aed", "#db2777")


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def funnel(title: str, steps: list[tuple[str, int]], width: int = 440) -> str:
    """Horizontal bars, each step's share of the first."""
    top = max((count for _, count in steps), default=0) or 1
    bar_h, gap, label_w = 22, 6, 90
    height = 28 + len(steps) * (bar_h + gap)
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" class="title">{escape(title)}</text>']
    first = steps[0][1] if steps else 0
    for i, (label, count) in enumerate(steps):
        y = 28 + i * (bar_h + gap)
        w = (width - label_w - 110) * count / top
        share = f"{100 * count / first:.1f} %" if first else "–"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{PALETTE[0]}" opacity="{1 - i * 0.1:.2f}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{count:,} · {share}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(title: str, labels: list[str], series: dict[str, list[float | None]], unit: str, width: int = 900, height: int = 260) -> str:
    """A line chart over categorical x labels (e.g. hours), one line per series, with a legend."""
    left, right, top_pad, bottom = 76, 20, 30, 40
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max(values, default=1) * 1.1 or 1
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    x = lambda i: left + (plot_w * i / max(len(labels) - 1, 1))  # noqa: E731
    y = lambda v: top_pad + plot_h * (1 - v / top)  # noqa: E731
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" class="title">{escape(title)}</text>']
    for k in range(5):
        v = top * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_fmt(v)}{escape(unit)}</text>')
    step = max(1, len(labels) // 8)
    for i in range(0, len(labels), step):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">{escape(labels[i])}</text>')
    for n, (name, vs) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs) if v is not None)
        if len(labels) > 1:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(vs):
            if v is not None:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{escape(name)} {labels[i]}: {_fmt(v)}{escape(unit)}</title></circle>')
        parts.append(f'<rect x="{left + n * 90}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + n * 90 + 14}" y="{height - 5}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def intervals(title: str, rows: list[tuple[str, float, float, float]], width: int = 440) -> str:
    """A dot per row at its rate with a whisker for its interval, on a shared 0..max axis (percent)."""
    row_h, left, right = 30, 110, 70
    height = 40 + len(rows) * row_h + 24
    top = min(1.0, max((high for _, _, _, high in rows), default=0.01) * 1.15) or 0.01
    plot_w = width - left - right
    x = lambda v: left + plot_w * v / top  # noqa: E731
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" class="title">{escape(title)}</text>']
    for k in range(5):
        v = top * k / 4
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="30" y2="{height - 24}" class="grid"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{height - 8}" text-anchor="middle">{100 * v:.1f} %</text>')
    for i, (label, rate, low, high) in enumerate(rows):
        cy = 40 + i * row_h + row_h / 2
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{colour}" stroke-width="2"/>')
        for end in (low, high):
            parts.append(f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{cy - 6:.1f}" y2="{cy + 6:.1f}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(rate):.1f}" cy="{cy:.1f}" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{x(high) + 8:.1f}" y="{cy + 4:.1f}">{100 * rate:.2f} %</text>')
    parts.append("</svg>")
    return "".join(parts)
