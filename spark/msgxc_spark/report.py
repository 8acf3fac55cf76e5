"""`npm run report -- <name>`: computes the batch reports for a window of UTC days, writes them to the
report tables in Cassandra (partitioned by report name, replaced on every run) and renders the HTML."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from cassandra.cluster import Cluster
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from . import html, readout, reports, tables
from .settings import Settings

TABLES = ("report_funnel_daily", "report_latency", "report_online_time", "report_experiment")


@dataclass
class ReportData:
    name: str
    first: dt.date
    last: dt.date
    events: int
    funnel: list[dict]
    latency: list[dict]
    latency_over_time: list[dict]
    online: list[dict]
    experiments: list[readout.VariantReadout]
    generated_at: dt.datetime


def window(from_day: str | None, to_day: str | None) -> tuple[dt.date, dt.date]:
    last = dt.date.fromisoformat(to_day) if to_day else dt.datetime.now(dt.timezone.utc).date()
    first = dt.date.fromisoformat(from_day) if from_day else last - dt.timedelta(days=6)
    if first > last:
        raise SystemExit(f"--from {first} is after --to {last}")
    return first, last


def compute(spark: SparkSession, settings: Settings, name: str, first: dt.date, last: dt.date, tau: float) -> ReportData:
    events = reports.events_between(spark, settings.keyspace, first, last).persist()
    try:
        latencies = reports.delivery_latencies(events)
        start = dt.datetime.combine(first, dt.time(), dt.timezone.utc)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        return ReportData(
            name=name, first=first, last=last, events=events.count(),
            funnel=[r.asDict() for r in reports.funnel(events).orderBy("day", "channel", "tid").collect()],
            latency=reports.latency_table(latencies),
            latency_over_time=reports.latency_over_time(latencies),
            online=[r.asDict() for r in reports.online_time(spark, settings.keyspace, start, end).orderBy(F.desc("online_ms"), "uid").collect()],
            experiments=readout.readout(readout.daily_counts(events), tau),
            generated_at=dt.datetime.now(dt.timezone.utc),
        )
    finally:
        events.unpersist()


def store(spark: SparkSession, settings: Settings, data: ReportData, html_path: str) -> None:
    """Replaces the report's rows: the old partition is deleted first, so a re-run with fewer groups
    leaves no stale rows behind."""
    cluster = Cluster(settings.cassandra_hosts, port=settings.cassandra_port, connect_timeout=60)
    try:
        db = cluster.connect(settings.keyspace)
        db.default_timeout = 120
        for table in TABLES:
            db.execute(f"DELETE FROM {table} WHERE report = %s", (data.name,))
        db.execute(
            "INSERT INTO report_runs (report, generated_at, from_day, to_day, events, html_path) VALUES (%s, %s, %s, %s, %s, %s)",
            (data.name, data.generated_at, data.first, data.last, data.events, html_path),
        )
    finally:
        cluster.shutdown()
    rows = {
        "report_funnel_daily": data.funnel,
        "report_latency": data.latency,
        "report_online_time": data.online,
        "report_experiment": [v.row() for v in data.experiments],
    }
    for table, table_rows in rows.items():
        if table_rows:
            # The table's own schema: columns that are null in every row still get their type.
            schema = tables.read(spark, settings.keyspace, table).schema
            frame = spark.createDataFrame([{**row, "report": data.name} for row in table_rows], schema=schema)
            tables.write(frame, settings.keyspace, table)


def run(spark: SparkSession, settings: Settings, name: str, from_day: str | None, to_day: str | None, out: str | None, tau: float) -> str:
    first, last = window(from_day, to_day)
    data = compute(spark, settings, name, first, last, tau)
    path = os.path.abspath(out or os.path.join("reports", f"{name}.html"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(html.render(data))
    store(spark, settings, data, path)
    return path
