#!/usr/bin/env bash
# `npm run test:spark`: the Spark jobs' tests (pytest) on the real Kafka, registry and Cassandra.
# Creates the venv when missing. pytest's "no tests collected" (exit 5) is a failure here too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$here/bin/venv.sh")"
if [[ -n "${MSGXC_JAVA_HOME:-}" ]]; then export JAVA_HOME="$MSGXC_JAVA_HOME"
elif [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64; fi
cd "$here"
# Like the integration tests' global setup: bring the local stack up when it is not, and take it down
# afterwards only if this run started it.
started_stack=0
if ! report="$(cd "$here/.." && npm run -s stack -- status 2>&1)"; then
  if ! grep -qE ' (healthy|starting|foreign) ' <<<"$report"; then started_stack=1; fi
  (cd "$here/.." && npm run -s stack -- up)
fi
stop_stack() { if [[ $started_stack -eq 1 ]]; then (cd "$here/.." && npm run -s stack -- down) || true; fi; }
trap stop_stack EXIT
status=0
"$venv/bin/python" -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then echo "spark: pytest collected no tests" >&2; exit 1; fi
exit $status
