"""`bench-batch`: the experiment read-out over N generated events, timed, beside a raw baseline (a plain
group-by count over the same events) measured in the same run. The events are generated inside Spark
and written once to Parquet, so each run reads the same input."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import readout

TYPES = (("sent", 0.40), ("delivered", 0.30), ("opened", 0.12), ("clicked", 0.08), ("converted", 0.05), ("failed", 0.05))


def generate(spark: SparkSession, events: int, users: int) -> DataFrame:
    """Events of one 7-day experiment: 1M users split control / b / holdout (45/45/10)."""
    start = 1_793_520_000  # 2026-11-01T00:00:00Z, seconds
    uid_number = F.col("id") % users
    bucket = F.abs(F.hash(uid_number)) % 100
    variant = F.when(bucket < 45, "control").when(bucket < 90, "b").otherwise(F.lit(None))
    draw = F.rand(7)
    type_ = F.lit("sent")
    threshold = 0.0
    branches = None
    for name, share in TYPES:
        threshold += share
        branches = (F.when(draw < threshold, name) if branches is None else branches.when(draw < threshold, name))
    type_ = branches.otherwise("sent")
    return spark.range(events).select(
        F.concat(F.lit("ev"), F.col("id").cast("string")).alias("event_id"),
        # The holdout receives nothing: its users are recorded as dropped, 5 % of them convert anyway.
        F.when(variant.isNull(), F.when(draw < 0.05, "converted").otherwise("dropped")).otherwise(type_).alias("type"),
        F.timestamp_seconds(F.lit(start) + (F.col("id") * 7919) % (7 * 86400)).alias("at"),
        F.concat(F.lit("m"), (F.col("id") % 5000).cast("string")).alias("message_id"),
        F.concat(F.lit("u"), uid_number.cast("string")).alias("uid"),
        F.lit("t1").alias("tid"),
        F.lit("fcm").alias("channel"),
        F.lit(3).alias("urgency"),
        F.lit("e1").alias("experiment_id"),
        variant.alias("variant"),
    )


def run(spark: SparkSession, events: int, runs: int) -> dict:
    directory = os.path.join(tempfile.gettempdir(), f"msgxc-bench-events-v2-{events}")
    if not os.path.exists(os.path.join(directory, "_SUCCESS")):
        generate(spark, events, min(1_000_000, max(events // 10, 1))).write.mode("overwrite").parquet(directory)
    frame = spark.read.parquet(directory)
    results = []
    for index in range(runs):
        began = time.perf_counter()
        frame.groupBy("variant", "type").count().collect()
        baseline = time.perf_counter() - began
        began = time.perf_counter()
        rows = readout.readout(readout.daily_counts(frame), 0.05)
        took = time.perf_counter() - began
        results.append({"run": index + 1, "readout_s": round(took, 2), "baseline_groupby_s": round(baseline, 2),
                        "ratio": round(took / baseline, 2), "variants": len(rows)})
        print(json.dumps(results[-1]), flush=True)
    summary = {
        "events": events,
        "readout_s": [r["readout_s"] for r in results],
        "baseline_groupby_s": [r["baseline_groupby_s"] for r in results],
        "readout_median_s": statistics.median(r["readout_s"] for r in results),
        "events_per_s": round(events / statistics.median(r["readout_s"] for r in results)),
    }
    print("BENCH " + json.dumps(summary), flush=True)
    return summary
