"""Renders a report as one self-contained HTML file (inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING

from . import svg

if TYPE_CHECKING:
    from .report import ReportData

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px 32px;color:#111827;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#6b7280;margin-bottom:16px}.row{display:flex;flex-wrap:wrap;gap:24px}
table{border-collapse:collapse;margin:8px 0 4px;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}th{background:#f9fafb;font-weight:600}
td:first-child,th:first-child{text-align:left}.note{color:#6b7280;font-size:12px;max-width:900px}
svg.chart text{font-size:12px;fill:#374151}svg.chart .title{font-weight:600;font-size:13px;fill:#111827}
svg.chart .grid{stroke:#e5e7eb}.good{color:#047857;font-weight:600}.empty{color:#6b7280;font-style:italic}
"""

FUNNEL_STEPS = ("sent", "delivered", "acked", "opened", "clicked", "converted")


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return '<p class="empty">No data in this window.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _funnels(data: ReportData) -> str:
    """One funnel over all channels (conversions and channel-less engagement included), then one per
    channel; the table below has every day, channel and thread."""
    overall: dict[str, int] = defaultdict(int)
    per_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in data.funnel:
        for step in FUNNEL_STEPS + ("failed",):
            overall[step] += row[step]
            if row["channel"]:
                per_channel[row["channel"]][step] += row[step]
    charts = [svg.funnel("Funnel · all channels", [(s, overall[s]) for s in FUNNEL_STEPS])] if data.funnel else []
    charts += [svg.funnel(f"Funnel · {channel}", [(s, steps[s]) for s in FUNNEL_STEPS]) for channel, steps in sorted(per_channel.items())]
    rows = [
        [escape(str(r["day"])), escape(r["channel"] or "–"), escape(r["tid"] or "–"), *[_num(r[s]) for s in FUNNEL_STEPS + ("failed",)]]
        for r in data.funnel[:200]
    ]
    table = _table(["day", "channel", "thread", *FUNNEL_STEPS, "failed"], rows)
    return f'<div class="row">{"".join(charts)}</div>{table}'


def _latency(data: ReportData) -> str:
    labels = [row["at"].strftime("%m-%d %H:00") for row in data.latency_over_time]
    chart = svg.lines(
        "Delivery latency (queued → delivered) per hour",
        labels,
        {q: [row[q] for row in data.latency_over_time] for q in ("p50", "p90", "p99")},
        " ms",
    ) if labels else ""
    rows = [
        [escape(str(r["day"])), escape(r["channel"] or "–"), str(r["urgency"] or "–"), _num(r["deliveries"]),
         _num(r["p50_ms"]), _num(r["p90_ms"]), _num(r["p99_ms"])]
        for r in data.latency
    ]
    return chart + _table(["day", "channel", "urgency", "deliveries", "p50 ms", "p90 ms", "p99 ms"], rows)


def _experiments(data: ReportData) -> str:
    if not data.experiments:
        return '<p class="empty">No experiment events in this window.</p>'
    blocks = []
    by_experiment: dict[str, list] = defaultdict(list)
    for row in data.experiments:
        by_experiment[row.experiment_id].append(row)
    for experiment_id, rows in by_experiment.items():
        conversion = svg.intervals(f"{experiment_id} · conversion rate (95 % CI)", [(r.variant, r.conversion_rate, r.conversion_low, r.conversion_high) for r in rows])
        clicks = svg.intervals(f"{experiment_id} · click rate (95 % CI)", [(r.variant, r.click_rate, r.click_low, r.click_high) for r in rows])
        counts = _table(
            ["variant", "role", "recipients", "delivered", "acked", "opened", "clicked", "converted"],
            [[escape(r.variant), escape(r.role), *[_num(v) for v in (r.recipients, r.delivered, r.acked, r.opened, r.clicked, r.converted)]] for r in rows],
        )
        outcome_rows = []
        for r in rows:
            significant = r.p_always_valid is not None and r.p_always_valid < 0.05
            outcome_rows.append([
                escape(r.variant),
                f"{_pct(r.conversion_rate)} <small>({100 * r.conversion_low:.2f}–{100 * r.conversion_high:.2f})</small>",
                f"{_pct(r.click_rate)} <small>({100 * r.click_low:.2f}–{100 * r.click_high:.2f})</small>",
                _lift(r),
                "–" if r.diff_low is None else f"{100 * r.diff_low:+.2f} … {100 * r.diff_high:+.2f} pp",
                _num(r.p_fixed, 4),
                f'<span class="{"good" if significant else ""}">{_num(r.p_always_valid, 4)}</span>',
            ])
        outcomes = _table(["variant", "conversion (95 % CI)", "clicks (95 % CI)", "conversion lift", "difference (95 % CI)",
                           "p (fixed)", "p (always valid)"], outcome_rows)
        table = counts + outcomes
        blocks.append(f"<h3>{escape(experiment_id)}</h3><div class=\"row\">{conversion}{clicks}</div>{table}")
    note = ('<p class="note">Counts are users. p (always valid) is the mSPRT p-value: it stays valid however often '
            'the read-out is looked at, so act on it rather than on p (fixed), which assumes one look at a planned '
            'sample size. The holdout row compares control with the holdout (users never messaged in the experiment).</p>')
    return "".join(blocks) + note


def _lift(r) -> str:
    if r.lift is None:
        return "–"
    compared = "control vs holdout" if r.role == "holdout" else "vs control"
    return f"{100 * r.lift:+.1f} % <small>{compared}</small>"


def _online(data: ReportData) -> str:
    rows = [[escape(r["uid"]), _num(r["sessions"]), _num(r["online_ms"] / 60000, 1)] for r in data.online[:50]]
    total = sum(r["online_ms"] for r in data.online) / 3_600_000
    return f'<p>{len(data.online):,} users online, {total:,.1f} hours in all (top 50 below).</p>' + _table(["user", "sessions", "minutes online"], rows)


def render(data: ReportData) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>msgxc report · {escape(data.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>msgxc report · {escape(data.name)}</h1>
<div class="meta">{data.first} – {data.last} (UTC) · {data.events:,} events · generated {data.generated_at:%Y-%m-%d %H:%M} UTC</div>
<h2>Experiments</h2>{_experiments(data)}
<h2>Funnel per channel</h2>{_funnels(data)}
<h2>Delivery latency</h2>{_latency(data)}
<h2>Online time</h2>{_online(data)}
</body></html>
"""
