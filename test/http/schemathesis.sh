#!/usr/bin/env bash
# Runs Schemathesis (PyPI, pinned) with the arguments given, creating its virtualenv once outside the
# repository (~/.cache/msgxc/schemathesis-<version>, about 30 s the first time). Used by
# test/http/openapi-contract.test.ts; runnable by hand: test/http/schemathesis.sh run --help
set -euo pipefail
version="4.32.5"
cache="${MSGXC_CACHE_DIR:-$HOME/.cache/msgxc}"
venv="$cache/schemathesis-$version"
python="${MSGXC_PYTHON:-python3}"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "version $version"; then
  echo "schemathesis: creating $venv (first time only)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version" >&2
fi
exec "$venv/bin/schemathesis" "$@"
