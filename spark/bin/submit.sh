#!/usr/bin/env bash
# spark-submit from the project's venv with the connector packages (resolved once by Ivy into the cache).
# Usage: spark/bin/submit.sh [spark-submit options…] -- <job args…>   (master: MSGXC_SPARK_MASTER or --master)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$here/bin/venv.sh")"
export PYSPARK_PYTHON="$venv/bin/python"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64; fi
options=()
while [[ $# -gt 0 && "$1" != "--" ]]; do options+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
exec "$venv/bin/spark-submit" \
  --master "${MSGXC_SPARK_MASTER:-local[2]}" \
  --driver-memory "${MSGXC_SPARK_DRIVER_MEMORY:-768m}" \
  "${options[@]}" \
  "$here/msgxc_spark/main.py" "$@"
