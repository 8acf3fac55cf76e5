"""Builds the SparkSession with the Kafka, Avro and Cassandra connectors."""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

from .settings import PACKAGES, Settings

IVY_SETTINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "ivysettings.xml")


def build(settings: Settings, app: str, master: str | None = None) -> SparkSession:
    """Under spark-submit the master and driver memory come from the command line; pytest and the
    bench build their own local session, so the defaults here are the small ones the machine can spare."""
    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = (
            builder.master(master)
            .config("spark.driver.memory", os.environ.get("MSGXC_SPARK_DRIVER_MEMORY", "768m"))
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
        )
    return (
        builder.config("spark.jars.packages", ",".join(PACKAGES))
        .config("spark.jars.ivy", os.path.join(settings.cache_dir, "ivy"))
        # Maven Central only: Spark's own chain takes a package from ~/.m2 when only its POM is there.
        .config("spark.jars.ivySettings", IVY_SETTINGS)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.extensions", "com.datastax.spark.connector.CassandraSparkExtensions")
        .config("spark.cassandra.connection.host", ",".join(settings.cassandra_hosts))
        .config("spark.cassandra.connection.port", str(settings.cassandra_port))
        .config("spark.cassandra.connection.localDC", settings.dc)
        .config("spark.cassandra.output.consistency.level", "LOCAL_QUORUM")
        .config("spark.cassandra.input.consistency.level", "LOCAL_QUORUM")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )
