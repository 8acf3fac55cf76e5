"""The streaming roll-up job on the real Kafka, registry and Cassandra, run as `spark-submit` would run
it: a known set of events in, the exact roll-ups out; killed mid-batch and restarted from its
checkpoint, it counts nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from . import support
from .events_fixture import EXPECTED_AFTER_SECOND, EXPECTED_FIRST, FIRST, SECOND

SUBMIT = Path(__file__).resolve().parents[1] / "bin" / "submit.sh"
MEASURES = ("sent", "delivered", "failed", "acked", "read", "clicked", "delivery_latency", "ack_latency")


@pytest.fixture(scope="module")
def schema_ids(settings, events_topic):
    subject = f"{events_topic}-value"
    old = support.register(settings.registry_url, subject, support.older_delivery_event_schema())
    new = support.register(settings.registry_url, subject, support.local_schema("DeliveryEvent"))
    assert old != new
    return old, new


def produce(settings, topic, schema_ids, events):
    old_id, new_id = schema_ids
    old_schema, new_schema = support.older_delivery_event_schema(), support.local_schema("DeliveryEvent")
    values = [
        support.frame(old_id, old_schema, record) if older else support.frame(new_id, new_schema, record)
        for record, older in events
    ]
    support.produce(settings.brokers, topic, values)


def job(isolation, state_dir, *args, **env):
    environment = {
        **os.environ, **isolation, "MSGXC_SPARK_STATE_DIR": str(state_dir), "MSGXC_SPARK_TRIGGER_SECONDS": "1",
        "MSGXC_SPARK_DRIVER_MEMORY": "640m", **env,
    }
    return subprocess.Popen(
        [str(SUBMIT), "--", "stream", *args], env=environment, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(Path(state_dir) / f"job-{time.monotonic_ns()}.log", "w"),
    )


def totals(keyspace):
    rows = keyspace.session.execute("SELECT * FROM rollup_minute")
    return {
        (r.minute.replace(tzinfo=__import__("datetime").timezone.utc), r.channel, r.urgency, r.tid, r.experiment_id, r.variant): {
            m: (dict(getattr(r, m)) if m.endswith("latency") and getattr(r, m) is not None else getattr(r, m)) for m in MEASURES
        }
        for r in rows
    }


def parts(keyspace):
    return {r.part for r in keyspace.session.execute("SELECT part FROM rollup_minute_parts")}


def test_rollups_are_exact_across_a_crash_and_a_kill(settings, isolation, keyspace, events_topic, schema_ids, tmp_path):
    produce(settings, events_topic, schema_ids, FIRST)

    # Eight records per micro-batch; the job dies like kill -9 right after batch 0 wrote its parts.
    crashed = job(isolation, tmp_path, "--once", MSGXC_SPARK_MAX_OFFSETS_PER_TRIGGER="8",
                  MSGXC_SPARK_TEST_CRASH_AFTER_PARTS="0")
    assert crashed.wait(timeout=600) == 137
    written = parts(keyspace)
    assert {p.rsplit(":", 1)[1] for p in written} == {"0"}

    # Restarted from the checkpoint: batch 0 runs again under the same id and rewrites its parts.
    resumed = job(isolation, tmp_path, "--once", MSGXC_SPARK_MAX_OFFSETS_PER_TRIGGER="8")
    assert resumed.wait(timeout=600) == 0
    assert totals(keyspace) == EXPECTED_FIRST
    assert len({p.rsplit(":", 1)[0] for p in parts(keyspace)}) == 1, "one query id across restarts"

    # Running continuously: new events arrive, the process is killed with SIGKILL, the same events are
    # produced again (an at-least-once producer's repeats), and a restart catches up.
    running = job(isolation, tmp_path)
    produce(settings, events_topic, schema_ids, SECOND)
    deadline = time.monotonic() + 300
    while totals(keyspace) != EXPECTED_AFTER_SECOND and time.monotonic() < deadline and running.poll() is None:
        time.sleep(1)
    os.killpg(running.pid, signal.SIGKILL)
    running.wait()
    produce(settings, events_topic, schema_ids, SECOND)
    final = job(isolation, tmp_path, "--once")
    assert final.wait(timeout=600) == 0
    assert totals(keyspace) == EXPECTED_AFTER_SECOND
