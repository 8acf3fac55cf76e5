"""The streaming roll-up job: Kafka `events` → per-minute roll-ups in Cassandra.

Exactly-once by idempotent keys: each micro-batch writes its own rows into `rollup_minute_parts`, keyed
by the query id and batch id. Spark logs a batch's offsets before running it and commits it after, so
a batch interrupted by a crash is re-run from the checkpoint with the same id and the same records: it
rewrites the same part rows. The minute totals (`rollup_minute`) are then recomputed from the parts of
the minutes the batch touched and overwritten, never incremented."""

from __future__ import annotations

import os
import threading

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import events, rollups, tables, wire
from .settings import Settings


def batch_writer(settings: Settings, registry: wire.Registry, reader_schema: str, query_id: dict):
    ready = query_id["ready"]
    crash_after_parts = int(os.environ.get("MSGXC_SPARK_TEST_CRASH_AFTER_PARTS", "-1"))

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        ready.wait(60)
        part = f"{query_id['id']}:{batch_id}"
        records = wire.decode(batch, registry, reader_schema)
        if records is None:
            return
        decoded = events.from_record(records)
        decoded = first_sightings(decoded, settings.keyspace, part).persist()
        try:
            if decoded.isEmpty():
                return
            tables.write(decoded.select("event_id", F.lit(part).alias("part")), settings.keyspace, "rollup_seen_events")
            rollups.record_marks(decoded, settings.keyspace)
            partial = rollups.minute_rollups(rollups.with_latencies(decoded, settings.keyspace))
            partial = partial.withColumn("part", F.lit(part)).persist()
            tables.write(partial, settings.keyspace, "rollup_minute_parts")
            if batch_id == crash_after_parts:
                # Test hook: die like kill -9 between writing the parts and committing the batch.
                os._exit(137)
            minutes = [row.minute for row in partial.select("minute").distinct().collect()]
            partial.unpersist()
            update_totals(batch.sparkSession, settings.keyspace, minutes)
        finally:
            decoded.unpersist()

    return write_batch


def first_sightings(decoded: DataFrame, keyspace: str, part: str) -> DataFrame:
    """Drops repeats of events counted by an earlier batch; events this same batch recorded (a replay
    after a crash) stay."""
    unique = decoded.dropDuplicates(["event_id"])
    seen = tables.read(unique.sparkSession, keyspace, "rollup_seen_events", direct_join=True).join(
        unique.select("event_id"), "event_id"
    )
    return (
        unique.join(seen, "event_id", "left")
        .where(F.col("part").isNull() | (F.col("part") == F.lit(part)))
        .drop("part")
    )


def update_totals(spark: SparkSession, keyspace: str, minutes: list) -> None:
    parts = tables.read(spark, keyspace, "rollup_minute_parts").where(F.col("minute").isin(minutes))
    totals = rollups.merge_parts(parts).withColumn("updated_at", F.current_timestamp())
    tables.write(totals, keyspace, "rollup_minute")


def start(spark: SparkSession, settings: Settings, checkpoint: str, once: bool = False):
    registry = wire.Registry(settings.registry_url)
    topic = settings.topic("events")
    reader_schema = registry.latest_schema(f"{topic}-value")
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.brokers)
        .option("subscribe", topic)
        .option("startingOffsets", os.environ.get("MSGXC_SPARK_STARTING_OFFSETS", "earliest"))
        .option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
        # Records past the topic's retention are gone either way; stopping the roll-ups would not bring them back.
        .option("failOnDataLoss", "false")
        .load()
        .select("value")
    )
    query_id: dict = {"ready": threading.Event()}
    writer = (
        source.writeStream.queryName("msgxc-rollups")
        .option("checkpointLocation", checkpoint)
        .foreachBatch(batch_writer(settings, registry, reader_schema, query_id))
    )
    writer = writer.trigger(availableNow=True) if once else writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    query = writer.start()
    query_id["id"] = str(query.id)
    query_id["ready"].set()
    return query
