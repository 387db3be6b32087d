#!/usr/bin/env bash
# Installs what siyu needs to build, test and run, from Debian 12's packages.
# Safe to run again: it installs only what is missing.
# prometheus brings promtool, which the ops test runs on a real /metrics answer.
set -euo pipefail

packages=(build-essential cmake pkg-config git ca-certificates
          libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev libsodium-dev
          libxxhash-dev
          libroaring-dev libgsl-dev zlib1g-dev curl openssl libcurl4-openssl-dev prometheus
          postgresql-15 libpq-dev
          nodejs chromium fonts-wqy-microhei)  # the console: built with npm, tested in Chromium
if [ "${SIYU_FUZZ_TOOLS:-0}" = 1 ]; then
  packages+=(clang libclang-rt-14-dev clang-format)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages: ${missing[*]} — run this script as root, or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm comes with nodejs from some sources; Debian ships it as a package of its own
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: npm is missing — run this script as root, or install it" >&2
    exit 1
  fi
  echo "setup: installing npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# The console (docs/console.md): its npm packages as package-lock.json pins them, then the
# build into console/dist, which siyu serves (the build fails over the JavaScript budget).
cd "$(dirname "$0")/../console"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
