"""Batch reports on the real Cassandra: known rows in the event and session tables (written directly,
as the Kafka Connect sink writes them), the exact funnel, latency, online time and read-out out."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from msgxc_spark import report, sketch, stats

UTC = dt.timezone.utc
D1, D2 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
QUEUED_AT = dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DELIVERY_MS = {"c1": 100, "c2": 200, "c3": 300, "b1": 1000, "b2": 2000, "b3": 3000, "b4": 4000}


def _events():
    """(at, type, uid, variant, channel) for experiment e2 on message mx in thread tx."""
    rows = [(QUEUED_AT, "queued", None, "control", "fcm"), (QUEUED_AT, "queued", None, "b", "fcm")]
    later = lambda ms: QUEUED_AT + dt.timedelta(milliseconds=ms)  # noqa: E731
    for uid in ("c1", "c2", "c3", "c4"):
        rows.append((later(50), "sent", uid, "control", "fcm"))
    for uid in ("b1", "b2", "b3", "b4", "b5"):
        rows.append((later(50), "sent", uid, "b", "fcm"))
    for uid, ms in DELIVERY_MS.items():
        rows.append((later(ms), "delivered", uid, "control" if uid.startswith("c") else "b", "fcm"))
    rows += [
        (later(60_000), "failed", "c4", "control", "fcm"),
        (later(600_000), "opened", "c1", "control", "fcm"),
        (later(610_000), "clicked", "c1", "control", "fcm"),
        (later(620_000), "read", "c2", "control", "fcm"),
        (later(600_000), "opened", "b1", "b", "fcm"),
        (later(600_000), "opened", "b2", "b", "fcm"),
        (later(600_000), "opened", "b3", "b", "fcm"),
        (later(610_000), "clicked", "b1", "b", "fcm"),
        (later(610_000), "clicked", "b2", "b", "fcm"),
        (later(610_000), "clicked", "b2", "b", "fcm"),  # a second click: users count once
        (later(3_600_000), "converted", "b1", "b", None),
        (dt.datetime(2026, 11, 3, 9, tzinfo=UTC), "converted", "c1", "control", None),
        (dt.datetime(2026, 11, 3, 9, tzinfo=UTC), "converted", "b2", "b", None),
    ]
    for uid in ("h1", "h2", "h3"):  # the holdout: never messaged, recorded as dropped
        rows.append((later(50), "dropped", uid, None, None))
    rows.append((dt.datetime(2026, 11, 3, 12, tzinfo=UTC), "converted", "h1", None, None))
    rows.append((dt.datetime(2026, 11, 5, 12, tzinfo=UTC), "converted", "c2", "control", None))  # outside the window
    return rows


@pytest.fixture(scope="module")
def loaded(keyspace):
    insert = keyspace.session.prepare(
        "INSERT INTO events_by_day (day, hour, at, event_id, type, message_id, uid, tid, channel, urgency, "
        "experiment_id, variant, reason) VALUES (?, ?, ?, ?, ?, 'mx', ?, 'tx', ?, 2, 'e2', ?, ?)"
    )
    for index, (at, type_, uid, variant, channel) in enumerate(_events()):
        reason = "HOLDOUT" if type_ == "dropped" else None
        keyspace.session.execute(insert, (at.date(), at.hour, at, f"e{index}", type_, uid, channel, variant, reason))
    sessions = keyspace.session.prepare(
        "INSERT INTO sessions_by_user (uid, started_at, session_id, last_seen_at, ended_at) VALUES (?, ?, ?, ?, ?)"
    )
    at = lambda day, h, m: dt.datetime(2026, 11, day, h, m, tzinfo=UTC)  # noqa: E731
    keyspace.session.execute(sessions, ("u1", at(2, 10, 0), "s1", at(2, 10, 30), at(2, 10, 30)))
    keyspace.session.execute(sessions, ("u1", at(3, 23, 50), "s2", at(4, 0, 20), at(4, 0, 20)))  # 10 min inside
    keyspace.session.execute(sessions, ("u2", at(2, 11, 0), "s3", at(2, 11, 5), None))  # still open
    keyspace.session.execute(sessions, ("u3", at(1, 11, 0), "s4", at(1, 12, 0), at(1, 12, 0)))  # before the window
    return keyspace


@pytest.fixture(scope="module")
def data(spark, settings, loaded):
    return report.compute(spark, settings, "test", D1, D2, tau=0.05)


def test_funnel_per_day_channel_and_thread(data):
    funnel = {(r["day"], r["channel"], r["tid"]): {k: r[k] for k in report.reports.FUNNEL} for r in data.funnel}
    zero = dict.fromkeys(report.reports.FUNNEL, 0)
    assert funnel == {
        (D1, "fcm", "tx"): {**zero, "sent": 9, "delivered": 7, "acked": 5, "opened": 5, "clicked": 3, "failed": 1},
        (D1, "", "tx"): {**zero, "converted": 1},
        (D2, "", "tx"): {**zero, "converted": 3},
    }
    assert data.events == len(_events()) - 1


def test_latency_percentiles_per_channel_and_urgency(data):
    [row] = data.latency
    assert (row["day"], row["channel"], row["urgency"], row["deliveries"]) == (D1, "fcm", 2, 7)
    # Sorted: 100 200 300 1000 2000 3000 4000 ms; ranks q·(n-1): p50 → 1000, p90 (5.4) and p99 (5.94) → 3000.
    assert row["p50_ms"] == pytest.approx(1000, rel=0.02)
    assert row["p90_ms"] == pytest.approx(3000, rel=0.02)
    assert row["p99_ms"] == pytest.approx(3000, rel=0.02)
    assert row["p50_ms"] == sketch.value_of(sketch.bucket_of(1000))


def test_online_time_per_user_is_clipped_to_the_window(data):
    assert {r["uid"]: (r["sessions"], r["online_ms"]) for r in data.online} == {
        "u1": (2, 40 * 60_000),
        "u2": (1, 5 * 60_000),
    }


def test_experiment_readout(data):
    rows = {r.variant: r for r in data.experiments}
    counts = lambda r: (r.role, r.recipients, r.delivered, r.acked, r.opened, r.clicked, r.converted)  # noqa: E731
    assert counts(rows["control"]) == ("control", 4, 3, 2, 2, 1, 1)
    assert counts(rows["b"]) == ("variant", 5, 4, 3, 3, 2, 2)
    assert counts(rows["holdout"]) == ("holdout", 3, 0, 0, 0, 0, 1)
    b = rows["b"]
    assert b.conversion_rate == pytest.approx(0.4)
    assert (b.conversion_low, b.conversion_high) == pytest.approx(stats.wilson(2, 5))
    assert b.click_rate == pytest.approx(0.4)
    assert b.lift == pytest.approx((0.4 - 0.25) / 0.25)
    assert b.p_fixed == pytest.approx(stats.two_proportion_p(2, 5, 1, 4))
    # Daily looks: after day 1, b 1/5 converted and control 0/4; after day 2, 2/5 and 1/4.
    assert b.p_always_valid == pytest.approx(stats.always_valid_p([(1, 5, 0, 4), (2, 5, 1, 4)], 0.05))
    assert rows["control"].lift is None
    # The holdout row: control (1/4) against the holdout (1/3).
    holdout = rows["holdout"]
    assert holdout.lift == pytest.approx((0.25 - 1 / 3) / (1 / 3))
    assert holdout.p_always_valid == pytest.approx(stats.always_valid_p([(0, 4, 0, 3), (1, 4, 1, 3)], 0.05))


def test_report_writes_html_and_tables(spark, settings, loaded, tmp_path: Path):
    out = tmp_path / "weekly.html"
    path = report.run(spark, settings, "weekly", "2026-11-02", "2026-11-03", str(out), 0.05)
    html = Path(path).read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html
    assert "Funnel · fcm" in html and "e2 · conversion rate" in html
    rows = {r.variant: r for r in loaded.session.execute("SELECT * FROM report_experiment WHERE report = 'weekly'")}
    assert (rows["b"].recipients, rows["b"].converted, rows["holdout"].role) == (5, 2, "holdout")
    funnel = list(loaded.session.execute("SELECT * FROM report_funnel_daily WHERE report = 'weekly'"))
    assert len(funnel) == 3
    run_row = loaded.session.execute("SELECT * FROM report_runs WHERE report = 'weekly'").one()
    assert run_row.events == len(_events()) - 1


def test_npm_run_report_submits_the_job(isolation, loaded, tmp_path: Path):
    """The packaged path: `npm run report -- <name> …` → spark/bin/submit.sh → spark-submit."""
    out = tmp_path / "submitted.html"
    repo = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        ["npm", "run", "-s", "report", "--", "submitted", "--from", "2026-11-02", "--to", "2026-11-03",
         "--out", str(out), "--master", "local[2]"],
        cwd=repo, env={**os.environ, **isolation}, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"report written: {out}" in completed.stdout
    assert "e2 · conversion rate" in out.read_text()
    row = loaded.session.execute("SELECT events FROM report_runs WHERE report = 'submitted'").one()
    assert row.events == len(_events()) - 1
