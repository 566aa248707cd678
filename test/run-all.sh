#!/usr/bin/env bash
# The test command: unit tests, then the end-to-end suite against the real
# dockerd, BuildKit and QEMU (setting up whatever is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash bootstrap/host.sh
bash bootstrap/images.sh
bash examples/hello/build-app.sh
node --test --test-concurrency=1 dist/test/unit/ dist/test/e2e/
