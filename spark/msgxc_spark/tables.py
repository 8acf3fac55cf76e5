"""Reading and writing Cassandra tables through the Spark Cassandra connector."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

FORMAT = "org.apache.spark.sql.cassandra"


def read(spark: SparkSession, keyspace: str, table: str, direct_join: bool = False) -> DataFrame:
    reader = spark.read.format(FORMAT).options(keyspace=keyspace, table=table)
    if direct_join:
        # Joins on the partition key become per-key lookups instead of a full table scan.
        reader = reader.option("directJoinSetting", "on")
    return reader.load()


def write(frame: DataFrame, keyspace: str, table: str) -> None:
    """Cassandra writes are upserts: writing the same key twice leaves one row."""
    frame.write.format(FORMAT).options(keyspace=keyspace, table=table).mode("append").save()
