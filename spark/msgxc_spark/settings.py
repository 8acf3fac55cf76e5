"""The jobs' settings, read once from the environment (the same MSGXC_* variables as the Node side)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

PACKAGES = (
    "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7",
    "org.apache.spark:spark-avro_2.12:3.5.7",
    "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1",
)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value != "" else default


@dataclass(frozen=True)
class Settings:
    brokers: str
    registry_url: str
    cassandra_hosts: list[str]
    cassandra_port: int
    keyspace: str
    dc: str
    topic_prefix: str
    cache_dir: str
    state_dir: str
    shuffle_partitions: int
    trigger_seconds: float
    max_offsets_per_trigger: int
    extra: dict[str, str] = field(default_factory=dict)

    def topic(self, name: str) -> str:
        """The Kafka topic of a logical name, as pipeline/topics/topology.ts names it."""
        return f"{self.topic_prefix}msgxc.{name}"


def load(env: dict[str, str] | None = None) -> Settings:
    if env is not None:
        saved = dict(os.environ)
        os.environ.update(env)
    try:
        kafka_port = _env("MSGXC_KAFKA_PORT", "9092")
        registry_port = _env("MSGXC_REGISTRY_PORT", "8081")
        cassandra_port = _env("MSGXC_CASSANDRA_PORT", "9042")
        points = _env("MSGXC_CASSANDRA_CONTACT_POINTS", f"127.0.0.1:{cassandra_port}").split(",")
        hosts = [point.rsplit(":", 1)[0] for point in points]
        port = int(points[0].rsplit(":", 1)[1]) if ":" in points[0] else int(cassandra_port)
        cache = _env("MSGXC_CACHE_DIR", os.path.expanduser("~/.cache/msgxc"))
        return Settings(
            brokers=_env("MSGXC_KAFKA_BROKERS", f"127.0.0.1:{kafka_port}"),
            registry_url=_env(
                "MSGXC_SCHEMA_REGISTRY_URL", f"http://127.0.0.1:{registry_port}/apis/ccompat/v7"
            ).rstrip("/"),
            cassandra_hosts=hosts,
            cassandra_port=port,
            keyspace=_env("MSGXC_CASSANDRA_KEYSPACE", "msgxc"),
            dc=_env("MSGXC_CASSANDRA_DC", "datacenter1"),
            topic_prefix=_env("MSGXC_TOPIC_PREFIX", ""),
            cache_dir=cache,
            state_dir=_env("MSGXC_SPARK_STATE_DIR", os.path.join(cache, "spark-state")),
            shuffle_partitions=int(_env("MSGXC_SPARK_SHUFFLE_PARTITIONS", "4")),
            trigger_seconds=float(_env("MSGXC_SPARK_TRIGGER_SECONDS", "5")),
            max_offsets_per_trigger=int(_env("MSGXC_SPARK_MAX_OFFSETS_PER_TRIGGER", "500000")),
        )
    finally:
        if env is not None:
            os.environ.clear()
            os.environ.update(saved)
