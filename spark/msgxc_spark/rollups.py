"""Per-minute roll-ups of one micro-batch of events: counts by channel, urgency, thread and experiment
variant, and the latency sketches (request → delivered, delivered → acked)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import sketch, tables
from .events import ACKED, FAILED, counted, is_type, with_dimensions

DIMENSIONS = ("minute", "channel", "urgency", "tid", "experiment_id", "variant")
MEASURES = ("sent", "delivered", "failed", "acked", "read", "clicked")
SKETCHES = ("delivery_latency", "ack_latency")


def record_marks(events: DataFrame, keyspace: str) -> None:
    """The start points of latency: when each message was first queued and each copy first delivered."""
    queued = events.where(is_type("queued") & F.col("message_id").isNotNull()).select("message_id", "at").distinct()
    tables.write(queued, keyspace, "rollup_message_queued")
    delivered = (
        events.where(is_type("delivered") & F.col("message_id").isNotNull() & F.col("uid").isNotNull())
        .select("message_id", "uid", "at")
        .distinct()
    )
    tables.write(delivered, keyspace, "rollup_message_delivered")


def with_latencies(events: DataFrame, keyspace: str) -> DataFrame:
    """Adds delivery_ms (delivered events: since the message was first queued) and ack_ms (acked events:
    since that recipient's copy was first delivered). Marks are written before this is read, so a start
    point in the same micro-batch is found; one whose event has not arrived yet leaves the latency null."""
    spark = events.sparkSession
    queued = (
        tables.read(spark, keyspace, "rollup_message_queued", direct_join=True)
        .join(events.where(is_type("delivered")).select("message_id").distinct(), "message_id")
        .groupBy("message_id")
        .agg(F.min("at").alias("queued_at"))
    )
    delivered = (
        tables.read(spark, keyspace, "rollup_message_delivered", direct_join=True)
        .join(events.where(is_type(*ACKED)).select("message_id", "uid").distinct(), ["message_id", "uid"])
        .groupBy("message_id", "uid")
        .agg(F.min("at").alias("delivered_at"))
    )
    millis = lambda later, earlier: F.greatest(  # noqa: E731
        F.lit(0), F.unix_millis(F.col(later)) - F.unix_millis(F.col(earlier))
    )
    return (
        events.join(queued, "message_id", "left")
        .join(delivered, ["message_id", "uid"], "left")
        .withColumn("delivery_ms", F.when(is_type("delivered"), millis("at", "queued_at")))
        .withColumn("ack_ms", F.when(is_type(*ACKED), millis("at", "delivered_at")))
    )


def minute_rollups(events_with_latency: DataFrame) -> DataFrame:
    """Counts and sketches per minute and dimensions, for the events given (one micro-batch)."""
    frame = with_dimensions(events_with_latency)
    counts = frame.groupBy(*DIMENSIONS).agg(
        counted(is_type("sent")).alias("sent"),
        counted(is_type("delivered")).alias("delivered"),
        counted(is_type(*FAILED)).alias("failed"),
        counted(is_type(*ACKED)).alias("acked"),
        counted(is_type("read")).alias("read"),
        counted(is_type("clicked")).alias("clicked"),
    )
    for name, column in (("delivery_latency", "delivery_ms"), ("ack_latency", "ack_ms")):
        sketches = (
            frame.where(F.col(column).isNotNull())
            .groupBy(*DIMENSIONS, sketch.bucket_column(F.col(column)).alias("bucket"))
            .agg(F.count("*").alias("n"))
            .groupBy(*DIMENSIONS)
            .agg(F.map_from_entries(F.collect_list(F.struct("bucket", "n"))).alias(name))
        )
        counts = counts.join(sketches, list(DIMENSIONS), "left")
    interesting = F.lit(False)
    for measure in MEASURES:
        interesting = interesting | (F.col(measure) > 0)
    for name in SKETCHES:
        interesting = interesting | F.col(name).isNotNull()
    return counts.where(interesting)


def merge_parts(parts: DataFrame) -> DataFrame:
    """Sums the parts of each minute and group; sketches merge by adding counts bucket by bucket."""
    keys = list(DIMENSIONS)
    totals = parts.groupBy(*keys).agg(*[F.sum(m).cast("long").alias(m) for m in MEASURES])
    for name in SKETCHES:
        merged = (
            parts.select(*keys, F.explode(name).alias("bucket", "n"))
            .groupBy(*keys, "bucket")
            .agg(F.sum("n").cast("long").alias("n"))
            .groupBy(*keys)
            .agg(F.map_from_entries(F.collect_list(F.struct("bucket", "n"))).alias(name))
        )
        totals = totals.join(merged, keys, "left")
    return totals
