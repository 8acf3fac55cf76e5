"""Batch reports over the event history: the daily funnel per channel and thread, delivery latency
percentiles per channel and urgency (and per hour, for the chart), online time per user."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import sketch, tables
from .events import ACKED, FAILED, OPENED, is_type

FUNNEL = ("sent", "delivered", "acked", "opened", "clicked", "converted", "failed")


def events_between(spark: SparkSession, keyspace: str, first: dt.date, last: dt.date) -> DataFrame:
    """events_by_day for the days asked, naming every (day, hour) partition so nothing else is scanned."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    table = tables.read(spark, keyspace, "events_by_day")
    return table.where(F.col("day").isin(days) & F.col("hour").isin(list(range(24))))


def funnel(events: DataFrame) -> DataFrame:
    """Users reaching each step, per day, channel and thread: a user counts once per message and step.
    Engagement events from the ack stage may lack the channel; they count under channel ''."""
    recipient = F.concat_ws("\u0000", F.coalesce("message_id", F.lit("")), F.coalesce("uid", F.lit("")))
    distinct_when = lambda condition: F.count_distinct(F.when(condition, recipient))  # noqa: E731
    return (
        events.withColumn("channel", F.coalesce("channel", F.lit("")))
        .withColumn("tid", F.coalesce("tid", F.lit("")))
        .groupBy("day", "channel", "tid")
        .agg(
            distinct_when(is_type("sent")).alias("sent"),
            distinct_when(is_type("delivered")).alias("delivered"),
            distinct_when(is_type(*ACKED)).alias("acked"),
            distinct_when(is_type(*OPENED)).alias("opened"),
            distinct_when(is_type("clicked")).alias("clicked"),
            distinct_when(is_type("converted")).alias("converted"),
            distinct_when(is_type(*FAILED)).alias("failed"),
        )
    )


def delivery_latencies(events: DataFrame) -> DataFrame:
    """Delivered events with latency_ms since their message was first queued (within the window)."""
    queued = events.where(is_type("queued")).groupBy("message_id").agg(F.min("at").alias("queued_at"))
    return (
        events.where(is_type("delivered"))
        .join(queued, "message_id")
        .withColumn("latency", F.greatest(F.lit(0), F.unix_millis(F.col("at")) - F.unix_millis(F.col("queued_at"))))
    )


def latency_sketches(latencies: DataFrame, *keys: str) -> dict[tuple, dict[int, int]]:
    rows = (
        latencies.groupBy(*keys, sketch.bucket_column(F.col("latency")).alias("bucket"))
        .agg(F.count("*").alias("n"))
        .collect()
    )
    sketches: dict[tuple, dict[int, int]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        sketches.setdefault(key, {})[row.bucket] = row.n
    return sketches


def latency_table(latencies: DataFrame) -> list[dict]:
    by_group = latency_sketches(latencies.withColumn("channel", F.coalesce("channel", F.lit(""))).withColumn(
        "urgency", F.coalesce("urgency", F.lit(0))), "day", "channel", "urgency")
    return [
        {
            "day": day, "channel": channel, "urgency": urgency, "deliveries": sketch.count(s),
            "p50_ms": sketch.quantile(s, 0.5), "p90_ms": sketch.quantile(s, 0.9), "p99_ms": sketch.quantile(s, 0.99),
        }
        for (day, channel, urgency), s in sorted(by_group.items())
    ]


def latency_over_time(latencies: DataFrame) -> list[dict]:
    by_hour = latency_sketches(latencies.withColumn("hour_at", F.date_trunc("hour", "at")), "hour_at")
    return [
        {"at": at, "p50": sketch.quantile(s, 0.5), "p90": sketch.quantile(s, 0.9), "p99": sketch.quantile(s, 0.99)}
        for (at,), s in sorted(by_hour.items())
    ]


def online_time(spark: SparkSession, keyspace: str, start: dt.datetime, end: dt.datetime) -> DataFrame:
    """Per user: sessions overlapping [start, end) and their online time clipped to it. A session still
    open counts until its last heartbeat (last_seen_at)."""
    sessions = tables.read(spark, keyspace, "sessions_by_user")
    until = F.coalesce("ended_at", "last_seen_at", "started_at")
    clipped_from = F.greatest(F.col("started_at"), F.lit(start))
    clipped_to = F.least(until, F.lit(end))
    millis = ((clipped_to.cast("double") - clipped_from.cast("double")) * 1000).cast("long")
    return (
        sessions.where((F.col("started_at") < F.lit(end)) & (until > F.lit(start)))
        .groupBy("uid")
        .agg(F.count("*").alias("sessions"), F.sum(F.greatest(F.lit(0), millis)).cast("long").alias("online_ms"))
    )
