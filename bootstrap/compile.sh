#!/usr/bin/env bash
# Installs the npm dependencies when package-lock.json changed and compiles the
# TypeScript to dist/ (incrementally: a second run with nothing changed takes seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  printf 'containerx-setup: %s\n' "installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
npm run --silent build
