#!/usr/bin/env bash
# One command from a bare Debian 12 machine to the demo chain served on localhost:
# installs the packages, builds, generates and loads the chain, and serves it.
# Extra arguments go to `siyu demo` (e.g. --members 20000 --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
exec ./build/src/cli/siyu demo --db "${SIYU_DB:-siyu-demo.db}" "$@"
