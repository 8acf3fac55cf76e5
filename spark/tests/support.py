"""Test helpers: the local Avro schemas, a Confluent-framed producer and the Cassandra test keyspace."""

from __future__ import annotations

import copy
import io
import json
import struct
import urllib.request
from pathlib import Path

import fastavro
from cassandra.cluster import Cluster
from confluent_kafka import Producer

from msgxc_spark import wire

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "pipeline" / "cassandra" / "migrations"


def local_schema(name: str) -> dict:
    """schemas/<name>.avsc with the shared named types (schemas/shared) inlined, as the Node side registers it."""
    definitions = {}
    for path in (REPO / "schemas" / "shared").glob("*.avsc"):
        schema = json.loads(path.read_text())
        definitions[f"{schema['namespace']}.{schema['name']}"] = schema
    return wire._inline(json.loads((REPO / "schemas" / f"{name}.avsc").read_text()), definitions, set(), None)


def older_delivery_event_schema() -> dict:
    """DeliveryEvent before the provider outcome fields: what older producers still write."""
    schema = copy.deepcopy(local_schema("DeliveryEvent"))
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in ("provider", "providerCode", "latencyMs", "segments")]
    return schema


def register(registry_url: str, subject: str, schema: dict) -> int:
    request = urllib.request.Request(
        f"{registry_url}/subjects/{subject}/versions",
        data=json.dumps({"schema": json.dumps(schema)}).encode(),
        headers={"content-type": "application/vnd.schemaregistry.v1+json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def delete_subject(registry_url: str, subject: str) -> None:
    for suffix in ("", "?permanent=true"):
        request = urllib.request.Request(f"{registry_url}/subjects/{subject}{suffix}", method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass


def frame(schema_id: int, schema: dict, record: dict) -> bytes:
    out = io.BytesIO()
    out.write(b"\x00" + struct.pack(">I", schema_id))
    fastavro.schemaless_writer(out, fastavro.parse_schema(copy.deepcopy(schema)), record)
    return out.getvalue()


def produce(brokers: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": brokers, "acks": "all", "linger.ms": 5})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0, "records left unsent"


def cql_statements(path: Path) -> list[str]:
    """The statements of a CQL file (comments dropped; our files hold no quoted semicolons)."""
    text = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


class Keyspace:
    def __init__(self, hosts: list[str], port: int, name: str):
        # Generous timeouts: DDL on a Cassandra shared by a busy machine can take tens of seconds.
        self.cluster = Cluster(hosts, port=port, connect_timeout=60, control_connection_timeout=60)
        self.name = name
        self.session = self.cluster.connect()
        self.session.default_timeout = 180
        self.session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        )
        self.session.set_keyspace(name)
        for path in (MIGRATIONS / "006_sessions.cql", MIGRATIONS / "009_reporting.cql", MIGRATIONS / "010_reporting_rollups.cql"):
            for statement in cql_statements(path):
                self.session.execute(statement)

    def drop(self) -> None:
        self.session.execute(f"DROP KEYSPACE IF EXISTS {self.name}")
        self.cluster.shutdown()
