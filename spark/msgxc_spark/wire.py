"""Confluent wire format without Confluent's client: byte 0 magic (0), bytes 1-4 the writer schema id
(big-endian), the Avro body from byte 5. Each micro-batch is decoded per schema id with `from_avro`,
the writer schema fetched from the registry by id (cached) and the latest reader schema, so records
written with older versions of a schema read with the reader's defaults."""

from __future__ import annotations

import json
import urllib.request
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro


class Registry:
    """Schema lookups against a Confluent-compatible registry; writer schemas are immutable per id, so
    they are cached forever, and the reader schema once per job."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._by_id: dict[int, str] = {}

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.base_url}{path}", timeout=10) as response:
            return json.loads(response.read())

    def writer_schema(self, schema_id: int) -> str:
        if schema_id not in self._by_id:
            body = self._get(f"/schemas/ids/{schema_id}")
            self._by_id[schema_id] = _resolve_references(self, body)
        return self._by_id[schema_id]

    def latest_schema(self, subject: str) -> str:
        body = self._get(f"/subjects/{subject}/versions/latest")
        return _resolve_references(self, body)


def _resolve_references(registry: Registry, body: dict) -> str:
    """A schema that references others (msgxc registers shared types such as dev.msgxc.Channel as their
    own subjects) is inlined: each named type is defined at its first use, as Avro requires."""
    schema = json.loads(body["schema"])
    references = body.get("references") or []
    if not references:
        return json.dumps(schema)
    definitions: dict[str, object] = {}
    for reference in references:
        referenced = registry._get(f"/subjects/{reference['subject']}/versions/{reference['version']}")
        definitions[reference["name"]] = json.loads(_resolve_references(registry, referenced))
    defined: set[str] = set()
    return json.dumps(_inline(schema, definitions, defined, namespace=None))


def _inline(node, definitions: dict, defined: set[str], namespace: str | None):
    if isinstance(node, str):
        full = node if "." in node or namespace is None else f"{namespace}.{node}"
        for name in (node, full):
            if name in definitions and name not in defined:
                defined.add(name)
                return _inline(definitions[name], definitions, defined, None)
        return node
    if isinstance(node, list):
        return [_inline(item, definitions, defined, namespace) for item in node]
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            name = node["name"] if "." in node["name"] else f"{node.get('namespace', namespace)}.{node['name']}"
            defined.add(name)
            namespace = name.rsplit(".", 1)[0] if "." in name else namespace
        return {
            key: (value if key in ("name", "namespace", "doc", "default", "symbols") else _inline(value, definitions, defined, namespace))
            for key, value in node.items()
        }
    return node


def with_schema_id(frame: DataFrame) -> DataFrame:
    """Adds schema_id and payload columns from a Kafka `value`; records without the magic byte get a null id."""
    magic_ok = F.substring("value", 1, 1) == F.lit(bytes([0]))
    schema_id = F.conv(F.hex(F.substring("value", 2, 4)), 16, 10).cast("int")
    return frame.withColumn("schema_id", F.when(magic_ok, schema_id)).withColumn(
        "payload", F.expr("substring(value, 6, length(value) - 5)")
    )


def decode(frame: DataFrame, registry: Registry, reader_schema: str, alias: str = "record") -> DataFrame | None:
    """Decodes a static (micro-batch) frame of Kafka records; adds a struct column `alias` in the reader
    schema's shape, or returns None when no record is Confluent-framed. FAILFAST: a framed record that
    does not decode fails the batch rather than vanishing; records without the magic byte (not written
    through the registry) are left out."""
    framed = with_schema_id(frame)
    ids = sorted(row.schema_id for row in framed.select("schema_id").distinct().collect() if row.schema_id is not None)
    if not ids:
        return None
    parts = [
        framed.where(F.col("schema_id") == schema_id).withColumn(
            alias, _from_avro(F.col("payload"), registry.writer_schema(schema_id), reader_schema)
        )
        for schema_id in ids
    ]
    return reduce(DataFrame.unionByName, parts)


def _from_avro(payload: Column, writer: str, reader: str) -> Column:
    return from_avro(payload, writer, {"mode": "FAILFAST", "avroSchema": reader})
