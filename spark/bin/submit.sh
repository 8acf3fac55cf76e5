#!/usr/bin/env bash
# spark-submit from the project's venv with the connector packages (resolved once by Ivy into the cache).
# Usage: spark/bin/submit.sh [spark-submit options…] -- <job args…>   (master: MSGXC_SPARK_MASTER or --master)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$here/bin/venv.sh")"
export PYSPARK_PYTHON="$venv/bin/python"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
if [[ -n "${MSGXC_JAVA_HOME:-}" ]]; then export JAVA_HOME="$MSGXC_JAVA_HOME"
elif [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64; fi
cache="${MSGXC_CACHE_DIR:-$HOME/.cache/msgxc}"
options=()
while [[ $# -gt 0 && "$1" != "--" ]]; do options+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
# Reports take every local core; the long-running streaming job leaves room for the stages.
if [[ " $* " == *" report "* ]]; then master="${MSGXC_SPARK_MASTER:-local[*]}"; else master="${MSGXC_SPARK_MASTER:-local[2]}"; fi
# `npm run report -- <name> --master X` puts spark-submit's options after the job's: move them.
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --master) master="$2"; shift 2 ;;
    --master=*) master="${1#--master=}"; shift ;;
    --conf|--driver-memory|--executor-memory|--total-executor-cores|--num-executors|--deploy-mode) options+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
local_options=()
if [[ "$master" == local* ]]; then
  # Locally the driver binds the loopback interface only.
  local_options=(--conf spark.driver.bindAddress=127.0.0.1 --conf spark.driver.host=127.0.0.1)
fi
exec "$venv/bin/spark-submit" \
  --master "$master" \
  --driver-memory "${MSGXC_SPARK_DRIVER_MEMORY:-768m}" \
  --packages "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7,org.apache.spark:spark-avro_2.12:3.5.7,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1" \
  --conf "spark.jars.ivy=$cache/ivy" \
  --conf "spark.jars.ivySettings=$here/bin/ivysettings.xml" \
  --conf "spark.sql.shuffle.partitions=${MSGXC_SPARK_SHUFFLE_PARTITIONS:-4}" \
  --conf spark.ui.enabled=false \
  "${local_options[@]}" \
  "${options[@]}" \
  "$here/msgxc_spark/main.py" "${args[@]}"
