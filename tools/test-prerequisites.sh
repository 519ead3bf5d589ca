#!/usr/bin/env bash
# Run by `npm test` first (pretest): the Debian packages the test suite uses besides npm's.
#   chromium       the web console's browser tests (driven by playwright-core)
#   fonts-nanum    a Korean font, so the console's screenshots show the Korean labels
#   docker-compose validates docker/compose.yaml (no Docker engine is needed)
#   python3-onnx   the ONNX project's checker on the exported model (test/ml/onnx/onnx-check.test.ts)
# As root with apt-get (a fresh machine of this project's kind) they are installed; otherwise the
# script names what is missing and how to install it. The database needs nothing: the tests start an
# embedded PostgreSQL server from npm's packages unless TEST_DATABASE_URL names one.
set -euo pipefail

missing=()
command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-nanum >/dev/null 2>&1 || missing+=(fonts-nanum)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing+=(python3-onnx)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites: installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # docker-compose without its docker.io recommendation: only `docker-compose config` is used.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "test prerequisites missing: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
