"""Entry point for spark-submit: `stream`, `report <name>`, `bench-batch`."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

if __package__ in (None, ""):
    # spark-submit runs this file as a script: put the package's parent first instead of this folder,
    # whose module names (tables, events…) must not shadow top-level packages.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.path.dirname(here))

from msgxc_spark import settings as settings_module  # noqa: E402
from msgxc_spark import session  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="msgxc-spark")
    parser.add_argument("--keyspace", help="overrides MSGXC_CASSANDRA_KEYSPACE")
    parser.add_argument("--topic-prefix", help="overrides MSGXC_TOPIC_PREFIX")
    commands = parser.add_subparsers(dest="command", required=True)
    stream = commands.add_parser("stream", help="per-minute roll-ups of the events topic into Cassandra")
    stream.add_argument("--checkpoint", help="checkpoint directory (default: <state dir>/rollups-<keyspace>)")
    stream.add_argument("--once", action="store_true", help="process what is in the topic, then stop")
    report = commands.add_parser("report", help="batch reports and the experiment read-out, as tables and HTML")
    report.add_argument("name")
    report.add_argument("--from", dest="from_day", help="first UTC day, YYYY-MM-DD (default: 7 days before --to)")
    report.add_argument("--to", dest="to_day", help="last UTC day, YYYY-MM-DD (default: today)")
    report.add_argument("--out", help="HTML file (default: reports/<name>.html)")
    report.add_argument("--tau", type=float, default=0.05, help="mSPRT mixing standard deviation of the rate difference")
    bench = commands.add_parser("bench-batch", help="time the experiment read-out over generated events")
    bench.add_argument("--events", type=int, default=10_000_000)
    bench.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    settings = settings_module.load()
    overrides = {"keyspace": args.keyspace, "topic_prefix": args.topic_prefix}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    spark = session.build(settings, f"msgxc-{args.command}")
    spark.sparkContext.setLogLevel(os.environ.get("MSGXC_SPARK_LOG_LEVEL", "WARN"))
    if args.command == "stream":
        from msgxc_spark import streaming

        checkpoint = args.checkpoint or os.path.join(settings.state_dir, f"rollups-{settings.keyspace}-{settings.topic_prefix}")
        query = streaming.start(spark, settings, checkpoint, once=args.once)
        query.awaitTermination()
        return 0
    if args.command == "report":
        from msgxc_spark import report as report_module

        path = report_module.run(spark, settings, args.name, args.from_day, args.to_day, args.out, args.tau)
        print(f"report written: {path}")
        return 0
    from msgxc_spark import bench as bench_module

    bench_module.run(spark, args.events, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
