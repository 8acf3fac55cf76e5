from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from msgxc_spark import session as session_module  # noqa: E402
from msgxc_spark import settings as settings_module  # noqa: E402

from . import support  # noqa: E402


@pytest.fixture(scope="session")
def isolation():
    """A random keyspace and topic prefix per run, as every msgxc test isolates itself."""
    suffix = uuid.uuid4().hex[:10]
    return {"MSGXC_CASSANDRA_KEYSPACE": f"spark_test_{suffix}", "MSGXC_TOPIC_PREFIX": f"sparktest-{suffix}."}


@pytest.fixture(scope="session")
def settings(isolation):
    return settings_module.load(isolation)


@pytest.fixture(scope="session")
def keyspace(settings):
    created = support.Keyspace(settings.cassandra_hosts, settings.cassandra_port, settings.keyspace)
    yield created
    created.drop()


@pytest.fixture(scope="session")
def events_topic(settings):
    admin = AdminClient({"bootstrap.servers": settings.brokers})
    topic = settings.topic("events")
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(30)
    yield topic
    for future in admin.delete_topics([topic]).values():
        future.result(30)
    support.delete_subject(settings.registry_url, f"{topic}-value")


@pytest.fixture(scope="session")
def spark(settings, keyspace):
    os.environ.setdefault("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
    spark = session_module.build(settings, "msgxc-spark-tests", master="local[2]")
    spark.sparkContext.setLogLevel("WARN")
    yield spark
    spark.stop()
