#!/usr/bin/env bash
# Creates (once) the Spark jobs' Python environment outside the repository and prints its directory.
# Idempotent and fast when present: the venv records the hash of requirements.txt it was built from.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${MSGXC_CACHE_DIR:-$HOME/.cache/msgxc}"
venv="${MSGXC_SPARK_VENV:-$cache/spark-venv}"
python="${MSGXC_PYTHON:-python3}"
want="$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [[ -x "$venv/bin/python" && -f "$venv/.requirements-hash" && "$(cat "$venv/.requirements-hash")" == "$want" ]]; then
  echo "$venv"
  exit 0
fi
echo "spark: creating $venv from spark/requirements.txt (first time: 1-3 minutes)" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
# cassandra-driver builds optional C extensions when no wheel fits; the pure-Python driver is enough here.
CASS_DRIVER_NO_CYTHON=1 CASS_DRIVER_NO_EXTENSIONS=1 \
  "$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt" >&2
echo "$want" >"$venv/.requirements-hash"
echo "$venv"
